"""Allocations and the SU ledger through the real `openstack` CLI and this repo's plugin
(`openstack allocation ...`, clients/osc-updraft), on real QEMU guests.

The module runs its own cloud on a test clock (`--test-clock`, allowed by
UPDRAFT_ALLOW_TEST_CLOCK=1): cloud time stands still until the test moves it through the
accounting API, so hours, days and months of charges, and the expiry lifecycle, happen in
minutes and the figures are exact.
"""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlparse

import pytest
import requests

from conftest import (DATABASE, UPDRAFT_BIN, Cloud, UpdraftServer, base_env, free_port, parse_openrc,
                      reap_guests, run_updraft, unique, wait_for)
from swiftcli import Swift

pytestmark = pytest.mark.updraft_only

START = "2027-01-01T00:00:00Z"
HOUR = 3600.0
DAY = 86400.0


def own_database() -> tuple[str | None, Callable[[], None]]:
    """On the PostgreSQL tier, a database of this module's own (the session cloud holds the
    other); on SQLite, none. Returns the URL and how to drop it."""
    if not DATABASE:
        return None, lambda: None
    url = urlparse(DATABASE)
    name = "updraft_e2e_acct_" + uuid.uuid4().hex[:8]
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    assert bins, "no PostgreSQL binaries"
    args = ["-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    subprocess.run([str(bins[-1] / "createdb"), *args, name], check=True, capture_output=True, timeout=60)
    own = url._replace(path="/" + name).geturl()
    return own, lambda: subprocess.run([str(bins[-1] / "dropdb"), *args, "--if-exists", name],
                                       capture_output=True, timeout=60) and None


class ClockedCloud:
    """The module's cloud: the CLI as admin and as a member of one project, and the test clock."""

    def __init__(self, cloud: Cloud, server: UpdraftServer) -> None:
        self.cloud = cloud
        self.server = server
        base = cloud.auth_url.split("/identity")[0]
        self.accounting = base + "/accounting/v1"

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        def send() -> requests.Response:
            return requests.request(method, self.accounting + path, headers={"X-Auth-Token": self.cloud.api.token},
                                    timeout=60, **kw)
        r = send()
        if r.status_code == 401:
            self.cloud.api.forget_token()
            r = send()
        return r

    def advance(self, seconds: float) -> datetime.datetime:
        """Moves cloud time forward; what the lifecycle has due at the new time is done
        before the answer."""
        r = self.call("POST", "/test-clock", json={"advance_seconds": seconds})
        assert r.status_code == 200, r.text
        return parse_time(r.json()["now"])

    def now(self) -> datetime.datetime:
        r = self.call("GET", "/test-clock")
        assert r.status_code == 200, r.text
        return parse_time(r.json()["now"])


def parse_time(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def clocked() -> Iterator[ClockedCloud]:
    root = Path(tempfile.mkdtemp(prefix="updraft-e2e-acct-"))
    data = root / "data"
    data.mkdir()
    database, drop = own_database()
    # The tiny guest image, cached after the first build: the cloud registers it at start.
    p = subprocess.run([str(UPDRAFT_BIN), "image", "build", "tiny"], capture_output=True, text=True,
                       env=base_env(), timeout=1800)
    assert p.returncode == 0, p.stderr
    # The operator's notice hook: each notice, as JSON, appended to a file.
    hook = root / "notice-hook"
    hook.write_text(f"#!/bin/sh\ncat >> {root}/notices.jsonl\necho >> {root}/notices.jsonl\n")
    hook.chmod(0o755)
    server = UpdraftServer(data, free_port(), root / "server.log", database,
                           ["--no-networking", "--trial-allocations", "--notice-command", str(hook),
                            "--test-clock", START], {"UPDRAFT_ALLOW_TEST_CLOCK": "1"})
    try:
        server.start()
        server.wait_ready()
        yield ClockedCloud(Cloud(parse_openrc(data / "admin-openrc.sh"), data_dir=data, server=server), server)
    finally:
        server.stop()
        reap_guests(data)
        drop()
        shutil.rmtree(root, ignore_errors=True)


def test_the_test_clock_is_refused_unless_the_environment_enables_it(tmp_path: Path) -> None:
    p = run_updraft("serve", "--data-dir", str(tmp_path / "data"), "--port", str(free_port()), "--no-networking",
                    "--test-clock", START)
    assert p.returncode != 0
    assert "UPDRAFT_ALLOW_TEST_CLOCK=1" in p.stderr
    assert not (tmp_path / "data" / "test-clock").exists()


def test_an_allocation_burns_by_state_refuses_at_zero_expires_and_comes_back(clocked: ClockedCloud) -> None:
    cloud = clocked.cloud
    admin = cloud.openstack
    api = cloud.api
    project = api.create("projects", "project", {"name": unique("acct"), "domain_id": "default",
                                                 "field_of_science": "Astronomy", "institution": "Indiana University"})
    password = uuid.uuid4().hex
    user = api.create("users", "user", {"name": unique("pi"), "domain_id": "default", "password": password,
                                        "email": "pi@example.edu"})
    api.grant("member", user_id=user["id"], project_id=project["id"])
    member = cloud.user_env(user["name"], password, project_id=project["id"])
    flavor = admin("flavor", "create", unique("m3-small-sized"), "--vcpus", "2", "--ram", "256", "--disk", "1")
    image = next(i for i in admin("image", "list", "--public") if i["Name"] == "updraft-tiny")
    name = unique("TG")

    allocation = admin("allocation", "create", name, "--project", project["id"], "--resource", "cpu",
                       "--award", "10", "--start", "2026-12-01", "--end", "2027-12-31", "--tier", "explore")
    assert (allocation["award"], allocation["used"], allocation["status"]) == (10, 0, "active")

    def server(server_id: str) -> dict[str, Any]:
        return cloud.openstack("server", "show", server_id, env=member)

    def settle(server_id: str, status: str) -> dict[str, Any]:
        def check() -> Any:
            s = server(server_id)
            if s["status"] == "ERROR":
                pytest.fail(f"server went to ERROR: {s.get('fault')}")
            return s if s["status"] == status and not s.get("OS-EXT-STS:task_state") else None
        return wait_for(f"{server_id} {status}", check)

    def show() -> dict[str, Any]:
        return cloud.openstack("allocation", "show", name, env=member)

    # 2 hours ACTIVE, 1 hour SUSPENDED, 2 hours SHUTOFF, 3 hours SHELVED: cloud time moves only
    # between the actions, so each state lasts exactly what the test says.
    s1 = cloud.openstack("server", "create", "--image", image["ID"], "--flavor", flavor["id"], "--nic", "none",
                         "--wait", unique("vm"), env=member)["id"]
    assert show()["burn_rate"] == 2
    clocked.advance(2 * HOUR)
    cloud.openstack("server", "suspend", s1, env=member)
    settle(s1, "SUSPENDED")
    assert show()["burn_rate"] == 1.5
    clocked.advance(1 * HOUR)
    cloud.openstack("server", "resume", s1, env=member)
    settle(s1, "ACTIVE")
    cloud.openstack("server", "stop", s1, env=member)
    settle(s1, "SHUTOFF")
    clocked.advance(2 * HOUR)
    cloud.openstack("server", "shelve", s1, env=member)
    settle(s1, "SHELVED_OFFLOADED")
    assert show()["burn_rate"] == 0
    now = clocked.advance(3 * HOUR)

    # 2×2 + 2×0.75×1 + 2×0.5×2 = 7.5 SUs.
    shown = show()
    assert (shown["used"], shown["balance"], shown["status"], shown["run_out_at"]) == (7.5, 2.5, "active", None)
    usage = cloud.openstack("allocation", "usage", "--by", "instance", env=member, json_output=True)
    assert [(u["Key"], u["SUs"], u["vCPU hours"]) for u in usage] == [(s1, 7.5, 16)]
    # The ledger's vCPU-hours are what Nova's usage counts: 8 hours of 2 vCPUs, in any state.
    nova = cloud.openstack("usage", "show", "--project", project["id"], "--start", "2027-01-01",
                           "--end", "2027-01-02", json_output=False)
    assert "CPU Hours" in nova
    r = requests.get(f"{cloud.auth_url.split('/identity')[0]}/compute/v2.1/os-simple-tenant-usage/{project['id']}",
                     params={"start": "2027-01-01T00:00:00", "end": now.strftime("%Y-%m-%dT%H:%M:%S")},
                     headers={"X-Auth-Token": api.token}, timeout=60)
    assert r.status_code == 200, r.text
    assert r.json()["tenant_usage"]["total_vcpus_usage"] == 16
    by_hour = cloud.openstack("allocation", "usage", name, "--by", "hour", env=member, json_output=True)
    assert [u["SUs"] for u in by_hour] == [2, 2, 1.5, 1, 1, 0, 0, 0]
    # The balance is on /metrics, from the same ledger.
    metrics = requests.get(clocked.accounting.replace("/accounting/v1", "/metrics"), timeout=60).text
    assert (f'updraft_allocation_balance{{allocation="{name}",project_id="{project["id"]}",resource="cpu",'
            f'status="active"}} 2.5') in metrics
    # The funder's report for those 8 hours: one project, one user, one VM active 2 of 8 hours.
    report = subprocess.run([str(UPDRAFT_BIN), "admin", "report", "--data-dir", str(cloud.data_dir), "--since",
                             "2027-01-01", "--until", "2027-01-01T08:00:00Z", "--json"], env=base_env(),
                            capture_output=True, text=True, timeout=60)
    assert report.returncode == 0, report.stderr
    figures = json.loads(report.stdout)["report"]
    assert (figures["active_projects"], figures["active_users"], figures["peak_active_vms"]) == (1, 1, 1)
    assert figures["mean_active_vms"] == 0.25
    assert figures["fields_of_science"] == {"Astronomy": 1}
    assert figures["institutions"] == {"Indiana University": 1}
    assert figures["cpu_hours_by_class"] == {"cpu": 16} and figures["sus_by_tier"] == {"explore": 7.5}
    readable = subprocess.run([str(UPDRAFT_BIN), "admin", "report", "--data-dir", str(cloud.data_dir), "--since",
                               "2027-01-01", "--until", "2027-01-01T08:00:00Z"], env=base_env(),
                              capture_output=True, text=True, timeout=60)
    assert "Active VMs:          0.2 mean, 1 peak" in readable.stdout, readable.stdout

    # Running again, it burns 2 SU an hour: the 2.5 left last 1 h 15 min.
    cloud.openstack("server", "unshelve", s1, env=member)
    settle(s1, "ACTIVE")
    shown = show()
    assert shown["burn_rate"] == 2
    assert parse_time(shown["run_out_at"]) == now + datetime.timedelta(hours=1, minutes=15)
    exhausted = now + datetime.timedelta(hours=1, minutes=15)
    clocked.advance(2 * HOUR)
    shown = show()
    assert (shown["status"], shown["balance"]) == ("exhausted", -1.5)
    assert parse_time(shown["exhausted_at"]) == exhausted

    # At 0 SUs a launch is refused at once, with the allocation's numbers.
    refused = cloud.openstack_fails("server", "create", "--image", image["ID"], "--flavor", flavor["id"],
                                    "--nic", "none", unique("vm"), env=member)
    assert f"Allocation {name} CPU has 0.0 of 10 SUs left (ends 2027-12-31); ask your PI for a supplement" \
        in refused.stderr
    assert len(cloud.openstack("server", "list", env=member)) == 1

    # What will be deleted with the project: a volume and a private image of its own.
    volume = cloud.openstack("volume", "create", "--size", "1", unique("vol"), env=member)["id"]
    wait_for("volume available", lambda: cloud.openstack("volume", "show", volume, env=member)["status"] == "available")
    blob = Path(tempfile.mkdtemp()) / "blob.raw"
    blob.write_bytes(b"\0" * 65536)
    private = cloud.openstack("image", "create", "--file", str(blob), "--disk-format", "raw", "--private",
                              unique("img"), env=member)["id"]
    # Storage is a quota in GB, not a burn: its allocation shows what the project holds.
    store = admin("allocation", "create", unique("TG-STORE"), "--project", project["id"], "--resource", "storage",
                  "--award", "100", "--start", "2026-12-01", "--end", "2027-12-31")
    assert (store["unit"], store["used"], store["burn_rate"]) == ("GB", pytest.approx(1 + 65536 / 2**30), 0)

    # kill -9 and restart: no number changes.
    before = (show(), cloud.openstack("allocation", "usage", name, "--by", "day", env=member, json_output=True))
    clocked.server.crash_and_restart()
    after = (show(), cloud.openstack("allocation", "usage", name, "--by", "day", env=member, json_output=True))
    assert after == before

    # The members were told at once, with the dates of the next steps.
    notices = clocked.call("GET", "/notices", params={"project_id": project["id"]}).json()["notices"]
    assert [n["kind"] for n in notices] == ["exhausted"]
    assert "will be shelved on 2027-01-11 and deleted on 2027-01-31" in notices[0]["message"]
    listed = cloud.openstack("allocation", "notices", env=member, json_output=True)
    assert [n["Kind"] for n in listed] == ["exhausted"]
    # The operator's hook got it too, addressed to the member's e-mail.
    hooked = [json.loads(line) for line in (cloud.data_dir.parent / "notices.jsonl").read_text().splitlines() if line]
    mine = [n for n in hooked if n["project_id"] == project["id"]]
    assert [(n["kind"], n["recipients"]) for n in mine] == [("exhausted", ["pi@example.edu"])]

    # 10 days after it ran out, its servers are shelved.
    # The dry run names the step, when it is due and the server it acts on.
    plan = [s for s in clocked.call("GET", "/lifecycle").json()["steps"] if s["allocation"] == name]
    assert [(s["action"], parse_time(s["at"]), s["instances"]) for s in plan] == [
        ("shelve", exhausted + datetime.timedelta(days=10), [s1])]
    dry_run = [s for s in cloud.openstack("allocation", "lifecycle", json_output=True) if s["Allocation"] == name]
    assert [(s["Action"], s["Instances"]) for s in dry_run] == [("shelve", s1)]
    clocked.advance(exhausted.timestamp() + 10 * DAY - clocked.now().timestamp())
    settle(s1, "SHELVED_OFFLOADED")
    entries = cloud.openstack("allocation", "entries", name, json_output=True)
    assert [e["Kind"] for e in entries] == ["award", "shelved"]

    # The dry run now names the deletion: the server, the volume and the private image.
    plan = [s for s in clocked.call("GET", "/lifecycle").json()["steps"] if s["allocation"] == name]
    assert len(plan) == 1 and plan[0]["action"] == "delete"
    assert plan[0]["instances"] == [s1]
    assert parse_time(plan[0]["at"]) == exhausted + datetime.timedelta(days=30)

    # 30 days after, they are gone: servers, volumes and images.
    clocked.advance(20 * DAY)

    def all_gone() -> bool:
        clocked.advance(0)  # a lifecycle round: what could not go yet goes now
        return (not cloud.openstack("server", "list", env=member)
                and not cloud.openstack("volume", "list", env=member)
                and private not in [i["ID"] for i in cloud.openstack("image", "list", env=member)])
    wait_for("the project's servers, volumes and images deleted", all_gone, interval=2)
    assert [e["Kind"] for e in cloud.openstack("allocation", "entries", name, json_output=True)][-1] == "deleted"
    assert volume  # named in the deletion above

    # The server ran 10 days past 0 SUs until it was shelved: 9 h 15 min of the day it ran out
    # and 10 days at 2 SU an hour are charged (the grace period burns like any time).
    assert show()["used"] == pytest.approx(10 + 2 * 240)
    # A supplement that covers that lets the project launch again.
    shown = cloud.openstack("allocation", "supplement", name, "--sus", "1000", json_output=True)
    assert (shown["status"], shown["award"], shown["balance"]) == ("active", 1010, pytest.approx(520))
    s2 = cloud.openstack("server", "create", "--image", image["ID"], "--flavor", flavor["id"], "--nic", "none",
                         "--wait", unique("vm"), env=member)["id"]
    assert server(s2)["status"] == "ACTIVE"
    cloud.openstack("server", "delete", "--wait", s2, env=member, json_output=False)


def test_a_first_login_makes_a_trial_project_with_one_small_server(clocked: ClockedCloud) -> None:
    cloud = clocked.cloud
    password = uuid.uuid4().hex
    user = cloud.api.create("users", "user", {"name": unique("student"), "domain_id": "default",
                                              "password": password})
    project = "trial-" + user["name"]
    # The first login names the project it makes.
    trial = cloud.user_env(user["name"], password, project_name=project)
    allocations = cloud.openstack("allocation", "list", env=trial)
    assert [(a["Resource"], a["Award"], a["Status"]) for a in allocations] == [("cpu", 1000, "active")]
    shown = cloud.openstack("allocation", "show", allocations[0]["ID"], env=trial)
    assert shown["tier"] == "trial" and shown["flavors"] == ["m3.tiny", "m3.small"]
    assert parse_time(shown["end"]) - parse_time(shown["start"]) == datetime.timedelta(days=182)
    quotas = {row["Resource"]: row["Limit"] for row in cloud.openstack("quota", "show", project)}
    assert (quotas["cores"], quotas["instances"], quotas["ram"]) == (2, 1, 6144)
    # (Its 2 floating IPs are a networking quota; this cloud runs without networking.)
    assert (quotas["volumes"], quotas["gigabytes"]) == (1, 10)
    # The user cannot change them.
    cloud.openstack_fails("quota", "set", "--cores", "8", project, env=trial)

    image = next(i for i in cloud.openstack("image", "list", "--public") if i["Name"] == "updraft-tiny")
    bigger = cloud.openstack_fails("server", "create", "--image", image["ID"], "--flavor", "m3.quad", "--nic", "none",
                                   unique("vm"), env=trial)
    assert "allows only the flavors m3.tiny, m3.small; m3.quad is not one of them" in bigger.stderr
    first = cloud.openstack("server", "create", "--image", image["ID"], "--flavor", "m3.tiny", "--nic", "none",
                            "--wait", unique("vm"), env=trial)
    assert first["status"] == "ACTIVE"
    second = cloud.openstack_fails("server", "create", "--image", image["ID"], "--flavor", "m3.tiny", "--nic", "none",
                                   unique("vm"), env=trial)
    assert "Quota exceeded for instances" in second.stderr
    cloud.openstack("server", "delete", "--wait", first["id"], env=trial, json_output=False)
    # A second login makes nothing more.
    assert len(cloud.openstack("project", "list", "--user", user["id"])) == 1


def test_an_idle_server_is_shelved_only_in_a_project_that_opted_in(clocked: ClockedCloud) -> None:
    cloud = clocked.cloud
    api = cloud.api
    project = api.create("projects", "project", {"name": unique("idle"), "domain_id": "default"})
    # The opt-in is the project's property, which an administrator sets.
    cloud.openstack("project", "set", "--property", "idle_shelve_hours=2", project["id"], json_output=False)
    password = uuid.uuid4().hex
    user = api.create("users", "user", {"name": unique("idler"), "domain_id": "default", "password": password})
    api.grant("member", user_id=user["id"], project_id=project["id"])
    member = cloud.user_env(user["name"], password, project_id=project["id"])
    flavor = cloud.openstack("flavor", "create", unique("one"), "--vcpus", "1", "--ram", "256", "--disk", "1")
    image = next(i for i in cloud.openstack("image", "list", "--public") if i["Name"] == "updraft-tiny")
    server = cloud.openstack("server", "create", "--image", image["ID"], "--flavor", flavor["id"], "--nic", "none",
                             "--wait", unique("vm"), env=member)["id"]
    clocked.advance(0)  # the first CPU sample
    clocked.advance(1 * HOUR)
    shown = cloud.openstack("server", "show", server, env=member)
    assert (shown["status"], shown["OS-EXT-STS:task_state"]) == ("ACTIVE", None)
    # Two hours of cloud time in which the guest used a few real seconds of CPU are idle. (A
    # guest restarted meanwhile, as one KVM stopped is restarted under TCG, starts over.)
    for _ in range(6):
        clocked.advance(1 * HOUR)
        shown = cloud.openstack("server", "show", server, env=member)
        if shown["OS-EXT-STS:task_state"] or shown["status"] != "ACTIVE":
            break
    wait_for("the idle server shelved", lambda: cloud.openstack("server", "show", server, env=member)["status"]
             == "SHELVED_OFFLOADED")
    notices = clocked.call("GET", "/notices", params={"project_id": project["id"]}).json()["notices"]
    assert [n["kind"] for n in notices] == ["idle_shelved"]
    assert f"Instance {server} used under 5.0% of its vCPUs for 2.0 hours" in notices[0]["message"]
    cloud.openstack("server", "delete", "--wait", server, env=member, json_output=False)


def test_a_storage_allocation_refuses_volumes_images_and_objects_past_its_gigabytes(
        clocked: ClockedCloud, tmp_path: Path) -> None:
    cloud = clocked.cloud
    api = cloud.api
    project = api.create("projects", "project", {"name": unique("store"), "domain_id": "default"})
    password = uuid.uuid4().hex
    user = api.create("users", "user", {"name": unique("keeper"), "domain_id": "default", "password": password})
    api.grant("member", user_id=user["id"], project_id=project["id"])
    member = cloud.user_env(user["name"], password, project_id=project["id"])
    swift = Swift(member)
    name = unique("TG-STORE")
    cloud.openstack("allocation", "create", name, "--project", project["id"], "--resource", "storage",
                    "--award", "2", "--start", "2026-12-01", "--end", "2027-12-31")

    def status(kind: str, ident: str) -> str:
        return cloud.openstack(*kind.split(), "show", ident, env=member)["status"]

    volume = cloud.openstack("volume", "create", "--size", "1", unique("vol"), env=member)["id"]
    wait_for("the volume available", lambda: status("volume", volume) == "available")
    snapshot = cloud.openstack("volume", "snapshot", "create", "--volume", volume, unique("snap"), env=member)["id"]
    wait_for("the snapshot available", lambda: status("volume snapshot", snapshot) == "available")
    # The volume and its snapshot hold the whole award: anything more is refused, with the
    # allocation's numbers, and nothing is made.
    full = f"Allocation {name} storage has 0.0 of 2 GB left"
    refused = cloud.openstack_fails("volume", "create", "--size", "1", unique("vol"), env=member)
    assert f"{full} and this needs 1.0 GB (ends 2027-12-31)" in refused.stderr
    assert "413" in refused.stderr
    assert [v["ID"] for v in cloud.openstack("volume", "list", env=member)] == [volume]
    refused = cloud.openstack_fails("volume", "set", "--size", "2", volume, env=member)
    assert full in refused.stderr
    assert cloud.openstack("volume", "show", volume, env=member)["size"] == 1
    small = tmp_path / "notes.txt"
    small.write_bytes(b"x" * 4096)
    refused = cloud.openstack_fails("image", "create", "--file", str(small), "--disk-format", "raw",
                                    "--container-format", "bare", unique("img"), env=member)
    # Glance's faults are plain text, which openstacksdk shows by their reason alone.
    assert "413" in refused.stderr and "Payload Too Large" in refused.stderr
    # openstacksdk deletes the image whose upload failed, as it does against Glance.
    assert cloud.openstack("image", "list", "--private", env=member) == []
    put = swift.run("upload", "papers", str(small), "--object-name", "notes.txt", check=False, cwd=tmp_path)
    assert put.returncode != 0 and "413" in put.stdout + put.stderr, put
    shown = cloud.openstack("allocation", "show", name, env=member)
    assert (shown["used"], shown["balance"], shown["status"]) == (2, 0, "active")

    # Deleting the snapshot frees a gigabyte: the object and the image fit again.
    cloud.openstack("volume", "snapshot", "delete", snapshot, env=member, json_output=False)
    wait_for("the snapshot gone", lambda: not cloud.openstack("volume", "snapshot", "list", env=member))
    swift.run("upload", "papers", str(small), "--object-name", "notes.txt", cwd=tmp_path)
    image = cloud.openstack("image", "create", "--file", str(small), "--disk-format", "raw",
                            "--container-format", "bare", unique("img"), env=member)
    assert image["status"] == "active"
    shown = cloud.openstack("allocation", "show", name, env=member)
    assert shown["used"] == pytest.approx(1 + 2 * 4096 / 2**30)

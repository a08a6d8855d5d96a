"""`updraft serve` itself: bootstrap files, startup failures, restart. Updraft only.

Runs last (file order), since the restart test restarts the session's server.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import time
from pathlib import Path

import pytest
import requests
import yaml

from conftest import (DATABASE, Api, Cloud, UpdraftServer, free_port, parse_openrc, run_updraft,
                      unique)

pytestmark = pytest.mark.updraft_only


def assert_fails_with_one_line(p, what: str) -> str:
    assert p.returncode != 0, f"{what}: exited 0\nstdout: {p.stdout}\nstderr: {p.stderr}"
    lines = [line for line in p.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"{what}: expected one line on stderr, got {len(lines)}:\n{p.stderr}"
    return lines[0]


@pytest.fixture
def server(cloud: Cloud) -> UpdraftServer:
    assert cloud.server is not None
    return cloud.server


def test_bootstrap_writes_openrc_and_clouds_yaml_mode_0600(cloud: Cloud,
                                                          server: UpdraftServer) -> None:
    openrc, clouds = server.data_dir / "admin-openrc.sh", server.data_dir / "clouds.yaml"
    for path in (openrc, clouds):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{path} mode {path.stat().st_mode:o}"

    env = parse_openrc(openrc)
    assert env["OS_AUTH_URL"].rstrip("/") == server.auth_url
    assert env["OS_USERNAME"] == "admin" and env["OS_PROJECT_NAME"] == "admin"
    assert len(env["OS_PASSWORD"]) >= 16, "random admin password"
    assert env["OS_USER_DOMAIN_NAME"] == env["OS_PROJECT_DOMAIN_NAME"] == "Default"
    assert env["OS_REGION_NAME"] == "RegionOne"
    assert env["OS_IDENTITY_API_VERSION"] == "3" and env["OS_INTERFACE"] == "public"

    c = yaml.safe_load(clouds.read_text())["clouds"]["updraft"]
    assert c["auth"]["auth_url"].rstrip("/") == server.auth_url
    assert c["auth"]["username"] == "admin" and c["auth"]["password"] == env["OS_PASSWORD"]
    assert c["auth"]["project_name"] == "admin"


def test_second_serve_on_same_port_exits_nonzero_with_one_line(
        server: UpdraftServer, api: Api, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    p = run_updraft("serve", "--data-dir", str(data), "--port", str(server.port))
    line = assert_fails_with_one_line(p, "port in use")
    assert str(server.port) in line or "in use" in line.lower(), line
    # The first server is unharmed.
    assert api.get("/projects").status_code == 200


def test_unwritable_data_dir_exits_nonzero_with_one_line(tmp_path: Path) -> None:
    regular = tmp_path / "a-file"
    regular.write_text("not a directory\n")
    p = run_updraft("serve", "--data-dir", str(regular / "data"), "--port", str(free_port()))
    assert_fails_with_one_line(p, "data dir under a regular file")


def test_bad_database_url_exits_nonzero_with_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    p = run_updraft("serve", "--data-dir", str(data), "--port", str(free_port()),
                    "--database", "postgres://nobody:x@127.0.0.1:1/nope")
    assert_fails_with_one_line(p, "unreachable database")


def test_restart_keeps_admin_password_and_projects(cloud: Cloud, server: UpdraftServer,
                                                   api: Api) -> None:
    openrc = server.data_dir / "admin-openrc.sh"
    before = openrc.read_text()
    name = unique("persist")
    project = api.create("projects", "project", {"name": name, "domain_id": "default",
                                                 "description": "survives restart"})

    server.restart()
    api.forget_token()

    assert openrc.read_text() == before, "restart must not re-bootstrap"
    a = cloud.admin
    r = api.password_auth(a["OS_USERNAME"], a["OS_PASSWORD"], project_name=a["OS_PROJECT_NAME"])
    assert r.status_code == 201, f"admin password after restart: {r.status_code} {r.text}"
    got = api.get(f"/projects/{project['id']}")
    assert got.status_code == 200, got.text
    assert got.json()["project"]["name"] == name
    assert got.json()["project"]["description"] == "survives restart"
    # The CLI works against the restarted server with the same openrc.
    assert name in {row["Name"] for row in cloud.openstack("project", "list")}
    api.request("DELETE", f"/projects/{project['id']}")
    assert requests.get(cloud.auth_url, timeout=10).status_code == 200


def test_kill_9_loses_no_acknowledged_change(cloud: Cloud, server: UpdraftServer, api: Api) -> None:
    """A project created, a token revoked and a password changed, each acknowledged, survive
    SIGKILL: after restart the project exists, the revoked token and the old password fail."""
    name = unique("crash")
    project = api.create("projects", "project", {"name": name, "domain_id": "default"})
    user = api.create("users", "user", {"name": unique("crash-user"), "domain_id": "default",
                                        "password": "before-crash-1"})
    api.grant("member", user_id=user["id"], project_id=project["id"])
    issued = api.password_auth(user["name"], "before-crash-1", project_name=name)
    assert issued.status_code == 201, issued.text
    doomed = issued.headers["X-Subject-Token"]
    assert api.request("DELETE", "/auth/tokens", headers={"X-Subject-Token": doomed}).status_code == 204
    r = api.request("PATCH", f"/users/{user['id']}", json={"user": {"password": "after-crash-2"}})
    assert r.status_code == 200, r.text

    server.crash_and_restart()
    api.forget_token()

    assert api.get(f"/projects/{project['id']}").status_code == 200
    r = api.request("GET", "/auth/tokens", headers={"X-Subject-Token": doomed})
    assert r.status_code == 404, f"revoked token validated after kill -9: {r.status_code}"
    assert api.password_auth(user["name"], "before-crash-1", project_name=name).status_code == 401
    assert api.password_auth(user["name"], "after-crash-2", project_name=name).status_code == 201
    api.request("DELETE", f"/users/{user['id']}")
    api.request("DELETE", f"/projects/{project['id']}")


@pytest.mark.skipif(not DATABASE, reason="two controllers share state only on PostgreSQL")
def test_second_controller_on_shared_postgres_follows_revocations(
        cloud: Cloud, server: UpdraftServer, api: Api, tmp_path: Path) -> None:
    """Two `updraft serve` on one PostgreSQL database with the same token keys: a token issued
    by one validates on the other, and a revocation on one is refused by the other within
    seconds (revocation events are read from the shared store)."""
    data = tmp_path / "second"
    data.mkdir()
    shutil.copytree(server.data_dir / "keys", data / "keys")
    # One host carries the networks: the second controller serves the API only.
    second = UpdraftServer(data, free_port(), tmp_path / "second.log", DATABASE, ["--no-networking"])
    second.start()
    try:
        second.wait_ready()
        a = cloud.admin
        token = api.issue_token(a["OS_USERNAME"], a["OS_PASSWORD"], project_name=a["OS_PROJECT_NAME"])
        other = second.auth_url
        headers = {"X-Auth-Token": token, "X-Subject-Token": token}
        assert requests.get(f"{other}/auth/tokens", headers=headers, timeout=10).status_code == 200
        assert api.request("DELETE", "/auth/tokens", headers={"X-Subject-Token": token}).status_code == 204
        deadline = time.monotonic() + 15
        status = 200
        while time.monotonic() < deadline:
            status = requests.get(f"{other}/projects", headers={"X-Auth-Token": token}, timeout=10).status_code
            if status == 401:
                break
            time.sleep(0.5)
        assert status == 401, "the second controller still accepts a token revoked on the first"
    finally:
        second.stop()
        # The second controller wrote its own URL into the shared catalog as it started; the
        # first writes its own back as it starts, so the modules after this one find it.
        server.restart()


# A stand-in for qemu-system-x86_64 that answers --version and otherwise runs no guest code and
# ignores SIGTERM, as the KVM trial QEMU did on a host whose /dev/kvm half-works (serve hung).
STUBBORN_QEMU = """#!/bin/sh
if [ "$1" = "--version" ]; then echo "QEMU emulator version 7.2.22"; exit 0; fi
echo $$ >> {pids}
trap '' TERM
exec sleep 600
"""


def hypervisor_cpu_info(data_dir: Path, port: int) -> dict[str, object]:
    env = parse_openrc(data_dir / "admin-openrc.sh")
    auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": env["OS_USERNAME"], "password": env["OS_PASSWORD"], "domain": {"id": "default"}}}},
        "scope": {"project": {"name": env["OS_PROJECT_NAME"], "domain": {"id": "default"}}}}}
    base = f"http://127.0.0.1:{port}"
    token = requests.post(f"{base}/identity/v3/auth/tokens", json=auth, timeout=30).headers["X-Subject-Token"]
    r = requests.get(f"{base}/compute/v2.1/os-hypervisors/detail", headers={"X-Auth-Token": token}, timeout=30)
    assert r.status_code == 200, r.text
    cpu_info = r.json()["hypervisors"][0]["cpu_info"]
    return json.loads(cpu_info) if isinstance(cpu_info, str) else cpu_info


@pytest.mark.skipif(bool(DATABASE), reason="the accelerator probe does not depend on the database")
@pytest.mark.parametrize("accelerator", ["auto", "tcg"])
def test_serve_starts_when_the_trial_qemu_ignores_sigterm(tmp_path: Path, accelerator: str) -> None:
    """`updraft serve` with a QEMU that never runs guest code and ignores SIGTERM is serving within
    seconds, chose TCG with a reason (or was told to), and left no trial process behind."""
    pids = tmp_path / "pids"
    qemu = tmp_path / "qemu-system-x86_64"
    qemu.write_text(STUBBORN_QEMU.format(pids=pids))
    qemu.chmod(0o755)
    data = tmp_path / "data"
    server = UpdraftServer(data, free_port(), tmp_path / "serve.log", None,
                           ["--qemu-binary", str(qemu), "--accelerator", accelerator, "--no-networking"])
    started = time.monotonic()
    server.start()
    try:
        server.wait_ready(deadline=45)
        ready_after = time.monotonic() - started
        cpu_info = hypervisor_cpu_info(data, server.port)
        assert cpu_info["accelerator"] == "tcg", cpu_info
        note = str(cpu_info.get("accelerator_note") or "")
        if accelerator == "tcg":
            assert "chosen by the operator" in note, note
            assert not pids.exists(), "a forced accelerator starts no trial"
        else:
            assert note, "TCG is shown with the reason"
            log = server.log_path.read_text()
            assert "] accelerator tcg (" in log, log[-2000:]
        for pid in (int(p) for p in (pids.read_text().split() if pids.exists() else [])):
            assert not os.path.exists(f"/proc/{pid}") or "Z" in Path(f"/proc/{pid}/stat").read_text().split(")")[-1][:3], \
                f"the trial stand-in {pid} is still running"
        assert ready_after < 45
    finally:
        server.stop()


def test_unknown_accelerator_exits_nonzero_with_one_line(tmp_path: Path) -> None:
    p = run_updraft("serve", "--data-dir", str(tmp_path / "data"), "--port", str(free_port()),
                    "--accelerator", "warp")
    line = assert_fails_with_one_line(p, "unknown accelerator")
    assert "auto, kvm or tcg" in line, line


def test_a_featured_image_never_built_stops_the_start_naming_the_build(tmp_path: Path) -> None:
    p = run_updraft("serve", "--data-dir", str(tmp_path / "data"), "--port", str(free_port()), "--no-networking",
                    "--featured", "debian-12-nowhere")
    line = assert_fails_with_one_line(p, "no built image debian-12-nowhere")
    assert "run `updraft image build debian-12-nowhere` first" in line, line


def test_vendor_data_that_is_not_a_json_object_stops_the_start(tmp_path: Path) -> None:
    listed = tmp_path / "vendor.json"
    listed.write_text('["not", "an", "object"]')
    p = run_updraft("serve", "--data-dir", str(tmp_path / "data"), "--port", str(free_port()), "--no-networking",
                    "--vendor-data", str(listed))
    line = assert_fails_with_one_line(p, "--vendor-data")
    assert "not a JSON object" in line, line
    missing = run_updraft("serve", "--data-dir", str(tmp_path / "data"), "--port", str(free_port()), "--no-networking",
                          "--vendor-data", str(tmp_path / "absent.json"))
    assert "absent.json" in assert_fails_with_one_line(missing, "--vendor-data")

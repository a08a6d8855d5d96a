"""Compute on real QEMU through the real `openstack` CLI.

One guest image (built by `updraft image build tiny`, cached) is uploaded once; the servers
are m1.nano (1 vCPU, 128 MB) so TCG boots them in seconds. Every check of a state the API
reports is paired with what the host really has: the QEMU process, and its QMP status.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import (UPDRAFT_BIN, Api, Cloud, Factory, base_env, guest_pid, qemu_pids_for, qmp_status,
                      unique, wait_for)

pytestmark = pytest.mark.updraft_only

BOOT_DEADLINE = 240.0  # seconds from create to the console marker under TCG
MARKER = "UPDRAFT-GUEST-READY instance-id="


@pytest.fixture(scope="session")
def tiny_image_file() -> Path:
    """The built-in guest image, built (or taken from the cache) by the updraft binary."""
    p = subprocess.run([str(UPDRAFT_BIN), "image", "build", "tiny"], capture_output=True, text=True,
                       env=base_env(), timeout=1800)
    assert p.returncode == 0, f"image build failed: {p.stderr}"
    paths = [Path(line.strip()) for line in p.stdout.splitlines() if line.strip().endswith(".qcow2")]
    assert paths and paths[0].exists(), f"no qcow2 path in: {p.stdout!r}"
    return paths[0]


@pytest.fixture(scope="session")
def tiny_image(cloud: Cloud, tiny_image_file: Path) -> dict[str, Any]:
    name = unique("tiny")
    image = cloud.openstack("image", "create", "--file", str(tiny_image_file), "--disk-format", "qcow2",
                            "--container-format", "bare", "--public", name)
    image = wait_for("image active", lambda: (lambda i: i if i["status"] == "active" else None)(
        cloud.openstack("image", "show", image["id"])), deadline=120)
    return image


def server_show(cloud: Cloud, server_id: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    return cloud.openstack("server", "show", server_id, env=env)


def wait_status(cloud: Cloud, server_id: str, status: str, deadline: float = BOOT_DEADLINE,
                env: dict[str, str] | None = None) -> dict[str, Any]:
    def check() -> Any:
        s = server_show(cloud, server_id, env)
        if s["status"] == status and not s.get("OS-EXT-STS:task_state"):
            return s
        if s["status"] == "ERROR" and status != "ERROR":
            pytest.fail(f"server {server_id} went to ERROR: {s.get('fault')}")
        return None
    return wait_for(f"server {server_id} {status}", check, deadline)


def console(cloud: Cloud, server_id: str) -> str:
    return cloud.openstack("console", "log", "show", server_id, json_output=False)


def wait_marker(cloud: Cloud, server_id: str, after: int = 0) -> str:
    """Waits until the console shows the boot marker with this server's id (past `after` chars)."""
    return wait_for(f"boot marker of {server_id}",
                    lambda: (lambda text: text if f"{MARKER}{server_id}" in text[after:] else None)(
                        console(cloud, server_id)))


def websocket_handshake(url: str) -> int:
    """The HTTP status a websocket upgrade to `url` gets (101 when a websocket server answers)."""
    import base64
    import socket as sock
    from urllib.parse import urlparse
    u = urlparse(url)
    assert u.hostname in ("127.0.0.1", "localhost")
    with sock.create_connection((u.hostname, u.port), timeout=10) as s:
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall((f"GET {u.path or '/'} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Protocol: binary\r\n\r\n").encode())
        status_line = s.recv(1024).split(b"\r\n", 1)[0].decode()
    return int(status_line.split()[1])


def boot(cloud: Cloud, image: dict[str, Any], *extra: str, name: str | None = None,
         env: dict[str, str] | None = None) -> dict[str, Any]:
    return cloud.openstack("server", "create", "--image", image["id"], "--flavor", "m1.nano",
                           "--nic", "none", *extra, "--wait", name or unique("vm"), env=env)


def delete(cloud: Cloud, server_id: str) -> None:
    cloud.openstack("server", "delete", "--wait", server_id, json_output=False)


def test_server_lifecycle_on_real_qemu(cloud: Cloud, tiny_image: dict[str, Any], tmp_path: Path) -> None:
    assert cloud.data_dir is not None
    data = cloud.data_dir
    key = tmp_path / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    keyname = unique("key")
    cloud.openstack("keypair", "create", "--public-key", f"{key}.pub", keyname)
    server = boot(cloud, tiny_image, "--key-name", keyname)
    sid = server["id"]
    try:
        assert server["status"] == "ACTIVE"
        wait_marker(cloud, sid)
        assert qmp_status(data, sid) == "running"
        # The injected key reached the guest through the config drive.
        assert "installed 1 ssh keys" in console(cloud, sid)
        # The remote console is QEMU's websocket VNC: it answers a websocket handshake.
        url = cloud.openstack("console", "url", "show", sid)["url"]
        assert url.startswith("ws://127.0.0.1:"), url
        assert websocket_handshake(url) == 101

        cloud.openstack("server", "stop", sid, json_output=False)
        wait_status(cloud, sid, "SHUTOFF", deadline=120)
        assert guest_pid(data, sid) is None, "a stopped server has no QEMU"

        cloud.openstack("server", "start", sid, json_output=False)
        wait_status(cloud, sid, "ACTIVE")
        assert qmp_status(data, sid) == "running"

        before = len(console(cloud, sid))
        cloud.openstack("server", "reboot", "--hard", sid, json_output=False)
        wait_status(cloud, sid, "ACTIVE")
        wait_marker(cloud, sid, after=before)

        before = len(console(cloud, sid))
        cloud.openstack("server", "reboot", "--soft", sid, json_output=False)
        wait_status(cloud, sid, "ACTIVE", deadline=180)
        wait_marker(cloud, sid, after=before)

        cloud.openstack("server", "pause", sid, json_output=False)
        wait_status(cloud, sid, "PAUSED")
        assert qmp_status(data, sid) == "paused"
        cloud.openstack("server", "unpause", sid, json_output=False)
        wait_status(cloud, sid, "ACTIVE")
        assert qmp_status(data, sid) == "running"

        cloud.openstack("server", "suspend", sid, json_output=False)
        wait_status(cloud, sid, "SUSPENDED", deadline=120)
        assert guest_pid(data, sid) is None, "a suspended server's memory is on disk, no process"
        cloud.openstack("server", "resume", sid, json_output=False)
        wait_status(cloud, sid, "ACTIVE", deadline=120)
        assert qmp_status(data, sid) == "running"

        cloud.openstack("server", "shelve", sid, json_output=False)
        wait_status(cloud, sid, "SHELVED_OFFLOADED", deadline=180)
        assert guest_pid(data, sid) is None
        assert not (data / "instances" / sid).exists(), "shelved-offloaded releases the host's disks"
        before = 0
        cloud.openstack("server", "unshelve", sid, json_output=False)
        wait_status(cloud, sid, "ACTIVE")
        wait_marker(cloud, sid)
        assert qmp_status(data, sid) == "running"

        actions = cloud.openstack("server", "event", "list", sid)
        assert {"create", "stop", "start", "reboot", "pause", "unpause", "suspend", "resume", "shelve",
                "unshelve"} <= {a["Action"] for a in actions}
    finally:
        delete(cloud, sid)
    assert guest_pid(data, sid) is None
    assert qemu_pids_for(sid) == []
    assert not (data / "instances" / sid).exists(), "delete removes the disks"


@pytest.mark.guest_bound
def test_snapshot_then_boot(cloud: Cloud, tiny_image: dict[str, Any]) -> None:
    first = boot(cloud, tiny_image)
    try:
        wait_marker(cloud, first["id"])
        snap_name = unique("snap")
        cloud.openstack("server", "image", "create", "--name", snap_name, "--wait", first["id"])
        snap = cloud.openstack("image", "show", snap_name)
        assert snap["status"] == "active"
        second = boot(cloud, {"id": snap["id"]})
        try:
            wait_marker(cloud, second["id"])
        finally:
            delete(cloud, second["id"])
        cloud.openstack("image", "delete", snap["id"], json_output=False)
    finally:
        delete(cloud, first["id"])


@pytest.mark.guest_bound
def test_killed_qemu_shows_shutoff(cloud: Cloud, tiny_image: dict[str, Any]) -> None:
    assert cloud.data_dir is not None
    server = boot(cloud, tiny_image)
    sid = server["id"]
    try:
        pid = wait_for("QEMU pid", lambda: guest_pid(cloud.data_dir, sid), deadline=30)
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        wait_status(cloud, sid, "SHUTOFF", deadline=10)
        assert time.monotonic() - killed <= 10.5
    finally:
        delete(cloud, sid)


def test_crash_during_build_ends_active_or_error_without_orphans(cloud: Cloud,
                                                                  tiny_image: dict[str, Any]) -> None:
    assert cloud.server is not None and cloud.data_dir is not None
    name = unique("crash")
    server = cloud.openstack("server", "create", "--image", tiny_image["id"], "--flavor", "m1.nano",
                             "--nic", "none", name)
    sid = server["id"]
    cloud.server.crash_and_restart()
    try:
        def settled() -> Any:
            s = server_show(cloud, sid)
            return s if s["status"] in ("ACTIVE", "ERROR") and not s.get("OS-EXT-STS:task_state") else None
        final = wait_for("server settles after the crash", settled)
        pids = qemu_pids_for(sid)
        if final["status"] == "ACTIVE":
            assert len(pids) == 1, f"one QEMU for an ACTIVE server, found {pids}"
        else:
            assert pids == [], f"no QEMU for a server in ERROR, found {pids}"
    finally:
        delete(cloud, sid)
    assert qemu_pids_for(sid) == []


def test_stop_acknowledged_before_a_kill_9_is_carried_out_after_restart(cloud: Cloud,
                                                                         tiny_image: dict[str, Any]) -> None:
    """os-stop answered 202, then updraft is killed at once: after the restart the server ends
    SHUTOFF with no task pending and its QEMU gone, never ACTIVE as if the stop was never asked."""
    assert cloud.server is not None
    sid = boot(cloud, tiny_image)["id"]
    try:
        cloud.openstack("server", "stop", sid, json_output=False)
        cloud.server.crash_and_restart()

        def stopped() -> Any:
            s = server_show(cloud, sid)
            return s if not s.get("OS-EXT-STS:task_state") and s["status"] != "ACTIVE" else None
        final = wait_for("the interrupted stop finishes", stopped)
        assert final["status"] == "SHUTOFF", final
        assert qemu_pids_for(sid) == []
    finally:
        delete(cloud, sid)


@pytest.mark.guest_bound
def test_reader_cannot_change_metadata_or_open_a_console(cloud: Cloud, make: Factory, api: Api,
                                                         tiny_image: dict[str, Any]) -> None:
    """A reader sees the project's server but cannot write its metadata or get its console."""
    member, project = make.member()
    reader = make.user()
    api.grant("reader", user_id=reader["id"], project_id=project["id"])
    member_env = cloud.user_env(member["name"], member["password"], project_id=project["id"])
    reader_env = cloud.user_env(reader["name"], reader["password"], project_id=project["id"])
    sid = boot(cloud, tiny_image, "--property", "owner=member", env=member_env)["id"]
    try:
        assert server_show(cloud, sid, env=reader_env)["id"] == sid
        for args in (["server", "set", "--property", "k=v", sid], ["server", "unset", "--property", "owner", sid],
                     ["console", "url", "show", "--novnc", sid]):
            p = cloud.openstack_fails(*args, env=reader_env)
            assert "403" in p.stderr or "orbidden" in p.stderr or "not allowed" in p.stderr, (args, p.stderr)
        assert server_show(cloud, sid)["properties"] in ({"owner": "member"}, "owner='member'")
    finally:
        cloud.openstack("server", "delete", "--wait", sid, env=member_env, json_output=False)


def test_quota_exceeded_is_403(cloud: Cloud, make: Factory, tiny_image: dict[str, Any]) -> None:
    user, project = make.member()
    env = cloud.user_env(user["name"], user["password"], project_id=project["id"])
    cloud.openstack("quota", "set", "--instances", "0", project["id"], json_output=False)
    p = cloud.openstack_fails("server", "create", "--image", tiny_image["id"], "--flavor", "m1.nano",
                              "--nic", "none", unique("over"), env=env)
    assert "403" in p.stderr and "Quota exceeded" in p.stderr, p.stderr
    assert cloud.openstack("server", "list", env=env) == []


def test_other_project_sees_nothing(cloud: Cloud, make: Factory, tiny_image: dict[str, Any]) -> None:
    owner, project = make.member()
    owner_env = cloud.user_env(owner["name"], owner["password"], project_id=project["id"])
    stranger, other = make.member()
    stranger_env = cloud.user_env(stranger["name"], stranger["password"], project_id=other["id"])
    server = boot(cloud, tiny_image, env=owner_env)
    try:
        assert [s["ID"] for s in cloud.openstack("server", "list", env=owner_env)] == [server["id"]]
        assert cloud.openstack("server", "list", env=stranger_env) == []
        p = cloud.openstack_fails("server", "show", server["id"], env=stranger_env)
        assert "No Server found" in p.stderr or "404" in p.stderr, p.stderr
        cloud.openstack_fails("server", "delete", server["id"], env=stranger_env)
    finally:
        cloud.openstack("server", "delete", "--wait", server["id"], env=owner_env, json_output=False)


def test_hypervisor_shows_real_capacity_and_accelerator(cloud: Cloud) -> None:
    hypervisors = cloud.openstack("hypervisor", "list")
    assert len(hypervisors) == 1
    h = cloud.openstack("hypervisor", "show", str(hypervisors[0]["ID"]))
    assert h["vcpus"] == os.cpu_count()
    assert h["hypervisor_type"] == "QEMU"
    cpu_info = h["cpu_info"] if isinstance(h["cpu_info"], dict) else json.loads(h["cpu_info"])
    assert cpu_info["accelerator"] in ("kvm", "tcg")
    if cpu_info["accelerator"] == "tcg":
        assert cpu_info.get("accelerator_note"), "TCG is shown with the reason KVM is not used"
    # The probe ran guest code once at start and said so on one line of the start log.
    if cloud.server is not None:
        decided = [line for line in cloud.server.log_path.read_text().splitlines()
                   if "] accelerator " in line]
        assert decided and f"accelerator {cpu_info['accelerator']} (" in decided[-1], decided


def test_default_flavors(cloud: Cloud) -> None:
    flavors = {f["Name"]: f for f in cloud.openstack("flavor", "list")}
    assert flavors["m3.tiny"]["VCPUs"] == 1 and flavors["m3.tiny"]["RAM"] == 3072 and flavors["m3.tiny"]["Disk"] == 20
    assert flavors["m3.2xl"]["VCPUs"] == 64
    assert flavors["r3.xl"]["RAM"] == 1000 * 1024
    assert flavors["m1.nano"]["RAM"] == 128 and flavors["m1.nano"]["Disk"] == 1
    assert flavors["m1.micro"]["RAM"] == 192


def test_invalid_action_is_409_and_changes_nothing(cloud: Cloud, tiny_image: dict[str, Any]) -> None:
    server = boot(cloud, tiny_image)
    try:
        p = cloud.openstack_fails("server", "start", server["id"])
        assert "409" in p.stderr or "Cannot 'start'" in p.stderr, p.stderr
        assert server_show(cloud, server["id"])["status"] == "ACTIVE"
    finally:
        delete(cloud, server["id"])


@pytest.mark.guest_bound
def test_kernel_and_ramdisk_images_boot(cloud: Cloud, tiny_image_file: Path, tmp_path: Path) -> None:
    """An ami image with kernel_id and ramdisk_id boots that kernel and initramfs directly."""
    kernel = tiny_image_file.with_name("tiny-vmlinuz")
    ramdisk = tiny_image_file.with_name("tiny-initrd")
    aki = cloud.openstack("image", "create", "--file", str(kernel), "--disk-format", "aki",
                          "--container-format", "aki", unique("aki"))
    ari = cloud.openstack("image", "create", "--file", str(ramdisk), "--disk-format", "ari",
                          "--container-format", "ari", unique("ari"))
    root = tmp_path / "root.img"
    root.write_bytes(b"\0" * (1 << 20))
    ami = cloud.openstack("image", "create", "--file", str(root), "--disk-format", "ami", "--container-format", "ami",
                          "--property", f"kernel_id={aki['id']}", "--property", f"ramdisk_id={ari['id']}",
                          unique("ami"))
    server = boot(cloud, ami)
    try:
        assert server["OS-EXT-SRV-ATTR:kernel_id"] == aki["id"]
        assert server["OS-EXT-SRV-ATTR:ramdisk_id"] == ari["id"]
        wait_marker(cloud, server["id"])
    finally:
        delete(cloud, server["id"])
        for image in (ami, ari, aki):
            cloud.openstack("image", "delete", image["id"], json_output=False)

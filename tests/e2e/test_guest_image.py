"""The tiny guest image: `updraft image build tiny`, then the image booted under bare QEMU (TCG).

Needs only UPDRAFT_BIN (no running cloud) plus qemu-system-x86, qemu-utils, genisoimage and
openssh-client on the host. The image is built once into updraft's cache (UPDRAFT_TEST_IMAGE_CACHE
overrides the directory) and never modified: each boot uses a qcow2 overlay in a temp dir.
QEMU is always stopped by its own PID.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from conftest import UPDRAFT_BIN, free_port, tail

# Bare QEMU, no cloud: nothing here touches a database.
pytestmark = [pytest.mark.updraft_only, pytest.mark.guest_bound]

BOOT_DEADLINE = 90.0  # seconds to the ready marker under TCG; measured ~7 s at 128 MB
POWEROFF_DEADLINE = 30.0
MARKER = "UPDRAFT-GUEST-READY instance-id="


def need(program: str, package: str) -> str:
    path = shutil.which(program)
    if path is None:
        pytest.fail(f"{program} not found; install it with: apt-get install {package}")
    return path


@pytest.fixture(scope="module")
def image() -> dict[str, Path]:
    """Paths of the cached build (built now if missing), keyed disk/kernel/ramdisk/manifest."""
    argv = [str(UPDRAFT_BIN), "image", "build", "tiny"]
    if os.environ.get("UPDRAFT_TEST_IMAGE_CACHE"):
        argv += ["--cache-dir", os.environ["UPDRAFT_TEST_IMAGE_CACHE"]]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split()
    assert len(lines) == 4, result.stdout
    paths = dict(zip(["disk", "kernel", "ramdisk", "manifest"], map(Path, lines)))
    for path in paths.values():
        assert path.is_file(), path
    manifest = json.loads(paths["manifest"].read_text())
    assert manifest["boot_marker"] == MARKER
    assert manifest["files"]["disk"]["size"] == paths["disk"].stat().st_size
    # A second call is a cache hit: same paths, at once.
    started = time.monotonic()
    again = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and again.stdout == result.stdout
    assert time.monotonic() - started < 5
    return paths


class Guest:
    """One qemu-system-x86_64 child: serial console to a file, QMP on a Unix socket."""

    def __init__(self, workdir: Path, argv: list[str]) -> None:
        self.workdir = workdir
        self.serial = workdir / "serial.log"
        self.qmp_path = workdir / "qmp.sock"
        self.argv = [
            need("qemu-system-x86_64", "qemu-system-x86"), "-accel", "tcg", "-m", "128", "-smp", "1",
            "-nographic", "-monitor", "none", "-serial", f"file:{self.serial}",
            "-qmp", f"unix:{self.qmp_path},server=on,wait=off", *argv,
        ]
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0

    def start(self) -> None:
        log = open(self.workdir / "qemu.log", "wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                     start_new_session=True)
        log.close()

    def console(self) -> str:
        try:
            return self.serial.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for(self, pattern: str, deadline: float = BOOT_DEADLINE) -> re.Match[str]:
        assert self.proc is not None
        end = self.started + deadline
        while time.monotonic() < end:
            match = re.search(pattern, self.console())
            if match:
                return match
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(
            f"no /{pattern}/ on the console after {deadline:.0f} s (qemu exit {self.proc.poll()}):\n"
            f"{tail(self.serial, 40)}\n--- qemu ---\n{tail(self.workdir / 'qemu.log', 20)}")

    def qmp(self, command: str) -> dict:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(str(self.qmp_path))
            stream = sock.makefile("rw")
            json.loads(stream.readline())  # greeting
            for execute in ("qmp_capabilities", command):
                stream.write(json.dumps({"execute": execute}) + "\n")
                stream.flush()
                while True:
                    reply = json.loads(stream.readline())
                    if "return" in reply or "error" in reply:
                        break
                assert "error" not in reply, reply
            return reply

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 5 s, to this QEMU's PID only."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


@pytest.fixture
def guests() -> Iterator[list[Guest]]:
    started: list[Guest] = []
    yield started
    for guest in reversed(started):
        guest.stop()


def keypair(directory: Path) -> tuple[Path, str]:
    key = directory / "id_ed25519"
    subprocess.run([need("ssh-keygen", "openssh-client"), "-q", "-t", "ed25519", "-N", "", "-C", "e2e@updraft",
                    "-f", str(key)], check=True)
    return key, (directory / "id_ed25519.pub").read_text().strip()


def config_drive(directory: Path, instance: str, hostname: str, public_key: str, user_data: str) -> Path:
    """An ISO 9660 volume labelled config-2, laid out as Nova's config drive."""
    root = directory / "config-drive"
    latest = root / "openstack" / "latest"
    latest.mkdir(parents=True)
    meta = {
        "uuid": instance, "name": hostname, "hostname": hostname, "launch_index": 0,
        "availability_zone": "nova", "project_id": uuid.uuid4().hex, "meta": {"role": "e2e"},
        "public_keys": {"e2e": public_key},
        "keys": [{"name": "e2e", "type": "ssh", "data": public_key}],
    }
    (latest / "meta_data.json").write_text(json.dumps(meta))
    (latest / "user_data").write_text(user_data)
    iso = directory / "config-2.iso"
    subprocess.run([need("genisoimage", "genisoimage"), "-quiet", "-o", str(iso), "-V", "config-2", "-r", "-J",
                    str(root)], check=True)
    return iso


def overlay(directory: Path, disk: Path) -> Path:
    path = directory / "disk.qcow2"
    subprocess.run([need("qemu-img", "qemu-utils"), "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(disk),
                    str(path)], check=True)
    return path


def test_disk_boot_config_drive_ssh_and_powerdown(image: dict[str, Path], tmp_path: Path,
                                                  guests: list[Guest]) -> None:
    instance = str(uuid.uuid4())
    hostname = f"e2e-{instance[:8]}"
    key, public_key = keypair(tmp_path)
    token = uuid.uuid4().hex
    iso = config_drive(tmp_path, instance, hostname, public_key,
                       f"#!/bin/sh\necho USER-DATA-RAN-{token}\nexit 7\n")
    disk_mtime = image["disk"].stat().st_mtime_ns
    port = free_port()
    guest = Guest(tmp_path, [
        "-drive", f"file={overlay(tmp_path, image['disk'])},if=virtio,format=qcow2",
        "-drive", f"file={iso},if=virtio,format=raw,readonly=on",
        "-smbios", f"type=1,serial={instance}",
        "-netdev", f"user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:{port}-:22",
        "-device", "virtio-net-pci,netdev=n0",
    ])
    guests.append(guest)
    guest.start()

    guest.wait_for(re.escape(MARKER + instance) + r"\r?\n")
    print(f"boot to marker: {time.monotonic() - guest.started:.1f} s")
    console = guest.console()
    assert "updraft: config drive on /dev/vd" in console
    assert "updraft: installed 1 ssh keys" in console
    guest.wait_for(r"updraft: user_data exit 7")
    assert f"USER-DATA-RAN-{token}" in guest.console()

    ssh = [need("ssh", "openssh-client"), "-i", str(key), "-p", str(port), "-o", "StrictHostKeyChecking=no",
           "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
           "-o", "ConnectTimeout=20", "-o", "LogLevel=ERROR", "updraft@127.0.0.1", "id; hostname"]
    for attempt in range(5):
        result = subprocess.run(ssh, capture_output=True, text=True, timeout=60)
        if result.returncode == 0:
            break
        time.sleep(2)
    assert result.returncode == 0, result.stderr
    assert "uid=0(root)" in result.stdout
    assert result.stdout.split()[-1] == hostname

    # A password login is refused: the client may only offer the key.
    denied = subprocess.run(ssh[:1] + ["-p", str(port), "-o", "StrictHostKeyChecking=no",
                                       "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
                                       "-o", "PubkeyAuthentication=no", "-o", "LogLevel=ERROR",
                                       "updraft@127.0.0.1", "true"], capture_output=True, text=True, timeout=60)
    assert denied.returncode != 0

    guest.qmp("system_powerdown")
    assert guest.proc is not None
    guest.proc.wait(timeout=POWEROFF_DEADLINE)
    assert "updraft: powering off" in guest.console()
    assert image["disk"].stat().st_mtime_ns == disk_mtime, "the cached image must not be written"


def test_kernel_and_initrd_boot_without_disk_or_nic(image: dict[str, Path], tmp_path: Path,
                                                    guests: list[Guest]) -> None:
    """aki/ari boot: no disk, no config drive, no NIC; the id comes from the SMBIOS serial."""
    instance = str(uuid.uuid4())
    guest = Guest(tmp_path, [
        "-kernel", str(image["kernel"]), "-initrd", str(image["ramdisk"]),
        "-append", "console=ttyS0,115200", "-smbios", f"type=1,serial={instance}", "-nic", "none",
    ])
    guests.append(guest)
    guest.start()
    guest.wait_for(re.escape(MARKER + instance) + r"\r?\n")
    elapsed = time.monotonic() - guest.started
    print(f"kernel+initrd boot to marker: {elapsed:.1f} s")
    assert "updraft: installed 0 ssh keys" in guest.console()
    assert "config drive" not in guest.console()

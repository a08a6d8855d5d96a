#!/usr/bin/env python3
"""Boot the cached tiny guest image (or --image) with bare qemu-system-x86_64 N times; print boot-to-marker seconds.

The baseline for boots through the compute API: the same image, TCG, 1 vCPU, 128 MB (m1.nano),
a config drive and no NIC, as compute attaches them today (`--nic` adds a user-mode one), the disk as a qcow2 overlay so the
cache is never written. Time runs from starting QEMU to the `UPDRAFT-GUEST-READY` line on the serial
console. Output: one JSON object on stdout.

    bench/guest-boot-bare.py [-n 5] [--image tiny.qcow2] [--updraft .build/debug/updraft]
    bench/guest-boot-bare.py -n 3 --image debian-12.qcow2 --memory 1024 --marker 'Cloud-init v\. \S+ finished at'

--marker is a regular expression the serial console must show; `{id}` in it is the instance id.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from benchlib import percentile, stop

MARKER = "UPDRAFT-GUEST-READY instance-id="
REPO = Path(__file__).resolve().parents[1]


def cached_image(updraft: str, cache_dir: str | None) -> Path:
    argv = [updraft, "image", "build", "tiny"] + (["--cache-dir", cache_dir] if cache_dir else [])
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(result.stderr.strip() or f"{argv} failed")
    return Path(result.stdout.split()[0])


def config_drive(directory: Path, instance: str) -> Path:
    latest = directory / "cd" / "openstack" / "latest"
    latest.mkdir(parents=True)
    meta = {"uuid": instance, "name": "bench", "hostname": "bench", "public_keys": {}, "keys": [], "meta": {},
            "launch_index": 0, "availability_zone": "nova", "project_id": "bench"}
    (latest / "meta_data.json").write_text(json.dumps(meta))
    iso = directory / "config-2.iso"
    subprocess.run(["genisoimage", "-quiet", "-o", str(iso), "-V", "config-2", "-r", "-J", str(directory / "cd")],
                   check=True)
    return iso


# The devices compute adds for an image with the guest agent and for the VNC console, as
# QEMU.MachineConfiguration writes them; `{dir}` is the boot's scratch directory.
AGENT = ["-device", "virtio-serial-pci,id=agent-serial,addr=0x0f",
         "-chardev", "socket,id=agent0,path={dir}/agent.sock,server=on,wait=off",
         "-device", "virtserialport,bus=agent-serial.0,chardev=agent0,name=org.qemu.guest_agent.0"]
VGA = ["-device", "VGA", "-vnc", "unix:{dir}/vnc.sock"]


def boot_once(image: Path, timeout: float, nic: bool, memory: int, marker: str, devices: list[str]) -> float:
    with tempfile.TemporaryDirectory(prefix="updraft-bench-") as scratch:
        directory = Path(scratch)
        instance = str(uuid.uuid4())
        iso = config_drive(directory, instance)
        disk = directory / "disk.qcow2"
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(image), str(disk)],
                       check=True)
        serial = directory / "serial.log"
        # The devices compute's QEMU driver gives a guest, without its management sockets:
        # no default devices, no display, the serial console to a file.
        argv = ["qemu-system-x86_64", "-accel", "tcg", "-machine", "pc", "-m", str(memory), "-smp", "1",
                "-no-user-config", "-nodefaults", "-display", "none",
                "-serial", f"file:{serial}", "-smbios", f"type=1,serial={instance}",
                "-drive", f"file={disk},if=virtio,format=qcow2",
                "-drive", f"file={iso},if=virtio,format=raw,readonly=on"]
        if nic:
            argv += ["-netdev", "user,id=n0,restrict=on", "-device", "virtio-net-pci,netdev=n0"]
        argv += [device.replace("{dir}", str(directory)) for device in devices]
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            want = re.compile(marker.replace("{id}", instance).encode())
            while time.monotonic() - started < timeout:
                if serial.exists() and want.search(serial.read_bytes()):
                    return time.monotonic() - started
                if proc.poll() is not None:
                    break
                time.sleep(0.05)
            raise RuntimeError(f"no boot marker within {timeout:.0f} s")
        finally:
            stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=5)
    parser.add_argument("--image", help="qcow2 to boot (default: the cached build of `updraft image build tiny`)")
    parser.add_argument("--updraft", default=os.environ.get("UPDRAFT_BIN", str(REPO / ".build/debug/updraft")))
    parser.add_argument("--cache-dir")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--memory", type=int, default=128, help="MiB")
    parser.add_argument("--marker", default=re.escape(MARKER) + "{id}")
    parser.add_argument("--nic", action="store_true",
                        help="attach a user-mode NIC (the guest then tries DHCP; compute attaches none yet)")
    parser.add_argument("--agent", action="store_true",
                        help="the guest agent's port, as compute gives an image with hw_qemu_guest_agent=yes")
    parser.add_argument("--vga", action="store_true", help="a VGA device behind VNC, as compute gives every guest")
    args = parser.parse_args()
    image = Path(args.image) if args.image else cached_image(args.updraft, args.cache_dir)
    devices = (AGENT if args.agent else []) + (VGA if args.vga else [])
    seconds = [round(boot_once(image, args.timeout, args.nic, args.memory, args.marker, devices), 3)
               for _ in range(args.runs)]
    print(json.dumps({
        "image": str(image), "accel": "tcg", "vcpus": 1, "memory_mb": args.memory, "runs": len(seconds),
        "agent": args.agent, "vga": args.vga,
        "boot_to_marker_seconds": {"p50": round(statistics.median(seconds), 3), "p99": percentile(seconds, 99),
                                   "min": min(seconds), "max": max(seconds), "all": seconds},
    }, indent=2))


if __name__ == "__main__":
    main()

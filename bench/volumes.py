#!/usr/bin/env python3
"""Block storage figures against the cloud in OS_AUTH_URL/OS_USERNAME/OS_PASSWORD/OS_PROJECT_NAME
(an admin openrc on 127.0.0.1). Each mode prints one JSON object on stdout; seconds throughout.

    bench/volumes.py attach [-n 5] [--io-mib 256] --data-dir DIR
        a guest on a routed network with a floating IP (bench/guest-ssh.py's lab), SSH answering;
        a 1 GB volume attached through POST /servers/{id}/os-volume_attachments N times, from the
        POST to the new disk in the guest's /sys/block (a guest-side loop on one SSH session,
        stamped on the host as its lines arrive) and to the volume `in-use`; detached the same
        way (disk gone, `available`). Then sequential dd on the attached volume in the guest
        (O_DIRECT if its busybox dd has it, else conv=fsync and dropped caches) and of the same
        size on the host in the data directory's filesystem.
    bench/volumes.py image --data-dir DIR [-n 5] [--gib 1]
        a qcow2 image of 1 GiB of random bytes uploaded to the image service; POST /volumes with
        imageRef to `available`: the first (the base cache is filled) and N later ones (qcow2
        children of the base); against `qemu-img convert` of the same image into a standalone
        qcow2 in the data directory (what a backend without copy-on-write does).
    bench/volumes.py create [-n 50]      empty 1 GB volumes one after another: the POST's own
                                         latency and POST -> `available`
    bench/volumes.py fill --to 10000 [-c 8]
                                         1 GB volumes through the API until the project has
                                         that many, then waits until none is `creating`
    bench/volumes.py list [--calls 50]   GET /volumes/detail as `openstack volume list` sends it,
                                         GET /volumes and GET /volumes/detail?limit=1000 and =100
    bench/volumes.py quota               lifts the project's volume, gigabyte and snapshot quotas

Loopback only.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from benchlib import summary, stop  # noqa: E402

_spec = importlib.util.spec_from_file_location("guest_ssh", HERE / "guest-ssh.py")
assert _spec and _spec.loader
guest_ssh = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(guest_ssh)
Cloud = guest_ssh.Cloud

DD_FIGURES = re.compile(r"(\d+) bytes .*copied, ([0-9.]+) s")


def volume_status(cloud: Cloud, volume: str) -> str:
    return cloud.call("GET", "volumev3", f"volumes/{volume}")["volume"]["status"]


def wait_status(cloud: Cloud, volume: str, wanted: str, started: float, timeout: float = 600, poll: float = 0.01
                ) -> float:
    """Seconds from `started` until the volume shows `wanted` (polled every `poll` s)."""
    while True:
        status = volume_status(cloud, volume)
        if status == wanted:
            return time.monotonic() - started
        if status.startswith("error"):
            raise RuntimeError(f"volume {volume} is {status}, not {wanted}")
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"volume {volume} still {status}, not {wanted}, after {timeout:.0f} s")
        time.sleep(poll)


def delete_volume(cloud: Cloud, volume: str) -> None:
    cloud.call("DELETE", "volumev3", f"volumes/{volume}", ok=(202, 404))


def wait_gone(cloud: Cloud, volume: str, timeout: float = 120) -> None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if cloud.session.get(f"{cloud.url['volumev3'].rstrip('/')}/volumes/{volume}", timeout=30).status_code == 404:
            return
        time.sleep(0.1)


def create_volume(cloud: Cloud, body: dict[str, Any]) -> tuple[str, float, float]:
    """POST /volumes, polled to `available`: (id, the POST's seconds, POST -> available seconds)."""
    started = time.monotonic()
    volume = cloud.call("POST", "volumev3", "volumes", {"volume": body})["volume"]["id"]
    posted = time.monotonic() - started
    return volume, posted, wait_status(cloud, volume, "available", started)


# --- attach, detach and I/O in a guest ----------------------------------------------------------

# Runs in the guest for the whole bench: prints its virtio disks whenever they change. The loop
# is shell built-ins but for sleep, so it costs the (TCG) guest little.
WATCH = ('p=-; while :; do s=; for d in /sys/block/vd*; do s="$s ${d##*/}"; done; '
         'if [ "$s" != "$p" ]; then echo "disks:$s"; p=$s; fi; sleep 0.05 2>/dev/null || usleep 50000; done')


class DiskWatcher:
    """One SSH session running WATCH; every line is stamped with the host's clock on arrival."""

    def __init__(self, key: Path, address: str) -> None:
        argv = ["ssh", "-i", str(key), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "ServerAliveInterval=10",
                f"root@{address}", WATCH]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, bufsize=1)
        self.events: list[tuple[float, tuple[str, ...]]] = []
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout
        for line in self.proc.stdout:
            stamp = time.monotonic()
            if line.startswith("disks:"):
                with self.changed:
                    self.events.append((stamp, tuple(line[6:].split())))
                    self.changed.notify_all()

    def wait(self, condition: Callable[[tuple[str, ...]], bool], since: float, timeout: float = 120
             ) -> tuple[float, tuple[str, ...]]:
        """The first disk set at or after `since` that meets `condition`: (host time, disks)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for stamp, disks in self.events:
                    if stamp >= since and condition(disks):
                        return stamp, disks
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"no disk change in the guest within {timeout:.0f} s: {self.events[-3:]}")
                self.changed.wait(left)

    def current(self, timeout: float = 60) -> tuple[str, ...]:
        return self.wait(lambda _: True, 0, timeout)[1] if not self.events else self.events[-1][1]

    def close(self) -> None:
        stop(self.proc)


def dd_rate(output: str) -> dict[str, float]:
    found = DD_FIGURES.findall(output)
    if not found:
        raise RuntimeError(f"no dd figures in: {output[-300:]}")
    size, seconds = int(found[-1][0]), float(found[-1][1])
    return {"bytes": size, "seconds": round(seconds, 3), "MB_per_s": round(size / seconds / 1e6, 1)}


def guest_io(guest: Any, device: str, mib: int) -> dict[str, Any]:
    """Sequential 1 MiB writes then reads of `mib` MiB on /dev/`device` in the guest. busybox dd
    prints no rate, so each dd is timed by the guest's /proc/uptime around it (and the host's
    clock around the whole SSH command, for comparison)."""
    probe = guest.run(f"dd if=/dev/zero of=/dev/{device} bs=1M count=1 oflag=direct 2>&1", timeout=120)
    direct = probe.returncode == 0
    out_flags, in_flags = ("oflag=direct", "iflag=direct") if direct else ("conv=fsync", "")
    result: dict[str, Any] = {"device": device, "mib": mib,
                              "method": "busybox dd bs=1M, O_DIRECT" if direct
                              else "busybox dd bs=1M conv=fsync, caches dropped before the read"}
    for name, command in (
            ("write", f"dd if=/dev/zero of=/dev/{device} bs=1M count={mib} {out_flags}"),
            ("read", f"echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/{device} of=/dev/null bs=1M count={mib} "
                     f"{in_flags}")):
        started = time.monotonic()
        done = guest.run(f"read a _ < /proc/uptime; {command} 2>/dev/null || exit 1; read b _ < /proc/uptime; "
                         "echo \"uptime $a $b\"", timeout=1800)
        wall = time.monotonic() - started
        found = re.search(r"uptime ([0-9.]+) ([0-9.]+)", done.stdout)
        if done.returncode != 0 or not found:
            raise RuntimeError(f"guest dd {name}: {done.stdout} {done.stderr}")
        seconds = float(found.group(2)) - float(found.group(1))
        result[name] = {"bytes": mib << 20, "seconds": round(seconds, 2),
                        "MB_per_s": round((mib << 20) / seconds / 1e6, 1), "ssh_wall_seconds": round(wall, 2),
                        "MB_per_s_by_ssh_wall": round((mib << 20) / wall / 1e6, 1)}
    return result


def host_io(directory: Path, mib: int) -> dict[str, Any]:
    """The same sizes written and read by the host's dd in `directory` (O_DIRECT)."""
    target = directory / "bench-host-io.test"
    result: dict[str, Any] = {"directory": str(directory), "mib": mib, "method": "GNU dd bs=1M, O_DIRECT"}
    try:
        for name, argv in (
                ("write", ["dd", "if=/dev/zero", f"of={target}", "bs=1M", f"count={mib}", "oflag=direct",
                           "conv=fsync"]),
                ("read", ["dd", f"if={target}", "of=/dev/null", "bs=1M", "iflag=direct"])):
            done = subprocess.run(argv, capture_output=True, text=True, check=True)
            result[name] = dd_rate(done.stderr)
    finally:
        target.unlink(missing_ok=True)
    return result


class Guest:
    """Commands in the guest over SSH (the e2e tests' Guest, for when guest-ssh.py has none)."""

    def __init__(self, key: Path, address: str) -> None:
        self.key, self.address = key, address

    def run(self, command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        argv = ["ssh", "-i", str(self.key), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", f"root@{self.address}",
                command]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def attach(args: argparse.Namespace) -> dict[str, Any]:
    cloud = Cloud()
    visible: list[float] = []
    in_use: list[float] = []
    posts: list[float] = []
    gone: list[float] = []
    available: list[float] = []
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="updraft-bench-volumes-") as scratch:
        key = guest_ssh.keypair(Path(scratch))
        watcher = None
        try:
            parts = guest_ssh.lab(cloud, key)
            server, address, started = guest_ssh.boot(cloud, parts)
            cloud.undo.append(lambda: guest_ssh.delete_server(cloud, server))
            result["create_to_ssh_seconds"] = round(guest_ssh.wait_ssh(key, address, started, args.timeout), 2)
            guest = Guest(key, address)
            volume = cloud.make("volumev3", "volumes", "volume", {"size": 1, "name": "bench-attach"})["id"]
            wait_status(cloud, volume, "available", time.monotonic())
            watcher = DiskWatcher(key, address)
            before = watcher.current()
            attachments = f"servers/{server}/os-volume_attachments"
            device = ""
            for _ in range(args.runs + 1):
                started = time.monotonic()
                cloud.call("POST", "compute", attachments, {"volumeAttachment": {"volumeId": volume}})
                posted = time.monotonic() - started
                reached = wait_status(cloud, volume, "in-use", started)
                stamp, disks = watcher.wait(lambda d: len(d) > len(before), started)
                device = sorted(set(disks) - set(before))[0]
                if len(visible) < args.runs:
                    posts.append(posted)
                    in_use.append(reached)
                    visible.append(stamp - started)
                else:
                    break  # the last attach stays for the I/O figures
                started = time.monotonic()
                cloud.call("DELETE", "compute", f"{attachments}/{volume}", ok=(202,))
                reached = wait_status(cloud, volume, "available", started)
                stamp, _ = watcher.wait(lambda d: d == before, started)
                available.append(reached)
                gone.append(stamp - started)
            result["attach"] = {"runs": len(visible), "guest_disks_before": list(before),
                                "post_seconds": summary(posts), "post_to_disk_in_guest_seconds": summary(visible),
                                "post_to_in_use_seconds": summary(in_use)}
            result["detach"] = {"runs": len(gone), "delete_to_disk_gone_in_guest_seconds": summary(gone),
                                "delete_to_available_seconds": summary(available)}
            if args.io_mib:
                result["guest_io"] = guest_io(guest, device, args.io_mib)
                result["host_io"] = host_io(Path(args.data_dir), args.io_mib)
            started = time.monotonic()
            cloud.call("DELETE", "compute", f"{attachments}/{volume}", ok=(202,))
            wait_status(cloud, volume, "available", started)
        finally:
            if watcher:
                watcher.close()
            cloud.cleanup()
    return {"what": "1 GB volume hot-attached to a running TCG guest through the compute API"} | result


# --- volumes from an image ----------------------------------------------------------------------

def make_image(directory: Path, gib: int) -> Path:
    """A qcow2 of `gib` GiB of random bytes (nothing for qcow2 to leave out)."""
    raw = directory / "random.raw"
    with raw.open("wb") as out:
        for _ in range(gib * 64):
            out.write(os.urandom(16 << 20))
    image = directory / "random.qcow2"
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(image)], check=True)
    raw.unlink()
    return image


def upload(cloud: Cloud, path: Path, name: str) -> tuple[str, float]:
    image = cloud.call("POST", "image", "v2/images", {"name": name, "disk_format": "qcow2",
                                                       "container_format": "bare"})["id"]
    cloud.undo.append(lambda: cloud.call("DELETE", "image", f"v2/images/{image}", ok=(204, 404)))
    started = time.monotonic()
    with path.open("rb") as body:
        r = cloud.session.put(f"{cloud.url['image'].rstrip('/')}/v2/images/{image}/file", data=body,
                              headers={"Content-Type": "application/octet-stream"}, timeout=1800)
    if r.status_code != 204:
        raise RuntimeError(f"image upload: {r.status_code} {r.text[:300]}")
    seconds = time.monotonic() - started
    while cloud.call("GET", "image", f"v2/images/{image}")["status"] != "active":
        time.sleep(0.1)
    return image, seconds


def from_image(args: argparse.Namespace) -> dict[str, Any]:
    cloud = Cloud()
    made: list[str] = []
    data = Path(args.data_dir)
    with tempfile.TemporaryDirectory(prefix="updraft-bench-volumes-", dir=data.parent) as scratch:
        try:
            source = make_image(Path(scratch), args.gib)
            image, upload_seconds = upload(cloud, source, f"bench-random-{args.gib}g")
            body = {"size": args.gib, "imageRef": image}
            first, first_post, first_total = create_volume(cloud, body)
            made.append(first)
            posts, totals = [], []
            for _ in range(args.runs):
                volume, posted, total = create_volume(cloud, body)
                made.append(volume)
                posts.append(posted)
                totals.append(total)
            copies = []
            target = data / "volumes" / "bench-full-copy.qcow2"
            for _ in range(args.copies):
                started = time.monotonic()
                subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "qcow2", str(source), str(target)],
                               check=True)
                copies.append(time.monotonic() - started)
                target.unlink()
            sizes = {v: os.path.getsize(data / "volumes" / f"{v}.qcow2") for v in made[:2]}
        finally:
            for volume in made:
                delete_volume(cloud, volume)
            for volume in made:
                wait_gone(cloud, volume)
            cloud.cleanup()
    return {"what": f"POST /volumes with imageRef ({args.gib} GiB qcow2 of random bytes) to available",
            "image_upload_seconds": round(upload_seconds, 2),
            "image_upload_MB_per_s": round(source_bytes(args.gib) / upload_seconds / 1e6, 1),
            "first_create": {"post_seconds": round(first_post, 3), "post_to_available_seconds": round(first_total, 3)},
            "later_creates": {"runs": len(totals), "post_seconds": summary(posts),
                              "post_to_available_seconds": summary(totals)},
            "full_copy_qemu_img_convert_seconds": summary(copies),
            "volume_file_bytes": sizes}


def source_bytes(gib: int) -> int:
    return gib << 30


# --- empty volumes, fill and lists -------------------------------------------------------------

def create_many(args: argparse.Namespace) -> dict[str, Any]:
    cloud = Cloud()
    posts, totals = [], []
    for index in range(args.runs):
        _, posted, total = create_volume(cloud, {"size": 1, "name": f"bench-empty-{index}"})
        posts.append(posted)
        totals.append(total)
    return {"what": "empty 1 GB volume, one at a time (kept)", "runs": args.runs, "post_seconds": summary(posts),
            "post_to_available_seconds": summary(totals)}


def count(cloud: Cloud, **filters: str) -> int:
    """The project's volumes (that match `filters`), following next links if the server pages."""
    url: str | None = f"{cloud.url['volumev3'].rstrip('/')}/volumes?" + "&".join(f"{k}={v}" for k, v in filters.items())
    total = 0
    while url:
        r = cloud.session.get(url, timeout=120)
        r.raise_for_status()
        shown = r.json()
        total += len(shown["volumes"])
        url = next((link["href"] for link in shown.get("volumes_links", []) if link.get("rel") == "next"), None)
    return total


def fill(args: argparse.Namespace) -> dict[str, Any]:
    cloud = Cloud()
    have = count(cloud)
    wanted = max(0, args.to - have)
    base = cloud.url["volumev3"].rstrip("/")
    token = cloud.session.headers["X-Auth-Token"]
    local = threading.local()
    failures: queue.Queue[str] = queue.Queue()

    def one(index: int) -> None:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.headers["X-Auth-Token"] = token
        r = local.session.post(f"{base}/volumes", json={"volume": {"size": 1, "name": f"fill-{index:05d}"}}, timeout=60)
        if r.status_code != 202:
            failures.put(f"{r.status_code} {r.text[:200]}")

    started = time.monotonic()
    with ThreadPoolExecutor(args.concurrency) as pool:
        list(pool.map(one, range(wanted)))
    posted = time.monotonic() - started
    if not failures.empty():
        raise RuntimeError(f"{failures.qsize()} creates failed, e.g. {failures.get()}")
    while count(cloud, status="creating"):
        time.sleep(2)
    settled = time.monotonic() - started
    return {"what": f"fill to {args.to} volumes with {args.concurrency} clients", "created": wanted,
            "posts_seconds": round(posted, 1), "posts_per_second": round(wanted / posted, 1) if posted else None,
            "all_available_seconds": round(settled, 1), "volumes": count(cloud)}


def timed_gets(session: requests.Session, url: str, calls: int) -> dict[str, Any]:
    seconds = []
    body = b""
    for _ in range(calls):
        started = time.perf_counter()
        r = session.get(url, timeout=120)
        body = r.content
        seconds.append(time.perf_counter() - started)
        r.raise_for_status()
    shown = json.loads(body)
    key = next(k for k in shown if not k.endswith("_links"))
    return {"calls": calls, "volumes_returned": len(shown[key]), "next_link": any(k.endswith("_links") for k in shown),
            "bytes": len(body), "seconds": {k: v for k, v in summary(seconds).items() if k != "all"}}


def lists(args: argparse.Namespace) -> dict[str, Any]:
    cloud = Cloud()
    base = cloud.url["volumev3"].rstrip("/")
    result: dict[str, Any] = {"what": "list latency, curl-like (time to the last byte), one client",
                              "volumes_in_project": count(cloud)}
    for name, path in (("GET /volumes/detail", "volumes/detail"), ("GET /volumes", "volumes"),
                       ("GET /volumes/detail?limit=1000", "volumes/detail?limit=1000"),
                       ("GET /volumes/detail?limit=100", "volumes/detail?limit=100")):
        result[name] = timed_gets(cloud.session, f"{base}/{path}", args.calls)
    return result


def quota(args: argparse.Namespace) -> dict[str, Any]:
    """No volume, gigabyte or snapshot limit for the caller's project (Cinder's os-quota-sets)."""
    cloud = Cloud()
    project = cloud.url["volumev3"].rstrip("/").rsplit("/", 1)[-1]
    body = {"quota_set": {"volumes": -1, "gigabytes": -1, "snapshots": -1}}
    return cloud.call("PUT", "volumev3", f"os-quota-sets/{project}", body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["quota", "attach", "image", "create", "fill", "list"])
    parser.add_argument("-n", "--runs", type=int)
    parser.add_argument("--io-mib", type=int, default=256)
    parser.add_argument("--data-dir", default="")
    parser.add_argument("--gib", type=int, default=1)
    parser.add_argument("--copies", type=int, default=3)
    parser.add_argument("--to", type=int, default=10000)
    parser.add_argument("-c", "--concurrency", type=int, default=8)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    if args.runs is None:
        args.runs = {"attach": 5, "image": 5, "create": 50}.get(args.mode, 0)
    if args.mode in ("attach", "image") and not args.data_dir:
        parser.error(f"{args.mode} needs --data-dir (the cloud's)")
    run = {"quota": quota, "attach": attach, "image": from_image, "create": create_many, "fill": fill, "list": lists}[args.mode]
    print(json.dumps(run(args), indent=2))


if __name__ == "__main__":
    main()

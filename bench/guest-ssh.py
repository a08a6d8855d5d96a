#!/usr/bin/env python3
"""Seconds from starting a guest to SSH answering, through the cloud and by bare QEMU; and how fast
a security-group rule change reaches a running guest.

    bench/guest-ssh.py bare  [-n 3]   # bare qemu-system on a tap on a bridge of its own (dnsmasq for DHCP)
    bench/guest-ssh.py cloud [-n 3]   # POST /servers on a port that already has a floating IP, to SSH answering
    bench/guest-ssh.py rule  [-n 10]  # rule delete -> new TCP 22 connections refused; rule create -> accepted

`cloud` and `rule` use the cloud in OS_AUTH_URL/OS_USERNAME/OS_PASSWORD/OS_PROJECT_NAME (an admin
openrc; they make a network, router, group, key, flavor and servers and delete them). The image is
the cached `updraft image build tiny` (1 vCPU, 128 MB, TCG); `bare` gives it what the cloud gives it:
a virtio NIC on a tap on a bridge, DHCP from dnsmasq, and its key from a config drive. The host must
be root. Output: one JSON object on stdout. Only 127.0.0.1 and the addresses made here are used.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import requests
from benchlib import summary, stop

REPO = Path(__file__).resolve().parents[1]
BRIDGE, TAP, HOST_IP, GUEST_IP, MAC = "updbbench0", "updtbench0", "198.19.99.1", "198.19.99.10", "fa:16:3e:99:00:10"


def ssh_answers(key: Path, address: str) -> bool:
    argv = ["ssh", "-i", str(key), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "ConnectTimeout=1", f"root@{address}", "true"]
    try:
        return subprocess.run(argv, capture_output=True, timeout=5).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def wait_ssh(key: Path, address: str, started: float, timeout: float = 300) -> float:
    while time.monotonic() - started < timeout:
        if ssh_answers(key, address):
            return time.monotonic() - started
        time.sleep(0.1)
    raise RuntimeError(f"no SSH at {address} within {timeout:.0f} s")


def cached_image(updraft: str) -> Path:
    out = subprocess.run([updraft, "image", "build", "tiny"], capture_output=True, text=True, check=True)
    return Path(out.stdout.split()[0])


def keypair(directory: Path) -> Path:
    key = directory / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


# --- bare QEMU ---------------------------------------------------------------------------------

def bare(args: argparse.Namespace) -> dict[str, Any]:
    image = cached_image(args.updraft)
    seconds: list[float] = []
    with tempfile.TemporaryDirectory(prefix="updraft-bench-ssh-") as scratch:
        directory = Path(scratch)
        key = keypair(directory)
        ip = lambda *a: subprocess.run(["ip", *a], check=True)  # noqa: E731
        ip("link", "add", BRIDGE, "type", "bridge")
        dnsmasq = None
        try:
            ip("addr", "add", f"{HOST_IP}/24", "dev", BRIDGE)
            ip("link", "set", BRIDGE, "up")
            ip("tuntap", "add", "dev", TAP, "mode", "tap", "vnet_hdr")
            ip("link", "set", TAP, "master", BRIDGE)
            ip("link", "set", TAP, "up")
            dnsmasq = subprocess.Popen(
                ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--port=0", "--no-hosts", "--no-resolv",
                 "--bind-interfaces", f"--interface={BRIDGE}", "--except-interface=lo", "--leasefile-ro",
                 f"--dhcp-range={GUEST_IP},static,255.255.255.0,86400s", f"--dhcp-host={MAC},{GUEST_IP}",
                 f"--pid-file={directory}/dnsmasq.pid"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(args.runs):
                seconds.append(boot_bare(image, directory, key, args.timeout))
        finally:
            if dnsmasq:
                dnsmasq.terminate()  # our own child, by its PID
                dnsmasq.wait(timeout=5)
            subprocess.run(["ip", "link", "del", TAP], capture_output=True)
            subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True)
    return {"what": "bare qemu-system on a tap on a bridge, DHCP, key from a config drive, start to SSH",
            "image": str(image), "runs": len(seconds), "start_to_ssh_seconds": summary(seconds)}


def boot_bare(image: Path, directory: Path, key: Path, timeout: float) -> float:
    instance = str(uuid.uuid4())
    cd = directory / f"cd-{instance}" / "openstack" / "latest"
    cd.mkdir(parents=True)
    public = key.with_suffix(".pub").read_text().strip()
    (cd / "meta_data.json").write_text(json.dumps({
        "uuid": instance, "name": "bench", "hostname": "bench", "public_keys": {"k": public},
        "keys": [{"name": "k", "type": "ssh", "data": public}], "meta": {}, "launch_index": 0,
        "availability_zone": "nova", "project_id": "bench"}))
    iso = directory / f"{instance}.iso"
    subprocess.run(["genisoimage", "-quiet", "-o", str(iso), "-V", "config-2", "-r", "-J",
                    str(directory / f"cd-{instance}")], check=True)
    disk = directory / f"{instance}.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(image), str(disk)], check=True)
    argv = ["qemu-system-x86_64", "-accel", "tcg", "-machine", "pc", "-m", "128", "-smp", "1", "-no-user-config",
            "-nodefaults", "-display", "none", "-serial", f"file:{directory}/{instance}.log",
            "-smbios", f"type=1,serial={instance}",
            "-drive", f"file={disk},if=virtio,format=qcow2", "-drive", f"file={iso},if=virtio,format=raw,readonly=on",
            "-netdev", f"tap,id=n0,ifname={TAP},script=no,downscript=no",
            "-device", f"virtio-net-pci,netdev=n0,mac={MAC}"]
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return wait_ssh(key, GUEST_IP, started, timeout)
    finally:
        stop(proc)


# --- through the cloud ---------------------------------------------------------------------------

class Cloud:
    def __init__(self) -> None:
        auth = os.environ["OS_AUTH_URL"].rstrip("/")
        if not auth.startswith(("http://127.0.0.1", "http://localhost")):
            sys.exit("only a cloud on 127.0.0.1 is benchmarked")
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": os.environ["OS_USERNAME"], "domain": {"name": "Default"}, "password": os.environ["OS_PASSWORD"]}}},
            "scope": {"project": {"name": os.environ["OS_PROJECT_NAME"], "domain": {"name": "Default"}}}}}
        if not auth.endswith("/v3"):
            auth += "/v3"
        r = requests.post(f"{auth}/auth/tokens", json=body, timeout=30)
        r.raise_for_status()
        self.session = requests.Session()
        self.session.headers["X-Auth-Token"] = r.headers["X-Subject-Token"]
        catalog = r.json()["token"]["catalog"]
        self.url = {e["type"]: [x["url"] for x in e["endpoints"] if x["interface"] == "public"][0] for e in catalog}
        self.undo: list[Any] = []

    def call(self, method: str, service: str, path: str, body: Any = None, ok: tuple[int, ...] = (200, 201, 202, 204)
             ) -> Any:
        base = self.url[service].rstrip("/") + ("/v2.0" if service == "network" else "")
        r = self.session.request(method, f"{base}/{path}", json=body, timeout=60)
        if r.status_code not in ok:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:300]}")
        return r.json() if r.content else None

    def make(self, service: str, path: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
        made = self.call("POST", service, path, {key: body})[key]
        target = f"{path}/{made.get('id', made.get('name'))}"
        self.undo.append(lambda: self.call("DELETE", service, target, ok=(200, 202, 204, 404, 409)))
        return made

    def cleanup(self) -> None:
        for step in reversed(self.undo):
            try:
                step()
            except Exception:  # noqa: BLE001 - best effort, the next cleanup step still runs
                pass


def lab(cloud: Cloud, key: Path) -> dict[str, Any]:
    """Network, subnet, router on public, a group open to ICMP and TCP 22, key, flavor."""
    tag = uuid.uuid4().hex[:6]
    net = cloud.make("network", "networks", "network", {"name": f"bench-{tag}"})
    subnet = cloud.make("network", "subnets", "subnet", {"network_id": net["id"], "cidr": "10.77.0.0/24",
                                                         "ip_version": 4})
    public = cloud.call("GET", "network", "networks?name=public")["networks"][0]
    router = cloud.make("network", "routers", "router", {"name": f"bench-{tag}",
                                                         "external_gateway_info": {"network_id": public["id"]}})
    interface = f"routers/{router['id']}/add_router_interface"
    cloud.call("PUT", "network", interface, {"subnet_id": subnet["id"]})
    cloud.undo.append(lambda: cloud.call("PUT", "network", interface.replace("add_", "remove_"),
                                         {"subnet_id": subnet["id"]}, ok=(200, 404, 409)))
    group = cloud.make("network", "security-groups", "security_group", {"name": f"bench-{tag}"})
    cloud.make("network", "security-group-rules", "security_group_rule",
               {"security_group_id": group["id"], "direction": "ingress", "protocol": "icmp"})
    rule = cloud.make("network", "security-group-rules", "security_group_rule",
                      {"security_group_id": group["id"], "direction": "ingress", "protocol": "tcp",
                       "port_range_min": 22, "port_range_max": 22})
    pair = cloud.make("compute", "os-keypairs", "keypair", {"name": f"bench-{tag}",
                                                             "public_key": key.with_suffix(".pub").read_text()})
    flavor = cloud.make("compute", "flavors", "flavor", {"name": f"bench-{tag}", "ram": 128, "vcpus": 1, "disk": 1})
    image = cloud.call("GET", "image", "v2/images?name=updraft-tiny")["images"][0]
    return {"net": net, "group": group, "rule": rule, "key": pair, "flavor": flavor, "image": image,
            "public": public, "router": router, "subnet": subnet}


def boot(cloud: Cloud, parts: dict[str, Any]) -> tuple[str, str, float]:
    """A port with a floating IP first; then POST /servers on it, timed to SSH answering."""
    port = cloud.make("network", "ports", "port", {"network_id": parts["net"]["id"],
                                                   "security_groups": [parts["group"]["id"]]})
    floating = cloud.make("network", "floatingips", "floatingip", {"floating_network_id": parts["public"]["id"],
                                                                   "port_id": port["id"]})
    body = {"name": "bench", "imageRef": parts["image"]["id"], "flavorRef": parts["flavor"]["id"],
            "key_name": parts["key"]["name"], "networks": [{"port": port["id"]}]}
    started = time.monotonic()
    server = cloud.call("POST", "compute", "servers", {"server": body})["server"]
    return server["id"], floating["floating_ip_address"], started


def through_cloud(args: argparse.Namespace) -> dict[str, Any]:
    cloud = Cloud()
    seconds: list[float] = []
    with tempfile.TemporaryDirectory(prefix="updraft-bench-ssh-") as scratch:
        key = keypair(Path(scratch))
        try:
            parts = lab(cloud, key)
            for _ in range(args.runs):
                server, address, started = boot(cloud, parts)
                try:
                    seconds.append(wait_ssh(key, address, started, args.timeout))
                finally:
                    delete_server(cloud, server)
        finally:
            cloud.cleanup()
    return {"what": "POST /servers on a port with a floating IP, to SSH answering through it", "runs": len(seconds),
            "create_to_ssh_seconds": summary(seconds)}


def delete_server(cloud: Cloud, server: str) -> None:
    cloud.call("DELETE", "compute", f"servers/{server}", ok=(204, 404))
    for _ in range(300):
        if cloud.session.get(f"{cloud.url['compute']}/servers/{server}", timeout=30).status_code == 404:
            return
        time.sleep(0.2)


def connects(address: str, timeout: float) -> bool:
    try:
        with socket.create_connection((address, 22), timeout=timeout):
            return True
    except OSError:
        return False


def rule_changes(args: argparse.Namespace) -> dict[str, Any]:
    """Delete the TCP 22 rule: time until a new connection is refused; create it: until one is accepted."""
    cloud = Cloud()
    closed: list[float] = []
    opened: list[float] = []
    probe = 0.02
    with tempfile.TemporaryDirectory(prefix="updraft-bench-ssh-") as scratch:
        key = keypair(Path(scratch))
        try:
            parts = lab(cloud, key)
            server, address, started = boot(cloud, parts)
            wait_ssh(key, address, started, args.timeout)
            rule = parts["rule"]
            for _ in range(args.runs):
                started = time.monotonic()
                cloud.call("DELETE", "network", f"security-group-rules/{rule['id']}")
                while connects(address, probe):
                    time.sleep(0.005)
                closed.append(time.monotonic() - started)
                started = time.monotonic()
                rule = cloud.call("POST", "network", "security-group-rules", {"security_group_rule": {
                    "security_group_id": parts["group"]["id"], "direction": "ingress", "protocol": "tcp",
                    "port_range_min": 22, "port_range_max": 22}})["security_group_rule"]
                # Short probes: a SYN dropped before the rule arrived would wait out the kernel's 1 s retry.
                while not connects(address, probe):
                    time.sleep(0.005)
                opened.append(time.monotonic() - started)
            delete_server(cloud, server)
        finally:
            cloud.cleanup()
    return {"what": "security-group rule change to effect on a running guest (from the API call's start; "
                    f"each probe a new TCP connection given {probe * 1000:.0f} ms)",
            "runs": args.runs, "rule_deleted_to_refused_seconds": summary(closed),
            "rule_created_to_accepted_seconds": summary(opened)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["bare", "cloud", "rule"])
    parser.add_argument("-n", "--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--updraft", default=os.environ.get("UPDRAFT_BIN", str(REPO / ".build/release/updraft")))
    args = parser.parse_args()
    result = {"bare": bare, "cloud": through_cloud, "rule": rule_changes}[args.mode](args)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

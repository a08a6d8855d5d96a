"""Real guests on real tenant networks, driven by the real `openstack` CLI as a project member:
two servers on a routed network, one reached from the host through a floating IP over SSH,
the guests reaching each other, the metadata service answering each guest for itself, security
group changes taking effect on running guests, spoofing and other projects getting nothing
through, `--nic auto` in a fresh project, a kill -9 of `updraft` that SSH survives, and a
teardown that leaves nothing on the host. Runs on the session's cloud (SQLite and PostgreSQL).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import Cleanup, Cloud, Factory, eventually, host_links, namespaces, unique

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("dnsmasq") or not shutil.which("ssh"),
    reason="real tenant networks need root, nft, dnsmasq and an ssh client")

BOOT_DEADLINE = 180.0



def pings(address: str, namespace: str | None = None) -> bool:
    argv = ["ping", "-c", "1", "-W", "1", address]
    if namespace:
        argv = ["ip", "netns", "exec", namespace, *argv]
    return subprocess.run(argv, capture_output=True).returncode == 0




class Guest:
    """SSH into a guest through its floating IP with the project's key."""

    def __init__(self, key: Path, address: str) -> None:
        self.key = key
        self.address = address

    def run(self, command: str, timeout: float = 20.0, connect_timeout: int = 3) -> subprocess.CompletedProcess[str]:
        argv = ["ssh", "-i", str(self.key), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={connect_timeout}",
                f"root@{self.address}", command]
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            return subprocess.CompletedProcess(argv, 255, e.stdout or "", "timed out")

    def answers(self) -> bool:
        return self.run("true", timeout=8, connect_timeout=2).returncode == 0


class Lab:
    """What the module builds once: a project with a routed network, two guests, a floating IP."""

    def __init__(self, cloud: Cloud, cleanup: Cleanup, root: Path) -> None:
        self.cloud = cloud
        user, project = Factory(cloud.api, cleanup).member()
        self.project = project
        self.env = cloud.user_env(user["name"], user["password"], project_name=project["name"])
        self.key = root / "key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.key)], check=True)
        self.flavor = cloud.openstack("flavor", "create", unique("net-tiny"), "--ram", "256", "--vcpus", "1",
                                      "--disk", "1")
        self.net = self.cli("network", "create", unique("net"))
        self.subnet = self.cli("subnet", "create", unique("sub"), "--network", self.net["id"],
                               "--subnet-range", "10.61.0.0/24")
        self.router = self.cli("router", "create", unique("router"), "--external-gateway", "public")
        self.cli("router", "add", "subnet", self.router["id"], self.subnet["id"])
        self.group = self.cli("security", "group", "create", unique("sg"))
        self.cli("security", "group", "rule", "create", self.group["id"], "--protocol", "icmp")
        self.ssh_rule = self.cli("security", "group", "rule", "create", self.group["id"], "--protocol", "tcp",
                                 "--dst-port", "22")
        self.keypair = self.cli("keypair", "create", "--public-key", f"{self.key}.pub", unique("key"))
        started = time.monotonic()
        self.vm1 = self.boot("vm1")
        self.vm2 = self.boot("vm2")
        self.fip1 = self.floating(self.vm1)
        self.fip2 = self.floating(self.vm2)
        self.guest1 = Guest(self.key, self.fip1)
        self.guest2 = Guest(self.key, self.fip2)
        assert eventually(self.guest1.answers, BOOT_DEADLINE), f"no SSH through {self.fip1}"
        print(f"\ntwo servers created and SSH answering through a floating IP after "
              f"{time.monotonic() - started:.1f} s")
        assert eventually(self.guest2.answers, BOOT_DEADLINE), f"no SSH through {self.fip2}"

    def cli(self, *args: str) -> Any:
        return self.cloud.openstack(*args, env=self.env)

    def boot(self, name: str, *extra: str) -> dict[str, Any]:
        return self.cli("server", "create", unique(name), "--image", "updraft-tiny", "--flavor", self.flavor["id"],
                        "--network", self.net["id"], "--security-group", self.group["id"],
                        "--key-name", self.keypair["name"], *extra, "--wait")

    def floating(self, server: dict[str, Any]) -> str:
        address = self.cli("floating", "ip", "create", "public")["floating_ip_address"]
        self.cli("server", "add", "floating", "ip", server["id"], address)
        return address

    def fixed(self, server: dict[str, Any]) -> str:
        return self.cli("server", "show", server["id"])["addresses"][self.net["name"]][0]


@pytest.fixture(scope="module")
def lab(cloud: Cloud) -> Iterator[Lab]:
    root = Path(tempfile.mkdtemp(prefix="updraft-e2e-guests-"))
    cleanup = Cleanup(cloud.api)
    try:
        yield Lab(cloud, cleanup, root)
    finally:
        cleanup.run()
        shutil.rmtree(root, ignore_errors=True)


def test_host_reaches_a_guest_through_its_floating_ip_and_guests_reach_each_other(lab: Lab) -> None:
    assert pings(lab.fip1)
    shown = lab.guest1.run("hostname; ip -4 -o addr show dev eth0")
    assert shown.returncode == 0, shown.stderr
    assert lab.fixed(lab.vm1) in shown.stdout
    server = lab.cli("server", "show", lab.vm1["id"])
    assert server["status"] == "ACTIVE"
    assert lab.fip1 in server["addresses"][lab.net["name"]]
    assert {"name": lab.group["name"]} in server["security_groups"]
    ping = lab.guest1.run(f"ping -c 2 -W 2 {lab.fixed(lab.vm2)}")
    assert ping.returncode == 0 and " 0% packet loss" in ping.stdout, ping.stdout + ping.stderr


def test_metadata_service_answers_each_guest_for_itself(lab: Lab) -> None:
    base = "http://169.254.169.254"
    for guest, server in ((lab.guest1, lab.vm1), (lab.guest2, lab.vm2)):
        meta = guest.run(f"wget -q -O - {base}/openstack/latest/meta_data.json")
        assert meta.returncode == 0, meta.stderr
        assert f'"uuid":"{server["id"]}"' in meta.stdout
        assert lab.key.with_suffix(".pub").read_text().split()[1] in meta.stdout
        ec2 = guest.run(f"wget -q -O - {base}/latest/meta-data/local-ipv4")
        assert ec2.stdout.strip() == lab.fixed(server)
    # Anything but a guest's own port (here the network's own namespace) is answered nothing.
    namespace = f"updraft-net-{lab.net['id']}"
    probe = subprocess.run(["ip", "netns", "exec", namespace, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                            "-m", "5", f"{base}/openstack/latest/meta_data.json"], capture_output=True, text=True)
    assert probe.stdout == "404", probe


def test_removing_the_ssh_rule_closes_ssh_at_once_and_adding_it_back_opens_it(lab: Lab) -> None:
    rule = lab.ssh_rule
    lab.cli("security", "group", "rule", "delete", rule["id"])
    removed = time.monotonic()
    refused = lab.guest1.run("true", timeout=4, connect_timeout=1)
    assert refused.returncode != 0, "ssh still answers without a rule for TCP 22"
    assert time.monotonic() - removed < 5
    assert pings(lab.fip1), "ICMP is still allowed"
    lab.ssh_rule = lab.cli("security", "group", "rule", "create", lab.group["id"], "--protocol", "tcp",
                           "--dst-port", "22")
    assert eventually(lab.guest1.answers, 10), "ssh does not answer after the rule is back"


def test_a_guest_that_spoofs_its_address_or_mac_gets_nothing_through(lab: Lab) -> None:
    # vm2 claims an address that is not its own: nobody reaches it there.
    assert lab.guest2.run("ip addr add 10.61.0.250/24 dev eth0").returncode == 0
    try:
        spoofed = lab.guest1.run("ping -c 2 -W 1 10.61.0.250")
        assert spoofed.returncode != 0, spoofed.stdout
    finally:
        lab.guest2.run("ip addr del 10.61.0.250/24 dev eth0")
    # vm2 takes another MAC for a few seconds: its floating IP goes dark, then comes back.
    mac = lab.guest2.run("cat /sys/class/net/eth0/address").stdout.strip()
    lab.guest2.run(f"(ip link set eth0 address fa:16:3e:de:ad:01; sleep 8; ip link set eth0 address {mac}) "
                   ">/dev/null 2>&1 </dev/null &", timeout=5)
    time.sleep(2)
    assert not pings(lab.fip2), "a guest with a MAC that is not its port's was reached"
    assert eventually(lambda: pings(lab.fip2), 30), "the guest is not reached again with its own MAC"


def test_nic_auto_in_a_fresh_project_works_and_cannot_reach_another_projects_fixed_ips(
        cloud: Cloud, lab: Lab) -> None:
    cleanup = Cleanup(cloud.api)
    try:
        user, project = Factory(cloud.api, cleanup).member()
        env = cloud.user_env(user["name"], user["password"], project_name=project["name"])
        cli = lambda *args: cloud.openstack(*args, env=env)  # noqa: E731
        keypair = cli("keypair", "create", "--public-key", f"{lab.key}.pub", unique("key"))
        server = cli("server", "create", unique("auto"), "--image", "updraft-tiny", "--flavor", lab.flavor["id"],
                     "--nic", "auto", "--key-name", keypair["name"], "--wait")
        assert server["status"] == "ACTIVE"
        network = cli("network", "show", "auto_allocated_network")
        assert network["project_id"] == project["id"]
        # The project's default group lets only its own members in: open SSH and ICMP to reach it.
        default = [g for g in cli("security", "group", "list") if g["Name"] == "default"][0]
        cli("security", "group", "rule", "create", default["ID"], "--protocol", "tcp", "--dst-port", "22")
        cli("security", "group", "rule", "create", default["ID"], "--protocol", "icmp")
        address = cli("floating", "ip", "create", "public")["floating_ip_address"]
        cli("server", "add", "floating", "ip", server["id"], address)
        guest = Guest(lab.key, address)
        assert eventually(guest.answers, BOOT_DEADLINE), f"no SSH through {address}"
        # Its own router answers; the other project's guests are out of reach by fixed IP.
        assert guest.run("ping -c 1 -W 2 10.0.0.1").returncode == 0
        other = guest.run(f"ping -c 2 -W 1 {lab.fixed(lab.vm1)}")
        assert other.returncode != 0, other.stdout
        cli("server", "delete", server["id"], "--wait")
        cli("floating", "ip", "delete", address)
        cli("network", "auto", "allocated", "topology", "delete")
    finally:
        cleanup.run()


def test_kill_9_and_restart_keeps_ssh_and_duplicates_nothing(cloud: Cloud, lab: Lab) -> None:
    assert cloud.server is not None
    ids = (lab.net["id"], lab.router["id"])

    def carried() -> tuple[set[str], list[str], set[str]]:
        """The lab's namespaces, its network's dnsmasq PIDs, and the host's nftables tables."""
        mine = {name for name in namespaces() if any(i in name for i in ids)}
        dnsmasq = subprocess.run(["pgrep", "-f", f"dnsmasq.*{lab.net['id']}"], capture_output=True, text=True)
        tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
        return mine, dnsmasq.stdout.split(), set(tables.splitlines())

    before = carried()
    assert len(before[0]) == 2 and len(before[1]) == 1, before
    cloud.server.crash_and_restart()
    assert eventually(lab.guest1.answers, 30), "ssh through the floating IP does not survive a kill -9"
    time.sleep(1)
    assert carried() == before, "the restart made or remade what was there"
    assert lab.cli("server", "show", lab.vm1["id"])["status"] == "ACTIVE"


def test_attaching_an_interface_to_a_running_guest_and_detaching_it(lab: Lab) -> None:
    other = lab.cli("network", "create", unique("net2"))
    lab.cli("subnet", "create", unique("sub2"), "--network", other["id"], "--subnet-range", "10.62.0.0/24")
    port = lab.cli("port", "create", unique("port"), "--network", other["id"])
    lab.cli("server", "add", "port", lab.vm2["id"], port["id"])
    assert eventually(lambda: "eth1" in lab.guest2.run("ls /sys/class/net").stdout, 30), "no eth1 in the guest"
    mac = lab.guest2.run("cat /sys/class/net/eth1/address").stdout.strip()
    assert mac == port["mac_address"]
    lab.cli("server", "remove", "port", lab.vm2["id"], port["id"])
    assert eventually(lambda: "eth1" not in lab.guest2.run("ls /sys/class/net").stdout, 30), "eth1 stayed"
    assert lab.cli("port", "show", port["id"])["device_id"] == ""
    lab.cli("port", "delete", port["id"])
    lab.cli("network", "delete", other["id"])


def test_deleting_everything_leaves_nothing_on_the_host(lab: Lab) -> None:
    ids = [lab.net["id"], lab.router["id"]]
    ports = [p["ID"] for p in lab.cli("port", "list", "--network", lab.net["id"])]
    for server in (lab.vm1, lab.vm2):
        lab.cli("server", "delete", server["id"], "--wait")
    for address in (lab.fip1, lab.fip2):
        lab.cli("floating", "ip", "delete", address)
    lab.cli("router", "remove", "subnet", lab.router["id"], lab.subnet["id"])
    lab.cli("router", "delete", lab.router["id"])
    lab.cli("network", "delete", lab.net["id"])
    assert eventually(lambda: not any(i in name for name in namespaces() for i in ids), 20), namespaces()
    short = [p.replace("-", "")[:11] for p in ports] + [lab.net["id"].replace("-", "")[:11]]
    assert not [link for link in host_links() if any(s in link for s in short)]
    dnsmasq = subprocess.run(["pgrep", "-af", "dnsmasq"], capture_output=True, text=True).stdout
    assert lab.net["id"] not in dnsmasq
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    assert not any(i in tables for i in ids)

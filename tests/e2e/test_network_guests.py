"""Real guests on real tenant networks, driven by the real `openstack` CLI as a project member:
two servers on a routed network, one reached from the host through a floating IP over SSH,
the guests reaching each other, the metadata service answering each guest for itself, security
group changes taking effect on running guests, spoofing and other projects getting nothing
through, `--nic auto` in a fresh project, a kill -9 of `updraft` that SSH survives, and a
teardown that leaves nothing on the host. The same two guests carry the block-storage tests:
a volume hot-attached, written, detached and read back in the other guest, grown and
snapshotted while attached, hidden from other projects, capped by quota, and an attach that a
kill -9 interrupts. Runs on the session's cloud (SQLite and PostgreSQL).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import (VENDOR_DATA, Cleanup, Cloud, Factory, SSHGuest, eventually, host_links, module_scratch,
                      namespaces, unique)

pytestmark = [
    pytest.mark.skipif(
        os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("dnsmasq") or not shutil.which("ssh"),
        reason="real tenant networks need root, nft, dnsmasq and an ssh client"),
    pytest.mark.guest_bound,
]

BOOT_DEADLINE = 180.0


def pings(address: str, namespace: str | None = None) -> bool:
    argv = ["ping", "-c", "1", "-W", "1", address]
    if namespace:
        argv = ["ip", "netns", "exec", namespace, *argv]
    return subprocess.run(argv, capture_output=True).returncode == 0


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
        self.guest1 = SSHGuest(self.key, self.fip1)
        self.guest2 = SSHGuest(self.key, self.fip2)
        assert eventually(self.guest1.answers, BOOT_DEADLINE), f"no SSH through {self.fip1}"
        print(f"\ntwo servers created and SSH answering through a floating IP after "
              f"{time.monotonic() - started:.1f} s")
        assert eventually(self.guest2.answers, BOOT_DEADLINE), f"no SSH through {self.fip2}"

    def cli(self, *args: str) -> Any:
        return self.cloud.openstack(*args, env=self.env)

    def cli_fails(self, *args: str) -> str:
        failed = self.cloud.openstack_fails(*args, env=self.env)
        return failed.stderr + failed.stdout

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
    with module_scratch(cloud, "updraft-e2e-guests-") as (cleanup, root):
        yield Lab(cloud, cleanup, root)


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
        # The cloud's vendor data (`serve --vendor-data`), the same for every guest.
        vendor = guest.run(f"wget -q -O - {base}/openstack/latest/vendor_data.json")
        assert json.loads(vendor.stdout) == VENDOR_DATA, vendor
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
        guest = SSHGuest(lab.key, address)
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


# --------------------------------------------------------------------------------------------
# Volumes on the same guests


def volume_status(lab: Lab, volume_id: str) -> str:
    return lab.cli("volume", "show", volume_id)["status"]


def volume_device(guest: SSHGuest, volume_id: str) -> str | None:
    """The guest's disk whose virtio serial is the volume's (its id's first 20 characters, as Nova sets it)."""
    listing = guest.run("for d in /sys/block/vd*; do echo ${d##*/} $(cat $d/serial 2>/dev/null); done").stdout
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1] == volume_id[:20]:
            return parts[0]
    return None


def attach(lab: Lab, server: dict[str, Any], guest: SSHGuest, volume_id: str) -> str:
    """Attaches a volume to a running server and returns the disk the guest sees it as."""
    lab.cli("server", "add", "volume", server["id"], volume_id)
    assert eventually(lambda: volume_status(lab, volume_id) == "in-use", 60), volume_status(lab, volume_id)
    found: list[str] = []
    assert eventually(lambda: bool(found.append(volume_device(guest, volume_id) or "") or found[-1]), 30), \
        "the guest does not see the volume"
    return found[-1]


def detach(lab: Lab, server: dict[str, Any], guest: SSHGuest, volume_id: str) -> None:
    lab.cli("server", "remove", "volume", server["id"], volume_id)
    assert eventually(lambda: volume_status(lab, volume_id) == "available", 90), volume_status(lab, volume_id)
    assert volume_device(guest, volume_id) is None, "the guest still has the disk"


def new_volume(lab: Lab, *args: str) -> dict[str, Any]:
    volume = lab.cli("volume", "create", unique("vol"), *args)
    assert eventually(lambda: volume_status(lab, volume["id"]) == "available", 60), volume_status(lab, volume["id"])
    return volume


def test_a_volume_written_in_one_guest_is_read_back_in_the_other(lab: Lab) -> None:
    volume = new_volume(lab, "--size", "1")
    disk = attach(lab, lab.vm1, lab.guest1, volume["id"])
    size = lab.guest1.run(f"cat /sys/block/{disk}/size").stdout.strip()
    assert size == str(2 * 1024 * 1024), f"a 1 GiB volume shows {size} sectors"
    written = lab.guest1.run(
        f"mke2fs -q /dev/{disk} && mkdir -p /mnt/v && mount -t ext2 /dev/{disk} /mnt/v"
        f" && echo carried-{volume['id']} > /mnt/v/file && sync && umount /mnt/v", timeout=60)
    assert written.returncode == 0, written.stderr + lab.guest1.run(
        "cat /proc/filesystems; lsmod; ls -la /dev/vd* /mnt; dmesg | tail -20").stdout
    server = lab.cli("server", "show", lab.vm1["id"])
    assert volume["id"] in str(server["volumes_attached"])
    detach(lab, lab.vm1, lab.guest1, volume["id"])

    disk = attach(lab, lab.vm2, lab.guest2, volume["id"])
    read = lab.guest2.run(f"mkdir -p /mnt/v && mount -t ext2 /dev/{disk} /mnt/v && cat /mnt/v/file; umount /mnt/v")
    assert read.stdout.strip() == f"carried-{volume['id']}", read.stderr
    lab.data_volume = volume  # type: ignore[attr-defined]
    lab.data_disk = disk  # type: ignore[attr-defined]


def test_an_attached_volume_grows_inside_the_running_guest(lab: Lab) -> None:
    volume, disk = lab.data_volume, lab.data_disk  # type: ignore[attr-defined]
    lab.cli("volume", "set", "--size", "2", volume["id"])
    assert eventually(lambda: lab.cli("volume", "show", volume["id"])["size"] == 2, 60)
    assert volume_status(lab, volume["id"]) == "in-use"
    assert eventually(
        lambda: lab.guest2.run(f"cat /sys/block/{disk}/size").stdout.strip() == str(4 * 1024 * 1024), 30), \
        "the guest does not see the new size"


def test_a_snapshot_of_an_attached_volume_makes_a_volume_with_the_same_file(lab: Lab) -> None:
    volume = lab.data_volume  # type: ignore[attr-defined]
    snapshot = lab.cli("volume", "snapshot", "create", "--volume", volume["id"], "--force", unique("snap"))
    assert eventually(
        lambda: lab.cli("volume", "snapshot", "show", snapshot["id"])["status"] == "available", 60)
    copy = new_volume(lab, "--snapshot", snapshot["id"])
    assert lab.cli("volume", "show", copy["id"])["size"] == 2
    disk = attach(lab, lab.vm1, lab.guest1, copy["id"])
    read = lab.guest1.run(f"mkdir -p /mnt/c && mount -t ext2 /dev/{disk} /mnt/c && cat /mnt/c/file; umount /mnt/c")
    assert read.stdout.strip() == f"carried-{volume['id']}", read.stderr
    detach(lab, lab.vm1, lab.guest1, copy["id"])
    lab.cli("volume", "delete", copy["id"])
    lab.cli("volume", "snapshot", "delete", snapshot["id"])
    assert eventually(lambda: not lab.cli("volume", "snapshot", "list"), 30)


def backup_status(lab: Lab, backup_id: str) -> str:
    return lab.cli("volume", "backup", "show", backup_id)["status"]


def test_backups_of_an_attached_volume_go_to_the_object_store_and_restore_with_the_same_files(lab: Lab) -> None:
    volume, disk = lab.data_volume, lab.data_disk  # type: ignore[attr-defined]
    full = lab.cli("volume", "backup", "create", "--force", "--name", unique("full"), volume["id"])
    assert eventually(lambda: backup_status(lab, full["id"]) == "available", 120), backup_status(lab, full["id"])
    assert volume_status(lab, volume["id"]) == "in-use"
    assert "volumebackups" in [c["Name"] for c in lab.cli("container", "list")]
    wrote = lab.guest2.run(
        f"mount -t ext2 /dev/{disk} /mnt/v && echo later > /mnt/v/second && sync && umount /mnt/v", timeout=60)
    assert wrote.returncode == 0, wrote.stderr
    incremental = lab.cli("volume", "backup", "create", "--force", "--incremental", volume["id"])
    assert eventually(lambda: backup_status(lab, incremental["id"]) == "available", 120), \
        backup_status(lab, incremental["id"])
    shown = {b["id"]: b for b in (lab.cli("volume", "backup", "show", i) for i in (full["id"], incremental["id"]))}
    assert shown[incremental["id"]]["is_incremental"] and shown[full["id"]]["has_dependent_backups"]
    # Only the chunks the new file changed are written again.
    assert shown[incremental["id"]]["object_count"] < shown[full["id"]]["object_count"], shown

    restored = lab.cloud.openstack(
        "volume", "backup", "restore", incremental["id"], unique("restored"), env=lab.env, json_output=True)
    assert eventually(lambda: volume_status(lab, restored["volume_id"]) == "available", 120), \
        volume_status(lab, restored["volume_id"])
    assert backup_status(lab, incremental["id"]) == "available"
    copy = attach(lab, lab.vm1, lab.guest1, restored["volume_id"])
    read = lab.guest1.run(
        f"mkdir -p /mnt/r && mount -t ext2 /dev/{copy} /mnt/r && cat /mnt/r/file /mnt/r/second; umount /mnt/r")
    assert read.stdout.split() == [f"carried-{volume['id']}", "later"], read.stdout + read.stderr
    detach(lab, lab.vm1, lab.guest1, restored["volume_id"])
    lab.cli("volume", "delete", restored["volume_id"])

    failed = lab.cli_fails("volume", "backup", "delete", full["id"])
    assert "Incremental backups exist" in failed, failed
    lab.cli("volume", "backup", "delete", incremental["id"])
    assert eventually(lambda: [b["ID"] for b in lab.cli("volume", "backup", "list")] == [full["id"]], 60)
    lab.cli("volume", "backup", "delete", full["id"])
    assert eventually(lambda: not lab.cli("volume", "backup", "list"), 60)
    assert lab.cli("object", "list", "volumebackups") == [], "a deleted backup left objects behind"


def test_another_project_sees_none_of_the_volumes(cloud: Cloud, lab: Lab) -> None:
    cleanup = Cleanup(cloud.api)
    try:
        user, project = Factory(cloud.api, cleanup).member()
        env = cloud.user_env(user["name"], user["password"], project_name=project["name"])
        assert cloud.openstack("volume", "list", env=env) == []
        assert cloud.openstack("volume", "snapshot", "list", env=env) == []
        failed = cloud.openstack_fails("volume", "show", lab.data_volume["id"], env=env)  # type: ignore[attr-defined]
        assert "No Volume found" in failed.stderr or "could not be found" in failed.stderr, failed.stderr
    finally:
        cleanup.run()


def test_a_volume_past_the_gigabytes_quota_is_refused_with_413_and_not_made(cloud: Cloud, lab: Lab) -> None:
    cloud.openstack("quota", "set", "--gigabytes", "5", lab.project["id"])
    try:
        before = lab.cli("volume", "list")
        failed = lab.cli_fails("volume", "create", "--size", "10", unique("big"))
        assert "413" in failed and "gigabytes quota" in failed, failed
        assert lab.cli("volume", "list") == before
    finally:
        cloud.openstack("quota", "set", "--gigabytes", "1000", lab.project["id"])


def test_a_server_boots_from_a_volume_made_from_the_guest_image(lab: Lab) -> None:
    root = new_volume(lab, "--image", "updraft-tiny", "--size", "2", "--bootable")
    assert lab.cli("volume", "show", root["id"])["bootable"] in ("true", True)
    server = lab.cli("server", "create", unique("bfv"), "--volume", root["id"], "--flavor", lab.flavor["id"],
                     "--network", lab.net["id"], "--security-group", lab.group["id"],
                     "--key-name", lab.keypair["name"], "--wait")
    address = lab.floating(server)
    try:
        assert volume_status(lab, root["id"]) == "in-use"
        shown = lab.cli("server", "show", server["id"])
        assert [v["id"] for v in shown["volumes_attached"]] == [root["id"]]
        guest = SSHGuest(lab.key, address)
        assert eventually(guest.answers, BOOT_DEADLINE), "no SSH into the server booted from volume"
        disk = volume_device(guest, root["id"])
        assert disk == "vda", f"the root volume is {disk}"
        assert guest.run("cat /sys/block/vda/size").stdout.strip() == str(4 * 1024 * 1024)
    finally:
        lab.cli("server", "delete", server["id"], "--wait")
        lab.cli("floating", "ip", "delete", address)
    assert eventually(lambda: volume_status(lab, root["id"]) == "available", 30), volume_status(lab, root["id"])
    lab.cli("volume", "delete", root["id"])


def test_kill_9_during_an_attach_ends_attached_or_available(cloud: Cloud, lab: Lab) -> None:
    assert cloud.server is not None
    volume = new_volume(lab, "--size", "1")
    lab.cli("server", "add", "volume", lab.vm1["id"], volume["id"])
    cloud.server.crash_and_restart()
    assert eventually(lambda: volume_status(lab, volume["id"]) in ("in-use", "available"), 90), \
        volume_status(lab, volume["id"])
    attached = [v["id"] for v in lab.cli("server", "show", lab.vm1["id"])["volumes_attached"]]
    if volume_status(lab, volume["id"]) == "in-use":
        assert attached == [volume["id"]]
        assert eventually(lambda: volume_device(lab.guest1, volume["id"]) is not None, 30)
        detach(lab, lab.vm1, lab.guest1, volume["id"])
    else:
        assert attached == []
    lab.cli("volume", "delete", volume["id"])


def test_deleting_everything_leaves_nothing_on_the_host(lab: Lab) -> None:
    ids = [lab.net["id"], lab.router["id"]]
    ports = [p["ID"] for p in lab.cli("port", "list", "--network", lab.net["id"])]
    for server in (lab.vm1, lab.vm2):
        lab.cli("server", "delete", server["id"], "--wait")
    if hasattr(lab, "data_volume"):
        assert eventually(lambda: volume_status(lab, lab.data_volume["id"]) == "available", 30)
        lab.cli("volume", "delete", lab.data_volume["id"])
        assert eventually(lambda: not lab.cli("volume", "list"), 30)
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

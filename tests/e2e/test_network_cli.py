"""Networking (Neutron v2.0) through the real `openstack` CLI on the session's cloud (SQLite and
PostgreSQL): what a member builds (network, subnet, router with a gateway on `public`, security
group and rules, port, floating IP) appears in the host's namespaces and bridges, Neutron's faults
come back as the CLI expects, and deleting it all leaves nothing behind; `updraft admin
remove-network` removes the rest once a cloud stops. test_network_guests.py boots guests on it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import (DATABASE, Cleanup, Cloud, Factory, UpdraftServer, eventually, free_port, host_links, namespaces,
                      parse_openrc, run_updraft, unique)

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("dnsmasq"),
                                reason="the Linux dataplane needs root, nft and dnsmasq")


def start_networking_cloud(root: Path) -> tuple[UpdraftServer, Cloud]:
    """A cloud of its own (SQLite) next to the session's: its external network on another CIDR,
    so the two gateways on the host never clash."""
    data = root / "data"
    data.mkdir()
    server = UpdraftServer(data, free_port(), root / "server.log", None,
                           extra_args=["--networking", "--external-cidr", "198.19.7.0/24"])
    server.start()
    server.wait_ready()
    return server, Cloud(parse_openrc(data / "admin-openrc.sh"), data_dir=data, server=server)





@pytest.mark.skipif(bool(DATABASE), reason="runs once, on the SQLite pass: its cloud keeps its own store")
def test_stopped_cloud_leaves_nothing_after_remove_network() -> None:
    root = Path(tempfile.mkdtemp(prefix="updraft-e2e-net-"))
    server, cloud = start_networking_cloud(root)
    try:
        net = cloud.openstack("network", "create", unique("net"))
        cloud.openstack("subnet", "create", unique("sub"), "--network", net["id"], "--subnet-range", "10.43.0.0/24")
        public = cloud.openstack("network", "show", "public")
        bridge = "updb" + public["id"].replace("-", "")[:11]
        assert eventually(lambda: bridge in host_links())
        assert eventually(lambda: f"updraft-net-{net['id']}" in namespaces())
    finally:
        server.stop()
        removed = run_updraft("admin", "remove-network", "--data-dir", str(root / "data"))
        shutil.rmtree(root, ignore_errors=True)
    assert removed.returncode == 0, removed.stderr
    assert f"updraft-net-{net['id']}" not in namespaces()
    assert bridge not in host_links()


def test_member_builds_a_routed_network_and_it_reaches_the_host(cloud: Cloud) -> None:
    cleanup = Cleanup(cloud.api)
    try:
        user, project = Factory(cloud.api, cleanup).member()
        env = cloud.user_env(user["name"], user["password"], project_name=project["name"])
        cli = lambda *args: cloud.openstack(*args, env=env)  # noqa: E731

        public = cli("network", "show", "public")
        assert public["router:external"] is True
        net = cli("network", "create", unique("net"))
        subnet = cli("subnet", "create", unique("sub"), "--network", net["id"], "--subnet-range", "10.42.0.0/24")
        assert subnet["gateway_ip"] == "10.42.0.1"
        assert subnet["allocation_pools"] == [{"start": "10.42.0.2", "end": "10.42.0.254"}]
        overlap = cloud.openstack_fails("subnet", "create", unique("sub"), "--network", net["id"],
                                          "--subnet-range", "10.42.0.128/25", env=env)
        assert "overlaps" in overlap.stderr

        router = cli("router", "create", unique("router"))
        cli("router", "set", router["id"], "--external-gateway", "public")
        cli("router", "add", "subnet", router["id"], subnet["id"])
        shown = cli("router", "show", router["id"])
        assert shown["external_gateway_info"]["network_id"] == public["id"]

        group = cli("security", "group", "create", unique("sg"))
        cli("security", "group", "rule", "create", group["id"], "--protocol", "tcp", "--dst-port", "22")
        cli("security", "group", "rule", "create", group["id"], "--protocol", "icmp")
        again = cloud.openstack_fails("security", "group", "rule", "create", group["id"], "--protocol", "icmp",
                                         env=env)
        assert "already exists" in again.stderr

        port = cli("port", "create", unique("port"), "--network", net["id"], "--security-group", group["id"])
        assert port["fixed_ips"][0]["ip_address"] == "10.42.0.3"
        floating = cli("floating", "ip", "create", "public")
        cli("floating", "ip", "set", "--port", port["id"], floating["id"])
        assert cli("floating", "ip", "show", floating["id"])["fixed_ip_address"] == "10.42.0.3"

        # The host carries it: the network's and the router's namespaces, the router answering
        # on its gateway address from the host.
        assert eventually(lambda: f"updraft-net-{net['id']}" in namespaces())
        assert eventually(lambda: f"updraft-router-{router['id']}" in namespaces())
        gateway = shown["external_gateway_info"]["external_fixed_ips"][0]["ip_address"]
        assert eventually(lambda: subprocess.run(["ping", "-c", "1", "-W", "1", gateway],
                                                 capture_output=True).returncode == 0), f"no answer from {gateway}"

        busy = cloud.openstack_fails("router", "remove", "subnet", router["id"], subnet["id"], env=env)
        assert "floating" in busy.stderr.lower()

        cli("floating", "ip", "delete", floating["id"])
        cli("port", "delete", port["id"])
        cli("router", "remove", "subnet", router["id"], subnet["id"])
        cli("router", "unset", "--external-gateway", router["id"])
        cli("router", "delete", router["id"])
        cli("subnet", "delete", subnet["id"])
        cli("network", "delete", net["id"])
        cli("security", "group", "delete", group["id"])
        assert eventually(lambda: f"updraft-net-{net['id']}" not in namespaces())
        assert eventually(lambda: f"updraft-router-{router['id']}" not in namespaces())

        # One call gives the project a ready network (what `server create --nic auto` uses).
        auto = cli("network", "auto", "allocated", "topology", "create", "--or-show")
        assert auto["id"]
        assert cli("network", "show", auto["id"])["name"] == "auto_allocated_network"
        assert cli("network", "auto", "allocated", "topology", "create", "--or-show")["id"] == auto["id"]
        cli("network", "auto", "allocated", "topology", "delete")
        assert eventually(lambda: f"updraft-net-{auto['id']}" not in namespaces())
    finally:
        cleanup.run()

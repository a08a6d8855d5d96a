"""Block storage through the real `openstack` CLI, as project members: a volume handed to another
project with a transfer request, and a volume uploaded to an image that a server then boots
from. The volume tests that need guests (hot attach, extend and snapshot while attached, boot
from volume, kill -9 during an attach) share the two guests of test_network_guests.py.
"""

from __future__ import annotations

from typing import Any, Callable

from conftest import Cloud, Factory, eventually, unique

BOOT_MARKER = "UPDRAFT-GUEST-READY"


def member_cli(cloud: Cloud, make: Factory) -> tuple[Callable[..., Any], Callable[..., Any], dict[str, Any]]:
    """`openstack` as a fresh member of a fresh project, the same failing, and the project."""
    user, project = make.member()
    env = cloud.user_env(user["name"], user["password"], project_name=project["name"])

    def cli(*args: str) -> Any:
        return cloud.openstack(*args, env=env)

    def fails(*args: str) -> str:
        failed = cloud.openstack_fails(*args, env=env)
        return failed.stderr + failed.stdout

    return cli, fails, project


def wait_status(cli: Callable[..., Any], kind: str, ident: str, wanted: str, timeout: float = 60) -> dict[str, Any]:
    shown: dict[str, Any] = {}

    def reached() -> bool:
        shown.update(cli(*kind.split(), "show", ident))
        return shown["status"] == wanted

    assert eventually(reached, timeout, interval=0.5), f"{kind} {ident} is {shown.get('status')}, not {wanted}"
    return shown


def test_a_volume_transfer_moves_the_volume_to_the_project_that_accepts_it(cloud: Cloud, make: Factory) -> None:
    alice, _, _ = member_cli(cloud, make)
    bob, bob_fails, bob_project = member_cli(cloud, make)
    volume = alice("volume", "create", "--size", "1", unique("gift"))
    wait_status(alice, "volume", volume["id"], "available")
    transfer = alice("volume", "transfer", "request", "create", volume["id"], "--name", unique("xfer"))
    assert transfer["auth_key"] and transfer["volume_id"] == volume["id"]
    assert alice("volume", "show", volume["id"])["status"] == "awaiting-transfer"
    assert bob("volume", "transfer", "request", "list") == []

    wrong = bob_fails("volume", "transfer", "request", "accept", "--auth-key", "0000000000000000", transfer["id"])
    assert "400" in wrong or "auth key" in wrong.lower(), wrong
    assert alice("volume", "show", volume["id"])["status"] == "awaiting-transfer"

    bob("volume", "transfer", "request", "accept", "--auth-key", transfer["auth_key"], transfer["id"])
    moved = wait_status(bob, "volume", volume["id"], "available")
    assert moved["os-vol-tenant-attr:tenant_id"] == bob_project["id"]
    assert [v["ID"] for v in bob("volume", "list")] == [volume["id"]]
    assert alice("volume", "list") == []
    bob("volume", "delete", volume["id"])


def test_a_volume_uploaded_to_an_image_boots_a_server(cloud: Cloud, make: Factory) -> None:
    cli, _, _ = member_cli(cloud, make)
    volume = cli("volume", "create", "--image", "updraft-tiny", "--size", "1", unique("golden"))
    wait_status(cli, "volume", volume["id"], "available")
    image = cli("image", "create", "--volume", volume["id"], "--disk-format", "qcow2", unique("from-volume"))
    image_id = image.get("image_id") or image["id"]
    assert eventually(lambda: cli("image", "show", image_id)["status"] == "active", 120, interval=1)
    assert cli("volume", "show", volume["id"])["status"] == "available"

    flavor = cloud.openstack("flavor", "create", unique("vol-tiny"), "--ram", "256", "--vcpus", "1", "--disk", "1")
    server = cli("server", "create", unique("from-upload"), "--image", image_id, "--flavor", flavor["id"],
                 "--nic", "none", "--wait")
    try:
        assert server["status"] == "ACTIVE"
        assert eventually(
            lambda: BOOT_MARKER in cloud.openstack("console", "log", "show", server["id"], json_output=False),
            180, interval=2), "the server booted from the uploaded image never finished booting"
    finally:
        cli("server", "delete", server["id"], "--wait")
        cloud.openstack("flavor", "delete", flavor["id"])
    cli("image", "delete", image_id)
    cli("volume", "delete", volume["id"])

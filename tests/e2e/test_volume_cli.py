"""Block storage through the real `openstack` CLI, as project members: a volume handed to another
project with a transfer request, a volume uploaded to an image that a server then boots from,
and a volume-backed server snapshotted (an image mapping volume snapshots), booted again from
that image, shelved, unshelved and rebuilt. The volume tests that need guests on a network (hot
attach, extend and snapshot while attached, boot from volume, kill -9 during an attach) share the
two guests of test_network_guests.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable

import pytest

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


def qemu_io(path: Path, command: str) -> bool:
    """Runs one qemu-io command on a volume file; a read shares it with the QEMU that may hold it."""
    shared = ["-r", "-U"] if command.startswith("read") else []
    return subprocess.run(["qemu-io", *shared, "-f", "qcow2", "-c", command, str(path)],
                          capture_output=True).returncode == 0


def booted(cloud: Cloud, server_id: str, timeout: float = 180) -> bool:
    return eventually(
        lambda: BOOT_MARKER in cloud.openstack("console", "log", "show", server_id, json_output=False),
        timeout, interval=2)


@pytest.mark.updraft_only
@pytest.mark.skipif(not shutil.which("qemu-io"), reason="writes and reads volume files with qemu-io")
def test_a_volume_backed_server_snapshots_boots_again_shelves_and_rebuilds(cloud: Cloud, make: Factory) -> None:
    assert cloud.data_dir is not None
    cli, fails, _ = member_cli(cloud, make)
    flavor = cloud.openstack("flavor", "create", unique("bfv-tiny"), "--ram", "256", "--vcpus", "1", "--disk", "1")
    root = cli("volume", "create", "--image", "updraft-tiny", "--size", "1", "--bootable", unique("root"))
    data = cli("volume", "create", "--size", "1", unique("data"))
    wait_status(cli, "volume", root["id"], "available")
    wait_status(cli, "volume", data["id"], "available")
    # A mark in the data volume, written before any guest holds it; its copies must carry it.
    volumes = cloud.data_dir / "volumes"
    assert qemu_io(volumes / f"{data['id']}.qcow2", "write -P 0x5a 1M 64k")
    other = cli("image", "create", "--file", "/dev/null", "--disk-format", "raw", unique("other"))
    made: list[str] = []
    server = cli("server", "create", unique("bfv"), "--volume", root["id"], "--block-device",
                 f"uuid={data['id']},source_type=volume,destination_type=volume,delete_on_termination=false",
                 "--flavor", flavor["id"], "--nic", "none", "--wait")
    try:
        assert server["status"] == "ACTIVE"
        assert {v["id"] for v in cli("server", "show", server["id"])["volumes_attached"]} == {root["id"], data["id"]}

        # createImage: a snapshot of each volume and an active image with no data that maps them.
        image = cli("server", "image", "create", server["id"], "--name", unique("snap"), "--wait")
        shown = cli("image", "show", image["id"])
        assert shown["status"] == "active" and shown["size"] == 0 and shown["disk_format"] == "raw"
        properties = shown["properties"]
        assert properties["bdm_v2"] in (True, "True") and properties["root_device_name"] == "/dev/vda"
        mapping = json.loads(properties["block_device_mapping"])
        assert sorted(m["boot_index"] is not None and m["boot_index"] for m in mapping) == [False, 0], mapping
        assert {m["source_type"] for m in mapping} == {"snapshot"}
        snapshots = {s["ID"]: s for s in cli("volume", "snapshot", "list")}
        assert {m["snapshot_id"] for m in mapping} <= snapshots.keys()
        for m in mapping:
            wait_status(cli, "volume snapshot", m["snapshot_id"], "available")

        # Booting that image makes volumes from the snapshots: the root boots, the data is there.
        copy = cli("server", "create", unique("copy"), "--image", image["id"], "--flavor", flavor["id"],
                   "--nic", "none", "--wait")
        try:
            assert copy["status"] == "ACTIVE"
            copied = {v["id"] for v in cli("server", "show", copy["id"])["volumes_attached"]}
            made.extend(copied)
            assert len(copied) == 2 and not copied & {root["id"], data["id"]}
            sources = {cli("volume", "show", v)["snapshot_id"] for v in copied}
            assert sources == {m["snapshot_id"] for m in mapping}
            data_copy = next(v for v in copied if cli("volume", "show", v)["bootable"] in ("false", False))
            assert qemu_io(volumes / f"{data_copy}.qcow2", "read -P 0x5a 1M 64k"), "the data volume's copy lacks the mark"
            assert booted(cloud, copy["id"]), "the server booted from the snapshot image never finished booting"
        finally:
            cli("server", "delete", copy["id"], "--wait")

        # Shelve: no image, offloaded at once, the volumes still attached; unshelve boots it again.
        cli("server", "shelve", server["id"])
        wait_status(cli, "server", server["id"], "SHELVED_OFFLOADED", timeout=120)
        assert cli("volume", "show", root["id"])["status"] == "in-use"
        assert {v["id"] for v in cli("server", "show", server["id"])["volumes_attached"]} == {root["id"], data["id"]}
        cli("server", "unshelve", server["id"])
        wait_status(cli, "server", server["id"], "ACTIVE", timeout=180)
        attached = cli("server", "volume", "list", server["id"])
        assert {a["Volume ID"] for a in attached} == {root["id"], data["id"]}
        assert booted(cloud, server["id"]), "the unshelved server never finished booting"

        # Rebuild with the image its root volume came from keeps the volume; another is refused.
        refused = fails("server", "rebuild", server["id"], "--image", other["id"])
        assert "Unable to rebuild with a different image for a volume-backed server" in refused, refused
        tiny = cli("image", "show", "updraft-tiny")["id"]
        cli("server", "rebuild", server["id"], "--image", tiny, "--wait")
        rebuilt = cli("server", "show", server["id"])
        assert rebuilt["status"] == "ACTIVE"
        assert {v["id"] for v in rebuilt["volumes_attached"]} == {root["id"], data["id"]}
        assert cli("volume", "show", root["id"])["status"] == "in-use"
        cli("image", "delete", image["id"])
    finally:
        cli("server", "delete", server["id"], "--wait")
        cloud.openstack("flavor", "delete", flavor["id"])
        cli("image", "delete", other["id"])
    # The snapshots first: a volume with snapshots is not deleted.
    taken = {m["snapshot_id"] for m in mapping}
    for snapshot in taken:
        cli("volume", "snapshot", "delete", snapshot)
    assert eventually(lambda: not taken & {s["ID"] for s in cli("volume", "snapshot", "list")}, 60, interval=0.5)
    for volume in (root["id"], data["id"], *made):
        wait_status(cli, "volume", volume, "available")
        cli("volume", "delete", volume)

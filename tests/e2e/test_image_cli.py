"""Images (Glance v2) through the real `openstack` CLI and plain HTTP.

Each test creates what it needs (images through the CLI as the user under test; throw-away
users and projects through the identity API) and deletes its images at the end.
"""

from __future__ import annotations

import hashlib
import os
import socket
import struct
import time
import uuid
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest
import requests

from conftest import HTTP_TIMEOUT, Api, Cloud, Factory, unique


def catalog_url(api: Api, service_type: str) -> str:
    """The public endpoint of `service_type` in the admin token's catalog."""
    a = api.cloud.admin
    r = api.password_auth(a["OS_USERNAME"], a["OS_PASSWORD"], project_name=a["OS_PROJECT_NAME"])
    assert r.status_code == 201, r.text
    for entry in r.json()["token"]["catalog"]:
        if entry["type"] == service_type:
            for endpoint in entry["endpoints"]:
                if endpoint["interface"] == "public":
                    return endpoint["url"].rstrip("/")
    raise AssertionError(f"no {service_type} endpoint in the catalog")


class Images:
    """Glance v2 over `requests` with any token; deletes what it was told about at the end."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.url = catalog_url(api, "image") + "/v2"
        self.created: list[str] = []

    def request(self, method: str, path: str, token: str | None = None, **kw: Any) -> requests.Response:
        headers = {"X-Auth-Token": token or self.api.token, **kw.pop("headers", {})}
        return requests.request(method, self.url + path, headers=headers, timeout=HTTP_TIMEOUT, **kw)

    def track(self, image_id: str) -> str:
        self.created.append(image_id)
        return image_id

    def cleanup(self) -> None:
        for image_id in reversed(self.created):
            patch = [{"op": "replace", "path": "/protected", "value": False}]
            self.request("PATCH", f"/images/{image_id}", json=patch,
                         headers={"Content-Type": "application/openstack-images-v2.1-json-patch"})
            self.request("DELETE", f"/images/{image_id}")


@pytest.fixture
def images(api: Api) -> Iterator[Images]:
    i = Images(api)
    yield i
    i.cleanup()


def qcow2_file(path: Path, virtual_size: int, payload: int) -> bytes:
    """A file with a qcow2 header (magic, version 3, size at offset 24) and random bytes after."""
    header = b"QFI\xfb" + struct.pack(">I", 3) + b"\0" * 16 + struct.pack(">Q", virtual_size)
    data = header + b"\0" * (512 - len(header)) + os.urandom(payload)
    path.write_bytes(data)
    return data


def member_env(cloud: Cloud, make: Factory) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
    user, project = make.member()
    env = cloud.user_env(user["name"], user["password"], project_id=project["id"])
    return env, user, project


def create_image(cloud: Cloud, images: Images, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    image = cloud.openstack("image", "create", *args, env=env)
    images.track(image["id"])
    return image


def test_create_with_file_is_active_with_md5_and_save_round_trips(
        cloud: Cloud, images: Images, tmp_path: Path) -> None:
    source = tmp_path / "disk.qcow2"
    data = qcow2_file(source, virtual_size=1 << 30, payload=3 << 20)
    name = unique("img")
    image = create_image(cloud, images, "--file", str(source), "--disk-format", "qcow2",
                         "--container-format", "bare", name)
    shown = cloud.openstack("image", "show", image["id"])
    assert shown["status"] == "active"
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert shown["size"] == len(data)
    assert shown["virtual_size"] == 1 << 30
    assert shown["disk_format"] == "qcow2" and shown["container_format"] == "bare"
    props = shown.get("properties") or {}
    assert props.get("os_hash_algo", shown.get("os_hash_algo")) == "sha512"
    assert props.get("os_hash_value", shown.get("os_hash_value")) == hashlib.sha512(data).hexdigest()
    out = tmp_path / "saved"
    cloud.openstack("image", "save", "--file", str(out), name)
    assert out.read_bytes() == data
    r = images.request("GET", f"/images/{image['id']}/file")
    assert r.status_code == 200 and r.headers["Content-MD5"] == hashlib.md5(data).hexdigest()


def test_list_show_and_filters(cloud: Cloud, images: Images) -> None:
    tag = unique("tag")
    a = create_image(cloud, images, "--disk-format", "raw", "--tag", tag, "--property", "flavour=a",
                     unique("img-a"))
    b = create_image(cloud, images, "--disk-format", "iso", "--tag", tag, unique("img-b"))
    assert cloud.openstack("image", "show", a["name"])["id"] == a["id"]
    listed = cloud.openstack("image", "list", "--tag", tag)
    assert {row["ID"] for row in listed} == {a["id"], b["id"]}
    assert [r["ID"] for r in cloud.openstack("image", "list", "--name", b["name"])] == [b["id"]]
    assert [r["ID"] for r in cloud.openstack("image", "list", "--tag", tag, "--property", "flavour=a")] == [a["id"]]
    assert [r["ID"] for r in cloud.openstack("image", "list", "--tag", tag, "--status", "active",
                                             "--sort", "name:asc")] == [a["id"], b["id"]]
    assert [r["ID"] for r in cloud.openstack("image", "list", "--tag", tag, "--sort", "name:desc")] == [b["id"], a["id"]]
    # Pages of one: the `next` link carries the filters.
    r = images.request("GET", "/images", params={"tag": tag, "limit": 1, "sort": "name:asc"})
    assert r.status_code == 200 and [i["id"] for i in r.json()["images"]] == [a["id"]]
    nxt = r.json()["next"]
    r2 = images.request("GET", nxt[len("/v2"):])
    assert [i["id"] for i in r2.json()["images"]] == [b["id"]] and "next" not in r2.json()
    r = images.request("GET", "/images", params={"tag": tag, "disk_format": "iso"})
    assert [i["id"] for i in r.json()["images"]] == [b["id"]]


def test_set_property_tag_and_unset(cloud: Cloud, images: Images) -> None:
    image = create_image(cloud, images, "--disk-format", "qcow2", unique("img"))
    kernel = str(uuid.uuid4())
    cloud.openstack("image", "set", "--property", "hw_disk_bus=virtio", "--property", f"kernel_id={kernel}",
                    "--tag", "one", "--tag", "two", "--min-ram", "256", image["id"])
    shown = cloud.openstack("image", "show", image["id"])
    assert shown["properties"]["hw_disk_bus"] == "virtio"
    assert shown["properties"]["kernel_id"] == kernel
    assert sorted(shown["tags"]) == ["one", "two"]
    assert shown["min_ram"] == 256
    cloud.openstack("image", "unset", "--property", "hw_disk_bus", "--tag", "one", image["id"])
    shown = cloud.openstack("image", "show", image["id"])
    assert "hw_disk_bus" not in (shown.get("properties") or {})
    assert shown["tags"] == ["two"]
    # Flat on the wire, as Glance writes them.
    raw = images.request("GET", f"/images/{image['id']}").json()
    assert raw["kernel_id"] == kernel and "properties" not in raw


def test_protected_image_cannot_be_deleted(cloud: Cloud, images: Images) -> None:
    image = create_image(cloud, images, "--disk-format", "raw", "--protected", unique("img"))
    p = cloud.openstack_fails("image", "delete", image["id"])
    assert "403" in p.stderr or "Forbidden" in p.stderr, p.stderr
    assert cloud.openstack("image", "show", image["id"])["protected"] is True
    cloud.openstack("image", "set", "--unprotected", image["id"])
    cloud.openstack("image", "delete", image["id"])
    assert cloud.openstack_fails("image", "show", image["id"]).returncode != 0


def test_deactivate_blocks_download_for_non_admins(cloud: Cloud, images: Images, make: Factory,
                                                  tmp_path: Path) -> None:
    env, user, project = member_env(cloud, make)
    source = tmp_path / "raw.img"
    source.write_bytes(os.urandom(64 << 10))
    image = create_image(cloud, images, "--file", str(source), "--disk-format", "raw", unique("img"), env=env)
    cloud.openstack("image", "set", "--deactivate", image["id"])
    assert cloud.openstack("image", "show", image["id"])["status"] == "deactivated"
    token = cloud.api.issue_token(user["name"], user["password"], project_id=project["id"])
    assert images.request("GET", f"/images/{image['id']}/file", token=token).status_code == 403
    assert images.request("GET", f"/images/{image['id']}/file").status_code == 200  # admin
    # Another project cannot (re)activate it; the owner's members can, as in Glance.
    other, other_project = make.member()
    other_token = cloud.api.issue_token(other["name"], other["password"], project_id=other_project["id"])
    assert images.request("POST", f"/images/{image['id']}/actions/reactivate",
                          token=other_token).status_code == 404
    cloud.openstack("image", "set", "--activate", image["id"])
    assert cloud.openstack("image", "show", image["id"])["status"] == "active"
    assert images.request("GET", f"/images/{image['id']}/file", token=token).status_code == 200


def test_sharing_with_a_member_project(cloud: Cloud, images: Images, make: Factory) -> None:
    owner_env, _, _ = member_env(cloud, make)
    member_env_, _, member_project = member_env(cloud, make)
    third_env, _, _ = member_env(cloud, make)
    image = create_image(cloud, images, "--disk-format", "raw", "--shared", unique("img"), env=owner_env)
    cloud.openstack("image", "add", "project", image["id"], member_project["id"], env=owner_env)
    # Pending: shown by id, not listed.
    assert cloud.openstack("image", "show", image["id"], env=member_env_)["id"] == image["id"]
    assert image["id"] not in {r["ID"] for r in cloud.openstack("image", "list", env=member_env_)}
    # Only the member answers for itself.
    p = cloud.openstack_fails("image", "set", "--accept", "--project", member_project["id"], image["id"],
                              env=owner_env)
    assert "403" in p.stderr or "Forbidden" in p.stderr, p.stderr
    cloud.openstack("image", "set", "--accept", image["id"], env=member_env_)
    assert image["id"] in {r["ID"] for r in cloud.openstack("image", "list", env=member_env_)}
    members = cloud.openstack("image", "member", "list", image["id"], env=owner_env)
    assert [(m["Member ID"], m["Status"]) for m in members] == [(member_project["id"], "accepted")]
    # A third project sees nothing of it.
    assert image["id"] not in {r["ID"] for r in cloud.openstack("image", "list", env=third_env)}
    assert cloud.openstack_fails("image", "show", image["id"], env=third_env).returncode != 0
    cloud.openstack("image", "remove", "project", image["id"], member_project["id"], env=owner_env)
    assert cloud.openstack_fails("image", "show", image["id"], env=member_env_).returncode != 0


def test_non_admin_cannot_create_public_image(cloud: Cloud, images: Images, make: Factory) -> None:
    env, _, _ = member_env(cloud, make)
    name = unique("img")
    p = cloud.openstack_fails("image", "create", "--public", "--disk-format", "raw", name, env=env)
    assert "403" in p.stderr or "Forbidden" in p.stderr, p.stderr
    assert cloud.openstack("image", "list", "--name", name) == []
    public = create_image(cloud, images, "--public", "--disk-format", "raw", unique("img"))
    assert cloud.openstack("image", "show", public["id"], env=env)["visibility"] == "public"


def test_private_image_is_invisible_to_another_project(cloud: Cloud, images: Images, make: Factory) -> None:
    owner_env, _, _ = member_env(cloud, make)
    other_env, _, _ = member_env(cloud, make)
    image = create_image(cloud, images, "--private", "--disk-format", "raw", unique("img"), env=owner_env)
    assert image["visibility"] == "private"
    assert image["id"] not in {r["ID"] for r in cloud.openstack("image", "list", env=other_env)}
    assert cloud.openstack_fails("image", "show", image["id"], env=other_env).returncode != 0
    assert cloud.openstack_fails("image", "delete", image["id"], env=other_env).returncode != 0
    assert cloud.openstack("image", "show", image["id"], env=owner_env)["id"] == image["id"]


@pytest.mark.updraft_only
def test_featured_images_come_first_and_only_admins_feature(cloud: Cloud, images: Images,
                                                           make: Factory) -> None:
    env, _, _ = member_env(cloud, make)
    mine = create_image(cloud, images, "--disk-format", "raw", unique("img"), env=env)
    p = cloud.openstack_fails("image", "set", "--property", "updraft_featured=true", mine["id"], env=env)
    assert "403" in p.stderr or "Forbidden" in p.stderr, p.stderr
    featured = create_image(cloud, images, "--public", "--disk-format", "raw",
                            "--property", "updraft_featured=true",
                            "--property", "description=A small test guest", unique("img"))
    create_image(cloud, images, "--public", "--disk-format", "raw", unique("img"))  # newer, not featured
    listed = images.request("GET", "/images").json()["images"]
    assert listed[0]["id"] == featured["id"]
    assert listed[0]["description"] == "A small test guest"


def rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


@pytest.mark.updraft_only
def test_50_mib_upload_streams_in_constant_memory(cloud: Cloud, images: Images, tmp_path: Path) -> None:
    assert cloud.server is not None and cloud.server.proc is not None
    pid = cloud.server.proc.pid
    source = tmp_path / "big.raw"
    digest = hashlib.md5()
    with source.open("wb") as f:
        for _ in range(50):
            chunk = os.urandom(1 << 20)
            digest.update(chunk)
            f.write(chunk)
    r = images.request("POST", "/images", json={"name": unique("big"), "disk_format": "raw",
                                                 "container_format": "bare"})
    assert r.status_code == 201, r.text
    image_id = images.track(r.json()["id"])
    before = rss_kib(pid, "VmRSS")
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    with source.open("rb") as f:
        r = images.request("PUT", f"/images/{image_id}/file", data=f,
                           headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    peak = rss_kib(pid, "VmHWM")
    growth_mib = (peak - before) / 1024
    print(f"\nserver RSS before {before / 1024:.1f} MiB, peak during 50 MiB upload {peak / 1024:.1f} MiB, "
          f"growth {growth_mib:.1f} MiB")
    assert growth_mib < 30, f"RSS grew {growth_mib:.1f} MiB during a 50 MiB upload"
    shown = images.request("GET", f"/images/{image_id}").json()
    assert shown["status"] == "active" and shown["size"] == 50 << 20
    assert shown["checksum"] == digest.hexdigest()


@pytest.mark.updraft_only
def test_client_hanging_up_mid_upload_leaves_image_not_active(cloud: Cloud, images: Images) -> None:
    r = images.request("POST", "/images", json={"name": unique("cut"), "disk_format": "raw",
                                                 "container_format": "bare"})
    image_id = images.track(r.json()["id"])
    url = urlsplit(images.url)
    with socket.create_connection((url.hostname, url.port), timeout=HTTP_TIMEOUT) as s:
        s.sendall((f"PUT {url.path}/images/{image_id}/file HTTP/1.1\r\nHost: {url.netloc}\r\n"
                   f"X-Auth-Token: {images.api.token}\r\nContent-Type: application/octet-stream\r\n"
                   f"Content-Length: {20 << 20}\r\n\r\n").encode())
        for _ in range(4):
            s.sendall(os.urandom(1 << 20))
        time.sleep(0.5)
    # The server notices the hang-up and puts the image back to queued.
    deadline = time.monotonic() + 30
    status = None
    while time.monotonic() < deadline:
        status = images.request("GET", f"/images/{image_id}").json()["status"]
        if status == "queued":
            break
        time.sleep(0.2)
    assert status == "queued"
    assert cloud.data_dir is not None
    leftovers = [p.name for p in (cloud.data_dir / "images").iterdir() if p.name.startswith(image_id)]
    assert leftovers == []
    # And a complete upload afterwards works.
    r = images.request("PUT", f"/images/{image_id}/file", data=b"x" * 1000,
                       headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 204
    assert images.request("GET", f"/images/{image_id}").json()["status"] == "active"

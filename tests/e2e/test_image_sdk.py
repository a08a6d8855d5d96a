"""Images through openstacksdk (`conn.image`), configured only by the cloud's clouds.yaml."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from conftest import unique
from test_identity_sdk import clouds_yaml, conn  # noqa: F401  (fixtures)


def test_sdk_create_upload_download_and_patch(conn, tmp_path: Path) -> None:  # noqa: F811
    data = os.urandom(256 << 10)
    source = tmp_path / "disk.raw"
    source.write_bytes(data)
    image = conn.image.create_image(name=unique("sdk"), filename=str(source), disk_format="raw",
                                    container_format="bare", wait=True, timeout=60)
    try:
        fetched = conn.image.get_image(image.id)
        assert fetched.status == "active"
        assert fetched.checksum == hashlib.md5(data).hexdigest()
        assert fetched.hash_algo == "sha512" and fetched.hash_value == hashlib.sha512(data).hexdigest()
        assert conn.image.download_image(fetched).content == data
        conn.image.update_image(fetched, min_disk=1, e2e_prop="virtio")
        updated = conn.image.get_image(image.id)
        assert updated.min_disk == 1 and updated.properties.get("e2e_prop") == "virtio"
        conn.image.add_tag(updated, "sdk-tag")
        assert "sdk-tag" in conn.image.get_image(image.id).tags
        listed = [i.id for i in conn.image.images(tag="sdk-tag", status="active")]
        assert listed == [image.id]
    finally:
        conn.image.delete_image(image.id, ignore_missing=True)
    assert conn.image.find_image(image.id) is None

"""Object storage survives kill -9: acknowledged objects are intact after a restart, and an
upload cut off by the crash leaves no object, no staged file and no stray blob."""

from __future__ import annotations

import hashlib
import http.client
import os
import time
from pathlib import Path

import pytest
import requests

from conftest import HTTP_TIMEOUT, Api, Cloud, unique


def storage_url(cloud: Cloud, api: Api) -> str:
    project = api.validate(api.token).json()["token"]["project"]["id"]
    assert cloud.server is not None
    return f"http://127.0.0.1:{cloud.server.port}/object-store/v1/AUTH_{project}"


def blob_files(data_dir: Path) -> list[Path]:
    """Published blobs: DATA/objects/<aa>/<id>, staging left out."""
    root = data_dir / "objects"
    return [p for p in root.glob("??/*") if p.is_file()]


def test_kill_9_during_a_large_upload_keeps_every_acknowledged_object(cloud: Cloud, api: Api) -> None:
    if cloud.server is None or cloud.data_dir is None:
        pytest.skip("needs a cloud this run started")
    url = storage_url(cloud, api)
    container = unique("crash")
    headers = {"X-Auth-Token": api.token}
    assert requests.put(f"{url}/{container}", headers=headers, timeout=HTTP_TIMEOUT).status_code == 201
    acknowledged: dict[str, str] = {}
    for index in range(4):
        data = os.urandom(3 * 1024 * 1024 + index)
        r = requests.put(f"{url}/{container}/done-{index}", data=data, headers=headers, timeout=HTTP_TIMEOUT)
        assert r.status_code == 201, r.text
        assert r.headers["ETag"] == hashlib.md5(data).hexdigest()
        acknowledged[f"done-{index}"] = r.headers["ETag"]
    started = time.time()

    # A 256 MiB upload, killed after 48 MiB have been sent.
    assert cloud.server is not None
    conn = http.client.HTTPConnection("127.0.0.1", cloud.server.port, timeout=HTTP_TIMEOUT)
    path = url.split(str(cloud.server.port), 1)[1]
    conn.putrequest("PUT", f"{path}/{container}/partial")
    conn.putheader("X-Auth-Token", api.token)
    conn.putheader("Content-Length", str(256 * 1024 * 1024))
    conn.endheaders()
    chunk = os.urandom(1024 * 1024)
    for _ in range(48):
        conn.send(chunk)
    cloud.server.crash_and_restart()
    conn.close()
    api.forget_token()
    headers = {"X-Auth-Token": api.token}

    listing = requests.get(f"{url}/{container}?format=json", headers=headers, timeout=HTTP_TIMEOUT)
    assert listing.status_code == 200
    names = {entry["name"] for entry in listing.json()}
    assert names == set(acknowledged), f"listed after the crash: {sorted(names)}"
    for name, etag in acknowledged.items():
        r = requests.get(f"{url}/{container}/{name}", headers=headers, timeout=HTTP_TIMEOUT)
        assert r.status_code == 200
        assert hashlib.md5(r.content).hexdigest() == etag, f"{name} changed across the crash"
    head = requests.head(f"{url}/{container}", headers=headers, timeout=HTTP_TIMEOUT)
    assert head.headers["X-Container-Object-Count"] == str(len(acknowledged))
    staging = cloud.data_dir / "objects" / "staging"
    assert list(staging.iterdir()) == [], "the cut-off upload left a staged file"
    stray = [p for p in blob_files(cloud.data_dir) if p.stat().st_mtime >= started]
    assert stray == [], f"the cut-off upload left a blob: {stray}"

    for name in acknowledged:
        requests.delete(f"{url}/{container}/{name}", headers=headers, timeout=HTTP_TIMEOUT)
    requests.delete(f"{url}/{container}", headers=headers, timeout=HTTP_TIMEOUT)

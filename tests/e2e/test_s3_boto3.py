"""Object storage through the S3 API (`/s3`, path-style, Signature V4) with boto3, plain
`requests` for presigned URLs and anonymous reads, and the `swift` CLI on the same objects.

One member user of one throw-away project owns the buckets for the whole module; its EC2
credential is made with `openstack ec2 credentials create` as that user. Every test makes its
own buckets (unique names) and the module fixture empties and deletes them at the end, with
the user and the project. Other users (another project's member, a reader of the same project)
are made per test through the identity API, each with an EC2 credential of its own.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import boto3
import pytest
import requests
from boto3.s3.transfer import TransferConfig
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import HTTP_TIMEOUT, Api, Cleanup, Cloud, Factory, unique
from swiftcli import SWIFT, Swift, md5_file

REGION = "us-east-1"
MiB = 1 << 20


# --------------------------------------------------------------------------------------------
# Helpers


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def error_code(e: ClientError) -> str:
    return e.response.get("Error", {}).get("Code", "")


def status(e: ClientError) -> int:
    return e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)


def fails_with(code: str, http: int, call: Callable[..., Any], *args: Any, **kw: Any) -> ClientError:
    """Run a boto3 call, assert it raises ClientError with this S3 error code and HTTP status."""
    with pytest.raises(ClientError) as info:
        call(*args, **kw)
    e = info.value
    assert (error_code(e), status(e)) == (code, http), (
        f"expected {code} ({http}), got {error_code(e)!r} ({status(e)}): {e.response}")
    return e


def s3_client(endpoint: str, access: str, secret: str, **config: Any) -> Any:
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint, region_name=REGION,
        aws_access_key_id=access, aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                      retries={"max_attempts": 1, "mode": "standard"}, **config))


def catalog_url(api: Api, username: str, password: str, project_id: str, service: str) -> str | None:
    """The public endpoint of `service` in the user's project-scoped token's catalog."""
    r = api.password_auth(username, password, project_id=project_id)
    assert r.status_code == 201, r.text
    for entry in r.json()["token"].get("catalog", []):
        if entry["type"] == service:
            for ep in entry["endpoints"]:
                if ep["interface"] == "public":
                    return ep["url"].rstrip("/")
    return None


def ec2_credential(cloud: Cloud, user: dict[str, Any], project_id: str) -> tuple[str, str]:
    """`openstack ec2 credentials create`, run as the user in the project: (access, secret)."""
    env = cloud.user_env(user["name"], user["password"], project_id=project_id)
    cred = cloud.openstack("ec2", "credentials", "create", env=env)
    assert cred["project_id"] == project_id and cred["user_id"] == user["id"], cred
    return cred["access"], cred["secret"]


def empty_bucket(s3: Any, bucket: str) -> None:
    """Abort its multipart uploads and delete its objects (best effort, for teardown)."""
    try:
        for up in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
            s3.abort_multipart_upload(Bucket=bucket, Key=up["Key"], UploadId=up["UploadId"])
    except ClientError:
        pass
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
    except ClientError:
        pass


# --------------------------------------------------------------------------------------------
# Fixtures


@dataclass
class Owner:
    """The module's member user, its project, its EC2 credential, boto3 client and `swift`."""

    cloud: Cloud
    user: dict[str, Any]
    project: dict[str, Any]
    endpoint: str  # <base>/s3
    access: str
    secret: str
    s3: Any
    swift: Swift
    buckets: list[str] = field(default_factory=list)

    @property
    def project_id(self) -> str:
        return self.project["id"]

    @property
    def base(self) -> str:
        return self.endpoint[: -len("/s3")]

    def client(self, access: str, secret: str, **config: Any) -> Any:
        return s3_client(self.endpoint, access, secret, **config)

    def bucket(self, prefix: str = "b", **kw: Any) -> str:
        """A fresh bucket (created now), emptied and deleted at the end of the module."""
        name = unique(prefix)
        self.buckets.append(name)
        self.s3.create_bucket(Bucket=name, **kw)
        return name


@pytest.fixture(scope="module")
def owner(cloud: Cloud) -> Iterator[Owner]:
    if not SWIFT.exists():
        pytest.fail(f"no swift CLI at {SWIFT}; install python-swiftclient in UPDRAFT_VENV")
    cleanup = Cleanup(cloud.api)
    try:
        factory = Factory(cloud.api, cleanup)
        user, project = factory.member()
        endpoint = catalog_url(cloud.api, user["name"], user["password"], project["id"], "s3")
        if endpoint is None:
            pytest.skip("this cloud's catalog has no s3 endpoint")
        base = cloud.auth_url.rstrip("/")
        base = base[: base.index("/identity")] if "/identity" in base else base
        assert endpoint == f"{base}/s3", (endpoint, base)
        access, secret = ec2_credential(cloud, user, project["id"])
        swift = Swift(cloud.user_env(user["name"], user["password"], project_id=project["id"]))
        o = Owner(cloud, user, project, endpoint, access, secret, s3_client(endpoint, access, secret), swift)
        yield o
        for name in o.buckets:
            empty_bucket(o.s3, name)
            try:
                o.s3.delete_bucket(Bucket=name)
            except ClientError:
                pass
        swift.run("delete", "--all", check=False)
    finally:
        cleanup.run()


@pytest.fixture
def other_user(cloud: Cloud, make: Factory) -> Callable[[str, str | None], tuple[str, str]]:
    """`other_user(role, project_id)`: a fresh user holding `role` on `project_id` (a fresh
    project when None), and its EC2 credential (access, secret) for that project."""

    def new(role: str, project_id: str | None = None) -> tuple[str, str]:
        if project_id is None:
            user, project = make.member(role)
            project_id = project["id"]
        else:
            user = make.user()
            cloud.api.grant(role, user_id=user["id"], project_id=project_id)
        return ec2_credential(cloud, user, project_id)

    return new


# --------------------------------------------------------------------------------------------
# 1. buckets


def test_create_list_head_locate_and_delete_bucket(owner: Owner) -> None:
    s3 = owner.s3
    name = owner.bucket("life")
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    # us-east-1 is the empty LocationConstraint.
    assert s3.get_bucket_location(Bucket=name).get("LocationConstraint") in (None, "")
    # The bucket is a Swift container of the credential's project.
    assert name in owner.swift.list()

    s3.delete_bucket(Bucket=name)
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    fails_with("404", 404, s3.head_bucket, Bucket=name)  # HEAD has no body: botocore names the status
    fails_with("NoSuchBucket", 404, s3.list_objects_v2, Bucket=name)
    fails_with("NoSuchBucket", 404, s3.delete_bucket, Bucket=name)
    fails_with("NoSuchBucket", 404, s3.put_object, Bucket=name, Key="k", Body=b"x")
    # S3's naming rules hold for new buckets: too short, upper case, shaped like an address.
    for bad in ("ab", "Upper-Case-Bucket", "192.168.5.4", "-leading-hyphen"):
        fails_with("InvalidBucketName", 400, s3.create_bucket, Bucket=bad)
        assert bad not in owner.swift.list()


def test_delete_non_empty_bucket_is_bucket_not_empty(owner: Owner) -> None:
    s3 = owner.s3
    name = owner.bucket("full")
    s3.put_object(Bucket=name, Key="keep.txt", Body=b"keep")
    fails_with("BucketNotEmpty", 409, s3.delete_bucket, Bucket=name)
    assert s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert s3.get_object(Bucket=name, Key="keep.txt")["Body"].read() == b"keep"
    s3.delete_object(Bucket=name, Key="keep.txt")
    s3.delete_bucket(Bucket=name)
    fails_with("404", 404, s3.head_bucket, Bucket=name)


# --------------------------------------------------------------------------------------------
# 2. objects


def test_put_get_head_and_delete_object(owner: Owner) -> None:
    s3 = owner.s3
    name = owner.bucket("obj")
    data = os.urandom(100_000)
    put = s3.put_object(Bucket=name, Key="dir/data.bin", Body=data, ContentType="application/x-test",
                        Metadata={"color": "blue", "shape": "round"})
    assert put["ETag"] == f'"{md5(data)}"', put

    got = s3.get_object(Bucket=name, Key="dir/data.bin")
    assert got["Body"].read() == data
    assert got["ETag"] == f'"{md5(data)}"'
    assert got["ContentLength"] == len(data)
    assert got["ContentType"] == "application/x-test"
    assert got["Metadata"] == {"color": "blue", "shape": "round"}

    head = s3.head_object(Bucket=name, Key="dir/data.bin")
    assert head["ContentLength"] == len(data) and head["ETag"] == f'"{md5(data)}"'
    assert head["Metadata"] == {"color": "blue", "shape": "round"}
    assert head["LastModified"].timestamp() <= time.time() + 5

    # An empty object, and a key with characters that need escaping.
    s3.put_object(Bucket=name, Key="empty", Body=b"")
    assert s3.get_object(Bucket=name, Key="empty")["Body"].read() == b""
    odd = "a b/ü+%=&?.txt"
    s3.put_object(Bucket=name, Key=odd, Body=b"odd")
    assert s3.get_object(Bucket=name, Key=odd)["Body"].read() == b"odd"

    s3.delete_object(Bucket=name, Key="dir/data.bin")
    fails_with("NoSuchKey", 404, s3.get_object, Bucket=name, Key="dir/data.bin")
    fails_with("404", 404, s3.head_object, Bucket=name, Key="dir/data.bin")
    # Deleting what is not there is a success in S3.
    assert s3.delete_object(Bucket=name, Key="dir/data.bin")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"]) == sorted(["empty", odd])


def test_content_md5_mismatch_is_bad_digest(owner: Owner) -> None:
    s3 = owner.s3
    name = owner.bucket("md5")
    good = base64.b64encode(hashlib.md5(b"payload").digest()).decode()
    s3.put_object(Bucket=name, Key="ok", Body=b"payload", ContentMD5=good)
    wrong = base64.b64encode(hashlib.md5(b"something else").digest()).decode()
    fails_with("BadDigest", 400, s3.put_object, Bucket=name, Key="bad", Body=b"payload", ContentMD5=wrong)
    fails_with("NoSuchKey", 404, s3.get_object, Bucket=name, Key="bad")


def test_ranged_and_conditional_get(owner: Owner) -> None:
    s3 = owner.s3
    name = owner.bucket("range")
    data = bytes(range(256)) * 40  # 10240 bytes
    etag = s3.put_object(Bucket=name, Key="r.bin", Body=data)["ETag"]

    r = s3.get_object(Bucket=name, Key="r.bin", Range="bytes=10-19")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert r["ContentRange"] == f"bytes 10-19/{len(data)}"
    assert r["ContentLength"] == 10
    assert r["Body"].read() == data[10:20]
    r = s3.get_object(Bucket=name, Key="r.bin", Range="bytes=-5")
    assert r["Body"].read() == data[-5:] and r["ContentRange"] == f"bytes {len(data) - 5}-{len(data) - 1}/{len(data)}"
    r = s3.get_object(Bucket=name, Key="r.bin", Range=f"bytes={len(data) - 3}-")
    assert r["Body"].read() == data[-3:]
    r = s3.get_object(Bucket=name, Key="r.bin", Range="bytes=10000-99999")  # clipped to the end
    assert r["Body"].read() == data[10000:] and r["ContentRange"] == f"bytes 10000-{len(data) - 1}/{len(data)}"
    fails_with("InvalidRange", 416, s3.get_object, Bucket=name, Key="r.bin", Range=f"bytes={len(data)}-")

    assert s3.get_object(Bucket=name, Key="r.bin", IfMatch=etag)["Body"].read() == data
    fails_with("PreconditionFailed", 412, s3.get_object, Bucket=name, Key="r.bin", IfMatch='"0123"')
    fails_with("304", 304, s3.get_object, Bucket=name, Key="r.bin", IfNoneMatch=etag)
    fails_with("304", 304, s3.get_object, Bucket=name, Key="r.bin",
               IfModifiedSince=s3.head_object(Bucket=name, Key="r.bin")["LastModified"])


# --------------------------------------------------------------------------------------------
# 3. listings


LIST_KEYS = ["a.txt", "b/1.txt", "b/2.txt", "b/c/3.txt", "d.txt", "e/4.txt", "f.txt"]


def fill(s3: Any, bucket: str, keys: list[str]) -> None:
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())


def test_list_objects_v2_with_delimiter_and_continuation(owner: Owner) -> None:
    s3 = owner.s3
    name = owner.bucket("lv2")
    fill(s3, name, LIST_KEYS)

    r = s3.list_objects_v2(Bucket=name, Delimiter="/")
    assert [o["Key"] for o in r["Contents"]] == ["a.txt", "d.txt", "f.txt"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["b/", "e/"]
    assert r["KeyCount"] == 5 and r["IsTruncated"] is False
    o = r["Contents"][0]
    assert o["Size"] == len(b"a.txt") and o["ETag"] == f'"{md5(b"a.txt")}"'

    r = s3.list_objects_v2(Bucket=name, Prefix="b/", Delimiter="/")
    assert [o["Key"] for o in r["Contents"]] == ["b/1.txt", "b/2.txt"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["b/c/"]

    # Pages of 2, each continued by its NextContinuationToken, give every key once, in order.
    seen, token, pages = [], None, 0
    while True:
        kw = {"ContinuationToken": token} if token else {}
        r = s3.list_objects_v2(Bucket=name, MaxKeys=2, **kw)
        pages += 1
        assert r["KeyCount"] == len(r.get("Contents", [])) <= 2
        seen += [o["Key"] for o in r.get("Contents", [])]
        if not r["IsTruncated"]:
            assert "NextContinuationToken" not in r
            break
        token = r["NextContinuationToken"]
        assert pages < 10, "the listing never ends"
    assert seen == LIST_KEYS and pages == 4

    # Pages with a delimiter count a common prefix as one entry.
    entries = []
    for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=name, Delimiter="/", PaginationConfig={"PageSize": 2}):
        entries += [o["Key"] for o in page.get("Contents", [])] + [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    assert sorted(entries) == ["a.txt", "b/", "d.txt", "e/", "f.txt"]
    assert len(entries) == 5

    r = s3.list_objects_v2(Bucket=name, StartAfter="b/c/3.txt")
    assert [o["Key"] for o in r["Contents"]] == ["d.txt", "e/4.txt", "f.txt"]


def test_list_objects_v1_with_marker(owner: Owner) -> None:
    s3 = owner.s3
    name = owner.bucket("lv1")
    fill(s3, name, LIST_KEYS)

    seen, marker, pages = [], "", 0
    while True:
        r = s3.list_objects(Bucket=name, MaxKeys=3, Marker=marker)
        pages += 1
        keys = [o["Key"] for o in r.get("Contents", [])]
        seen += keys
        if not r["IsTruncated"]:
            break
        marker = r.get("NextMarker") or keys[-1]  # NextMarker only comes with a delimiter
        assert pages < 10, "the listing never ends"
    assert seen == LIST_KEYS and pages == 3

    r = s3.list_objects(Bucket=name, Delimiter="/", MaxKeys=2)
    assert r["IsTruncated"] is True
    assert [o["Key"] for o in r["Contents"]] == ["a.txt"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["b/"]
    assert r["NextMarker"] == "b/"
    r = s3.list_objects(Bucket=name, Delimiter="/", Marker=r["NextMarker"])
    assert [o["Key"] for o in r["Contents"]] == ["d.txt", "f.txt"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["e/"]
    assert r["IsTruncated"] is False

    r = s3.list_objects(Bucket=name, Prefix="b/", Marker="b/1.txt")
    assert [o["Key"] for o in r["Contents"]] == ["b/2.txt", "b/c/3.txt"]


# --------------------------------------------------------------------------------------------
# 4. multipart


def test_multipart_upload_file_200_mib(owner: Owner, tmp_path: Path) -> None:
    s3 = owner.s3
    name = owner.bucket("mpu")
    size, chunk = 200 * MiB, 16 * MiB
    source = tmp_path / "big.bin"
    whole, part_digests = hashlib.md5(), []
    with source.open("wb") as f:
        written = 0
        while written < size:
            part = os.urandom(min(chunk, size - written))
            whole.update(part)
            part_digests.append(hashlib.md5(part).digest())
            f.write(part)
            written += len(part)
    n = len(part_digests)
    assert n == 13

    config = TransferConfig(multipart_threshold=chunk, multipart_chunksize=chunk, max_concurrency=4)
    s3.upload_file(str(source), name, "big.bin", Config=config)

    head = s3.head_object(Bucket=name, Key="big.bin")
    assert head["ContentLength"] == size
    assert head["ETag"] == f'"{hashlib.md5(b"".join(part_digests)).hexdigest()}-{n}"', head["ETag"]
    assert s3.list_multipart_uploads(Bucket=name).get("Uploads", []) == []

    out = tmp_path / "big.out"
    s3.download_file(name, "big.bin", str(out), Config=config)
    assert md5_file(out) == whole.hexdigest()
    out.unlink()
    source.unlink()


def test_multipart_parts_listing_copy_and_small_part_rule(owner: Owner) -> None:
    s3 = owner.s3
    name = owner.bucket("parts")
    p1, p2 = os.urandom(5 * MiB), os.urandom(1000)
    s3.put_object(Bucket=name, Key="src.bin", Body=p2)
    up = s3.create_multipart_upload(Bucket=name, Key="joined.bin", Metadata={"color": "green"})["UploadId"]
    e1 = s3.upload_part(Bucket=name, Key="joined.bin", UploadId=up, PartNumber=1, Body=p1)["ETag"]
    e2 = s3.upload_part_copy(Bucket=name, Key="joined.bin", UploadId=up, PartNumber=2,
                             CopySource={"Bucket": name, "Key": "src.bin"})["CopyPartResult"]["ETag"]
    assert (e1, e2) == (f'"{md5(p1)}"', f'"{md5(p2)}"')
    parts = s3.list_parts(Bucket=name, Key="joined.bin", UploadId=up)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in parts] == [(1, e1, len(p1)), (2, e2, len(p2))]
    done = s3.complete_multipart_upload(
        Bucket=name, Key="joined.bin", UploadId=up,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    want = hashlib.md5(hashlib.md5(p1).digest() + hashlib.md5(p2).digest()).hexdigest() + "-2"
    assert done["ETag"] == f'"{want}"'
    got = s3.get_object(Bucket=name, Key="joined.bin")
    assert got["Body"].read() == p1 + p2 and got["Metadata"] == {"color": "green"}
    # The listing shows the same S3 ETag, as S3 lists a multipart object.
    listed = {o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket=name).get("Contents", [])}
    assert listed["joined.bin"] == f'"{want}"', listed

    # A part other than the last smaller than 5 MiB: EntityTooSmall.
    up = s3.create_multipart_upload(Bucket=name, Key="small.bin")["UploadId"]
    s1 = s3.upload_part(Bucket=name, Key="small.bin", UploadId=up, PartNumber=1, Body=b"tiny")["ETag"]
    s2 = s3.upload_part(Bucket=name, Key="small.bin", UploadId=up, PartNumber=2, Body=b"tail")["ETag"]
    fails_with("EntityTooSmall", 400, s3.complete_multipart_upload, Bucket=name, Key="small.bin", UploadId=up,
               MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": s1}, {"PartNumber": 2, "ETag": s2}]})
    s3.abort_multipart_upload(Bucket=name, Key="small.bin", UploadId=up)


def test_abort_multipart_upload_removes_it(owner: Owner) -> None:
    s3 = owner.s3
    name = owner.bucket("abort")
    up = s3.create_multipart_upload(Bucket=name, Key="partial.bin")["UploadId"]
    s3.upload_part(Bucket=name, Key="partial.bin", UploadId=up, PartNumber=1, Body=os.urandom(1000))
    uploads = s3.list_multipart_uploads(Bucket=name).get("Uploads", [])
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("partial.bin", up)]

    s3.abort_multipart_upload(Bucket=name, Key="partial.bin", UploadId=up)
    assert s3.list_multipart_uploads(Bucket=name).get("Uploads", []) == []
    fails_with("NoSuchUpload", 404, s3.list_parts, Bucket=name, Key="partial.bin", UploadId=up)
    fails_with("NoSuchKey", 404, s3.get_object, Bucket=name, Key="partial.bin")
    assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0
    # Nothing of the upload is left: the bucket deletes.
    s3.delete_bucket(Bucket=name)


# --------------------------------------------------------------------------------------------
# 5. presigned URLs and anonymous reads


def test_presigned_get_works_until_it_expires(owner: Owner) -> None:
    s3 = owner.s3
    name = owner.bucket("presign")
    data = os.urandom(5000)
    s3.put_object(Bucket=name, Key="shared file.bin", Body=data)

    url = s3.generate_presigned_url("get_object", Params={"Bucket": name, "Key": "shared file.bin"},
                                    ExpiresIn=300)
    assert url.startswith(f"{owner.endpoint}/{name}/") and "X-Amz-Signature=" in url, url
    r = requests.get(url, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, (r.status_code, r.text)
    assert r.content == data
    # The signature covers the key.
    r = requests.get(url.replace("shared%20file.bin", "other.bin"), timeout=HTTP_TIMEOUT)
    assert r.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in r.text, (r.status_code, r.text)

    short = s3.generate_presigned_url("get_object", Params={"Bucket": name, "Key": "shared file.bin"},
                                      ExpiresIn=1)
    time.sleep(2.5)
    r = requests.get(short, timeout=HTTP_TIMEOUT)
    assert r.status_code == 403, (r.status_code, r.text)
    assert "<Code>AccessDenied</Code>" in r.text and "expired" in r.text, r.text


def test_presigned_put_uploads(owner: Owner) -> None:
    s3 = owner.s3
    name = owner.bucket("preput")
    url = s3.generate_presigned_url("put_object", Params={"Bucket": name, "Key": "up.txt"}, ExpiresIn=300)
    r = requests.put(url, data=b"uploaded by url", timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, (r.status_code, r.text)
    assert r.headers["ETag"] == f'"{md5(b"uploaded by url")}"'
    assert s3.get_object(Bucket=name, Key="up.txt")["Body"].read() == b"uploaded by url"
    # A GET URL does not let one PUT.
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": name, "Key": "up.txt"}, ExpiresIn=300)
    r = requests.put(get_url, data=b"overwrite", timeout=HTTP_TIMEOUT)
    assert r.status_code == 403, (r.status_code, r.text)
    assert s3.get_object(Bucket=name, Key="up.txt")["Body"].read() == b"uploaded by url"


def test_public_read_bucket_serves_anonymous_get(owner: Owner) -> None:
    s3 = owner.s3
    public = owner.bucket("pub", ACL="public-read")
    private = owner.bucket("priv")
    data = os.urandom(3000)
    s3.put_object(Bucket=public, Key="pic.bin", Body=data)
    s3.put_object(Bucket=private, Key="pic.bin", Body=data)

    grants = s3.get_bucket_acl(Bucket=public)["Grants"]
    assert {"Permission": "READ", "Grantee": {
        "Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}} in grants, grants

    r = requests.get(f"{owner.base}/s3/{public}/pic.bin", timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, (r.status_code, r.text)
    assert r.content == data and r.headers["ETag"] == f'"{md5(data)}"'
    anon = boto3.session.Session().client(
        "s3", endpoint_url=owner.endpoint, region_name=REGION,
        config=Config(s3={"addressing_style": "path"}, signature_version=UNSIGNED))
    assert anon.get_object(Bucket=public, Key="pic.bin")["Body"].read() == data

    r = requests.get(f"{owner.base}/s3/{private}/pic.bin", timeout=HTTP_TIMEOUT)
    assert r.status_code == 403 and "<Code>AccessDenied</Code>" in r.text, (r.status_code, r.text)
    # Anonymous clients cannot write to the public bucket.
    r = requests.put(f"{owner.base}/s3/{public}/intruder", data=b"x", timeout=HTTP_TIMEOUT)
    assert r.status_code == 403, (r.status_code, r.text)

    # private again: no more anonymous reads.
    s3.put_bucket_acl(Bucket=public, ACL="private")
    assert all(g["Grantee"].get("URI") is None for g in s3.get_bucket_acl(Bucket=public)["Grants"])
    r = requests.get(f"{owner.base}/s3/{public}/pic.bin", timeout=HTTP_TIMEOUT)
    assert r.status_code == 403, (r.status_code, r.text)


# --------------------------------------------------------------------------------------------
# 6. copy, multi-delete


def test_copy_object_keeps_or_replaces_metadata(owner: Owner) -> None:
    s3 = owner.s3
    name = owner.bucket("copy")
    other = owner.bucket("copy2")
    data = os.urandom(20_000)
    s3.put_object(Bucket=name, Key="src", Body=data, ContentType="text/x-src", Metadata={"color": "blue"})

    r = s3.copy_object(Bucket=name, Key="kept", CopySource={"Bucket": name, "Key": "src"})
    assert r["CopyObjectResult"]["ETag"] == f'"{md5(data)}"'
    got = s3.get_object(Bucket=name, Key="kept")
    assert got["Body"].read() == data
    assert got["Metadata"] == {"color": "blue"} and got["ContentType"] == "text/x-src"

    s3.copy_object(Bucket=other, Key="replaced", CopySource={"Bucket": name, "Key": "src"},
                   MetadataDirective="REPLACE", Metadata={"size": "large"}, ContentType="text/x-new")
    got = s3.get_object(Bucket=other, Key="replaced")
    assert got["Body"].read() == data
    assert got["Metadata"] == {"size": "large"} and got["ContentType"] == "text/x-new"

    # The source is untouched; a missing source is NoSuchKey.
    assert s3.head_object(Bucket=name, Key="src")["Metadata"] == {"color": "blue"}
    fails_with("NoSuchKey", 404, s3.copy_object, Bucket=name, Key="x",
               CopySource={"Bucket": name, "Key": "missing"})


def test_delete_objects(owner: Owner) -> None:
    s3 = owner.s3
    name = owner.bucket("multi")
    fill(s3, name, ["k1", "k2", "k3", "keep"])
    r = s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "k1"}, {"Key": "k2"}, {"Key": "k3"},
                                                           {"Key": "never-there"}]})
    assert sorted(d["Key"] for d in r["Deleted"]) == ["k1", "k2", "k3", "never-there"], r
    assert r.get("Errors", []) == []
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"]] == ["keep"]
    r = s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "keep"}], "Quiet": True})
    assert r.get("Deleted", []) == [] and r.get("Errors", []) == [], r
    assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0


# --------------------------------------------------------------------------------------------
# 7. the same objects through Swift


def test_object_put_with_boto3_reads_back_with_swift_cli(owner: Owner, tmp_path: Path) -> None:
    name = owner.bucket("to-swift")
    data = os.urandom(300_000)
    owner.s3.put_object(Bucket=name, Key="dir/from-s3.bin", Body=data, Metadata={"color": "blue"},
                        ContentType="application/x-s3")
    assert owner.swift.list(name) == ["dir/from-s3.bin"]
    out = tmp_path / "from-s3.bin"
    owner.swift.run("download", name, "dir/from-s3.bin", "-o", str(out))
    assert md5_file(out) == md5(data)
    stat = owner.swift.stat(name, "dir/from-s3.bin")
    assert stat["Meta Color"] == "blue", stat
    assert stat["ETag"] == md5(data) and stat["Content Length"] == str(len(data)), stat
    assert stat["Content Type"] == "application/x-s3", stat


def test_object_uploaded_with_swift_reads_back_with_boto3(owner: Owner, tmp_path: Path) -> None:
    container = unique("from-swift")
    owner.buckets.append(container)
    data = os.urandom(200_000)
    (tmp_path / "up.bin").write_bytes(data)
    owner.swift.run("upload", "-H", "X-Object-Meta-Color: red", "-H", "X-Object-Meta-Shape: square",
                    container, "up.bin", cwd=tmp_path)

    # swiftclient adds X-Object-Meta-Mtime (the file's mtime, "%f") to every upload.
    meta = {"color": "red", "shape": "square", "mtime": "%f" % os.path.getmtime(tmp_path / "up.bin")}

    s3 = owner.s3
    assert container in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    got = s3.get_object(Bucket=container, Key="up.bin")
    assert got["Body"].read() == data
    assert got["ETag"] == f'"{md5(data)}"'
    assert got["Metadata"] == meta
    assert s3.head_object(Bucket=container, Key="up.bin")["Metadata"] == meta
    listed = s3.list_objects_v2(Bucket=container)["Contents"]
    assert [(o["Key"], o["Size"], o["ETag"]) for o in listed] == [("up.bin", len(data), f'"{md5(data)}"')]


# --------------------------------------------------------------------------------------------
# 8. signatures and permissions


def test_wrong_secret_is_signature_does_not_match(owner: Owner) -> None:
    name = owner.bucket("sig")
    owner.s3.put_object(Bucket=name, Key="k", Body=b"v")
    wrong = owner.secret[:-1] + ("a" if owner.secret[-1] != "a" else "b")
    bad = owner.client(owner.access, wrong)
    fails_with("SignatureDoesNotMatch", 403, bad.list_buckets)
    fails_with("SignatureDoesNotMatch", 403, bad.get_object, Bucket=name, Key="k")
    fails_with("SignatureDoesNotMatch", 403, bad.put_object, Bucket=name, Key="planted", Body=b"x")
    fails_with("NoSuchKey", 404, owner.s3.get_object, Bucket=name, Key="planted")


def test_unknown_access_key_is_invalid_access_key_id(owner: Owner) -> None:
    name = owner.bucket("akid")
    owner.s3.put_object(Bucket=name, Key="k", Body=b"v")
    stranger = owner.client("AKIA" + os.urandom(8).hex().upper(), owner.secret)
    fails_with("InvalidAccessKeyId", 403, stranger.list_buckets)
    fails_with("InvalidAccessKeyId", 403, stranger.get_object, Bucket=name, Key="k")


def test_another_projects_credential_cannot_read_the_bucket(owner: Owner, other_user: Any) -> None:
    name = owner.bucket("private")
    owner.s3.put_object(Bucket=name, Key="secret.txt", Body=b"secret")
    access, secret = other_user("member")
    theirs = owner.client(access, secret)
    # Their credential works, on their own (empty) project.
    assert name not in [b["Name"] for b in theirs.list_buckets()["Buckets"]]
    # S3 buckets belong to their owner: another account is refused (403 AccessDenied), for
    # every operation; collected first so that a failure shows them all.
    outcomes = {}
    for label, call, kw in (
            ("GetObject", theirs.get_object, {"Key": "secret.txt"}),
            ("HeadBucket", theirs.head_bucket, {}),
            ("ListObjectsV2", theirs.list_objects_v2, {}),
            ("PutObject", theirs.put_object, {"Key": "planted", "Body": b"x"}),
            ("DeleteObject", theirs.delete_object, {"Key": "secret.txt"})):
        try:
            call(Bucket=name, **kw)
            outcomes[label] = "succeeded"
        except ClientError as e:
            outcomes[label] = (error_code(e), status(e))
    # HEAD has no body: botocore names the status as the code.
    assert outcomes == {"GetObject": ("AccessDenied", 403), "HeadBucket": ("403", 403),
                        "ListObjectsV2": ("AccessDenied", 403), "PutObject": ("AccessDenied", 403),
                        "DeleteObject": ("AccessDenied", 403)}, outcomes
    assert [o["Key"] for o in owner.s3.list_objects_v2(Bucket=name)["Contents"]] == ["secret.txt"]


def test_reader_credential_can_get_but_not_put(owner: Owner, other_user: Any) -> None:
    name = owner.bucket("shared")
    owner.s3.put_object(Bucket=name, Key="doc.txt", Body=b"for reading")
    access, secret = other_user("reader", owner.project_id)
    reader = owner.client(access, secret)
    assert name in [b["Name"] for b in reader.list_buckets()["Buckets"]]
    assert reader.get_object(Bucket=name, Key="doc.txt")["Body"].read() == b"for reading"
    assert [o["Key"] for o in reader.list_objects_v2(Bucket=name)["Contents"]] == ["doc.txt"]

    fails_with("AccessDenied", 403, reader.put_object, Bucket=name, Key="new.txt", Body=b"no")
    fails_with("AccessDenied", 403, reader.delete_object, Bucket=name, Key="doc.txt")
    refused = unique("reader")
    owner.buckets.append(refused)  # deleted at the end should the server make it
    fails_with("AccessDenied", 403, reader.create_bucket, Bucket=refused)
    assert [o["Key"] for o in owner.s3.list_objects_v2(Bucket=name)["Contents"]] == ["doc.txt"]

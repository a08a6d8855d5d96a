"""Object storage (Swift v1) through the real `swift` CLI (python-swiftclient), the
`openstack container/object` commands, and plain HTTP where no client reaches (anonymous
reads of a public container, TempURL fetches).

The objects belong to one member user of one throw-away project for the whole module (its
account is emptied and the user and project deleted at the end); every test makes its own
containers and deletes them. Other users (another project's member, a reader of the same
project) are made per test through the identity API.
"""

from __future__ import annotations

import email.utils
import hashlib
import hmac
import os
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from conftest import HTTP_TIMEOUT, Api, Cleanup, Cloud, Factory, unique
from swiftcli import SWIFT, Swift, md5_file

@dataclass
class Owner:
    """The module's member user, its project and its account's storage URL."""

    user: dict[str, Any]
    project: dict[str, Any]
    env: dict[str, str]
    swift: Swift
    storage_url: str
    api: Api

    @property
    def project_id(self) -> str:
        return self.project["id"]

    def token(self) -> str:
        return self.api.issue_token(self.user["name"], self.user["password"], project_id=self.project_id)

    def url(self, *parts: str) -> str:
        return "/".join([self.storage_url, *parts])


def has_object_store(api: Api) -> bool:
    a = api.cloud.admin
    r = api.password_auth(a["OS_USERNAME"], a["OS_PASSWORD"], project_name=a["OS_PROJECT_NAME"],
                          project_domain=a.get("OS_PROJECT_DOMAIN_NAME", "Default"),
                          user_domain=a.get("OS_USER_DOMAIN_NAME", "Default"))
    assert r.status_code == 201, r.text
    return any(e["type"] == "object-store" for e in r.json()["token"].get("catalog", []))


@pytest.fixture(scope="module")
def owner(cloud: Cloud) -> Iterator[Owner]:
    if not SWIFT.exists():
        pytest.fail(f"no swift CLI at {SWIFT}; install python-swiftclient in UPDRAFT_VENV")
    if not has_object_store(cloud.api):
        pytest.skip("this cloud's catalog has no object-store")
    cleanup = Cleanup(cloud.api)
    try:
        factory = Factory(cloud.api, cleanup)
        user, project = factory.member()
        env = cloud.user_env(user["name"], user["password"], project_id=project["id"])
        swift = Swift(env)
        storage_url = ""  # the object-store endpoint of the user's catalog, as `swift auth` prints it
        for line in swift.run("auth").stdout.splitlines():
            if line.startswith("export OS_STORAGE_URL="):
                storage_url = shlex.split(line.partition("=")[2])[0]
        assert storage_url.endswith(f"/AUTH_{project['id']}"), storage_url
        yield Owner(user, project, env, swift, storage_url, cloud.api)
        swift.run("delete", "--all", check=False)
    finally:
        cleanup.run()


@pytest.fixture
def containers(owner: Owner) -> Iterator[Callable[[str], str]]:
    """`containers(prefix)`: a fresh container name, deleted (with its `_segments`) at the end."""
    made: list[str] = []

    def new(prefix: str = "c") -> str:
        name = unique(prefix)
        made.append(name)
        return name

    yield new
    for name in made:
        owner.swift.run("delete", name, check=False)
        owner.swift.run("delete", name + "_segments", check=False)


def make_tree(root: Path) -> dict[str, bytes]:
    """A small tree under root/dir: names relative to root -> contents."""
    files = {
        "dir/a.txt": b"alpha\n",
        "dir/b.bin": os.urandom(70_000),
        "dir/empty": b"",
        "dir/sub/c.txt": b"gamma " * 1000,
        "dir/sub/d.bin": os.urandom(3_000),
        "dir/sub/deeper/e with space.txt": b"epsilon\n",
    }
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def lower_keys(d: dict[str, Any]) -> dict[str, Any]:
    return {k.lower(): v for k, v in d.items()}


def anonymous(method: str, url: str, **kw: Any) -> requests.Response:
    return requests.request(method, url, timeout=HTTP_TIMEOUT, **kw)


def tempurl_target(storage_url: str, signed: str) -> str:
    """Where a `swift tempurl` path (`/v1/AUTH_p/c/o?...`) is requested: the storage URL's
    scheme, host and whatever comes before its `/v1/` (`/object-store` on Updraft)."""
    if signed.startswith("http"):
        return signed
    u = urlsplit(storage_url)
    root = u.path[: u.path.index("/v1/")]
    return f"{u.scheme}://{u.netloc}{root}{signed}"


# --------------------------------------------------------------------------------------------
# 1. containers, a tree of files, listings, downloads, and the openstack CLI agreeing


def test_upload_tree_list_and_download_round_trip(cloud: Cloud, owner: Owner, containers: Callable[[str], str],
                                                  tmp_path: Path) -> None:
    swift = owner.swift
    tree_c, other_c = containers("tree"), containers("other")
    src = tmp_path / "src"
    files = make_tree(src)
    swift.run("post", tree_c)
    cloud.openstack("container", "create", other_c, env=owner.env)

    up = swift.run("upload", tree_c, "dir/", cwd=src)
    assert sorted(up.stdout.splitlines()) == sorted(files), up.stdout

    # Listings: everything (sorted), by prefix (rolled up at a delimiter: the next test).
    assert swift.list(tree_c) == sorted(files)
    assert swift.list(tree_c, "--prefix", "dir/sub/") == sorted(n for n in files if n.startswith("dir/sub/"))
    assert swift.list(tree_c, "--prefix", "dir/sub/deeper/") == ["dir/sub/deeper/e with space.txt"]
    assert swift.list(tree_c, "--prefix", "nothing/") == []
    assert {tree_c, other_c} <= set(swift.list())

    # Every file downloaded matches what went up.
    out = tmp_path / "out"
    swift.run("download", tree_c, "-D", str(out))
    for name, data in files.items():
        assert md5_file(out / name) == hashlib.md5(data).hexdigest(), name

    # The openstack CLI agrees.
    names = {row["Name"] for row in cloud.openstack("container", "list", env=owner.env)}
    assert {tree_c, other_c} <= names
    listed = cloud.openstack("object", "list", "--long", tree_c, env=owner.env)
    assert {row["Name"]: (row["Bytes"], row["Hash"]) for row in listed} == {
        name: (len(data), hashlib.md5(data).hexdigest()) for name, data in files.items()}
    shown = cloud.openstack("object", "show", tree_c, "dir/b.bin", env=owner.env)
    assert shown["object"] == "dir/b.bin" and shown["container"] == tree_c
    assert shown["account"] == f"AUTH_{owner.project_id}"
    assert int(shown["content-length"]) == len(files["dir/b.bin"])
    assert shown["etag"] == hashlib.md5(files["dir/b.bin"]).hexdigest()
    saved = tmp_path / "saved.bin"
    cloud.openstack("object", "save", "--file", str(saved), tree_c, "dir/sub/deeper/e with space.txt",
                    env=owner.env)
    assert saved.read_bytes() == files["dir/sub/deeper/e with space.txt"]
    info = cloud.openstack("container", "show", tree_c, env=owner.env)
    assert info["container"] == tree_c
    assert int(info["object_count"]) == len(files)
    assert int(info["bytes_used"]) == sum(len(d) for d in files.values())
    stat = swift.stat(tree_c)
    assert stat["Objects"] == str(len(files)) and stat["Bytes"] == str(sum(len(d) for d in files.values()))


def test_list_with_delimiter_rolls_up_subdirectories(owner: Owner, containers: Callable[[str], str],
                                                     tmp_path: Path) -> None:
    """`swift list --delimiter` pages with the last entry as the next marker, as every client
    does, until a page comes back empty: a `subdir` equal to the marker must not come again."""
    c = containers("delim")
    make_tree(tmp_path)
    (tmp_path / "top.txt").write_bytes(b"top\n")
    owner.swift.run("upload", c, "dir/", "top.txt", cwd=tmp_path)
    assert owner.swift.list(c, "--prefix", "dir/", "--delimiter", "/") == [
        "dir/a.txt", "dir/b.bin", "dir/empty", "dir/sub/"]
    assert owner.swift.list(c, "--delimiter", "/") == ["dir/", "top.txt"]
    assert owner.swift.list(c, "--prefix", "dir/sub/", "--delimiter", "/") == [
        "dir/sub/c.txt", "dir/sub/d.bin", "dir/sub/deeper/"]


# --------------------------------------------------------------------------------------------
# 2. metadata on objects, containers and the account


def test_metadata_round_trips(cloud: Cloud, owner: Owner, containers: Callable[[str], str],
                              tmp_path: Path) -> None:
    swift = owner.swift
    c = containers("meta")
    (tmp_path / "obj.txt").write_bytes(b"metadata\n")
    swift.run("upload", c, "obj.txt", cwd=tmp_path)

    swift.run("post", "-m", "color:blue", "-m", "Size:large", c, "obj.txt")
    stat = swift.stat(c, "obj.txt")
    assert stat["Meta Color"] == "blue" and stat["Meta Size"] == "large", stat
    assert stat["ETag"] == hashlib.md5(b"metadata\n").hexdigest()

    # A POST to an object replaces its metadata (Swift's rule), whichever client sends it.
    cloud.openstack("object", "set", "--property", "shape=round", c, "obj.txt", env=owner.env)
    stat = swift.stat(c, "obj.txt")
    assert stat["Meta Shape"] == "round" and "Meta Color" not in stat and "Meta Size" not in stat, stat
    assert lower_keys(cloud.openstack("object", "show", c, "obj.txt", env=owner.env)["properties"]) == {
        "shape": "round"}

    # Containers: a POST adds and replaces single keys; an empty value removes one.
    swift.run("post", "-m", "owner:team-a", "-m", "stage:dev", "-m", "temp:x", c)
    swift.run("post", "-m", "stage:prod", "-m", "temp:", c)
    stat = swift.stat(c)
    assert stat["Meta Owner"] == "team-a" and stat["Meta Stage"] == "prod" and "Meta Temp" not in stat, stat
    assert lower_keys(cloud.openstack("container", "show", c, env=owner.env)["properties"]) == {
        "owner": "team-a", "stage": "prod"}

    # The account.
    tier = unique("tier")
    swift.run("post", "-m", f"tier:{tier}")
    try:
        assert swift.stat()["Meta Tier"] == tier
        account = cloud.openstack("object", "store", "account", "show", env=owner.env)
        assert lower_keys(account["properties"])["tier"] == tier
        assert account["Account"] == f"AUTH_{owner.project_id}"
    finally:
        swift.run("post", "-m", "tier:")
    assert "Meta Tier" not in swift.stat()


def test_metadata_names_come_back_title_cased(cloud: Cloud, owner: Owner, containers: Callable[[str], str],
                                              tmp_path: Path) -> None:
    """Swift keeps metadata names as HTTP header names, written Title-Case whatever case they
    were sent in: `openstack ... show` (which keeps a header's case) shows `Color`, not `color`."""
    c = containers("case")
    (tmp_path / "obj.txt").write_bytes(b"case\n")
    owner.swift.run("upload", c, "obj.txt", cwd=tmp_path)
    cloud.openstack("object", "set", "--property", "color=blue", "--property", "BIG-size=x", c, "obj.txt",
                    env=owner.env)
    owner.swift.run("post", "-m", "owner:team-a", c)  # swiftclient sends X-Container-Meta-owner
    assert cloud.openstack("object", "show", c, "obj.txt", env=owner.env)["properties"] == {
        "Color": "blue", "Big-Size": "x"}
    assert cloud.openstack("container", "show", c, env=owner.env)["properties"] == {"Owner": "team-a"}


# --------------------------------------------------------------------------------------------
# 3. large objects: SLO (the default when /info lists slo) and DLO


def test_large_objects_slo_and_dlo(owner: Owner, containers: Callable[[str], str], tmp_path: Path) -> None:
    swift = owner.swift
    c = containers("large")
    segments = c + "_segments"
    source = tmp_path / "big.bin"
    digest = hashlib.md5()
    with source.open("wb") as f:
        for _ in range(64):
            chunk = os.urandom(1 << 20)
            digest.update(chunk)
            f.write(chunk)
    want = digest.hexdigest()

    swift.run("upload", "--segment-size", "16M", c, "big.bin", cwd=tmp_path)
    swift.run("upload", "--segment-size", "16M", "--use-dlo", "--object-name", "big-dlo.bin", c, "big.bin",
              cwd=tmp_path)

    slo = swift.stat(c, "big.bin")
    assert slo.get("X-Static-Large-Object") == "True", slo
    assert slo["Content Length"] == str(64 << 20)
    assert "Manifest" not in slo
    dlo = swift.stat(c, "big-dlo.bin")
    assert dlo["Content Length"] == str(64 << 20), dlo
    assert dlo["Manifest"].startswith(f"{segments}/big-dlo.bin/"), dlo
    assert "X-Static-Large-Object" not in dlo

    segs = swift.list(segments)
    assert len([s for s in segs if s.startswith("big.bin/")]) == 4, segs
    assert len([s for s in segs if s.startswith("big-dlo.bin/")]) == 4, segs
    assert swift.list(c) == ["big-dlo.bin", "big.bin"]

    swift.run("download", c, "big.bin", "-o", str(tmp_path / "slo.out"))
    swift.run("download", c, "big-dlo.bin", "-o", str(tmp_path / "dlo.out"))
    assert md5_file(tmp_path / "slo.out") == want
    assert md5_file(tmp_path / "dlo.out") == want

    # Deleting the SLO takes its segments with it, and only its own.
    swift.run("delete", c, "big.bin")
    segs = swift.list(segments)
    assert [s for s in segs if s.startswith("big.bin/")] == [], segs
    assert len([s for s in segs if s.startswith("big-dlo.bin/")]) == 4, segs
    assert swift.list(c) == ["big-dlo.bin"]
    swift.run("delete", c, "big-dlo.bin")
    assert swift.list(segments) == []


# --------------------------------------------------------------------------------------------
# 4. public read through the container ACL


def test_public_read_acl_lets_anonymous_clients_read(owner: Owner, containers: Callable[[str], str],
                                                     tmp_path: Path) -> None:
    swift = owner.swift
    c = containers("public")
    data = os.urandom(4096)
    (tmp_path / "pic.bin").write_bytes(data)
    swift.run("upload", c, "pic.bin", cwd=tmp_path)
    obj_url, listing_url = owner.url(c, "pic.bin"), owner.url(c)

    assert anonymous("GET", obj_url).status_code == 401
    assert anonymous("GET", listing_url).status_code == 401

    swift.run("post", "-r", ".r:*,.rlistings", c)
    assert swift.stat(c)["Read ACL"] == ".r:*,.rlistings"
    r = anonymous("GET", obj_url)
    assert r.status_code == 200, r.text
    assert r.content == data
    assert r.headers["ETag"].strip('"') == hashlib.md5(data).hexdigest()
    r = anonymous("GET", listing_url)
    assert r.status_code == 200 and r.text.split() == ["pic.bin"], (r.status_code, r.text)
    # Anonymous clients still cannot write.
    assert anonymous("PUT", owner.url(c, "intruder"), data=b"x").status_code == 401
    assert anonymous("DELETE", obj_url).status_code == 401

    # Objects without listings.
    swift.run("post", "-r", ".r:*", c)
    assert anonymous("GET", obj_url).status_code == 200
    assert anonymous("GET", listing_url).status_code == 401

    # And without the ACL, nothing.
    swift.run("post", "-r", "", c)
    assert swift.stat(c)["Read ACL"] == ""
    assert anonymous("GET", obj_url).status_code == 401
    assert swift.list(c) == ["pic.bin"]


def test_public_container_serves_as_a_static_web_site(owner: Owner, containers: Callable[[str], str],
                                                     tmp_path: Path) -> None:
    """Swift's staticweb: index pages, HTML listings of directories, a custom error page, and
    the owner's token still getting the plain API unless it asks for the web view."""
    swift = owner.swift
    c = containers("site")
    site = tmp_path / "site"
    for name, text in {"index.html": "<h1>home</h1>", "docs/index.html": "<h1>docs</h1>",
                       "data/a.csv": "1,2\n", "data/sub/b.csv": "3,4\n", "404error.html": "<h1>lost</h1>"}.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(text)
    swift.run("upload", c, ".", cwd=site)
    swift.run("post", "-r", ".r:*,.rlistings", "-m", "web-index:index.html", "-m", "web-listings:true",
              "-m", "web-error:error.html", c)

    r = anonymous("GET", owner.url(c), allow_redirects=False)
    assert r.status_code == 301 and r.headers["Location"].endswith(f"/{c}/"), (r.status_code, r.headers)
    r = anonymous("GET", owner.url(c) + "/")
    assert r.status_code == 200 and r.text == "<h1>home</h1>", (r.status_code, r.text)
    assert anonymous("GET", owner.url(c, "docs/")).text == "<h1>docs</h1>"
    r = anonymous("GET", owner.url(c, "data"), allow_redirects=False)
    assert r.status_code == 301 and r.headers["Location"].endswith("/data/")
    r = anonymous("GET", owner.url(c, "data/"))
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html"), (r.status_code, r.text)
    assert 'href="./a%2Ecsv"' in r.text and 'href="./sub/"' in r.text and 'href="../"' in r.text, r.text
    r = anonymous("GET", owner.url(c, "missing.html"))
    assert r.status_code == 404 and r.text == "<h1>lost</h1>", (r.status_code, r.text)

    # The owner's token gets the API's listing, and the web view when it asks.
    token = {"X-Auth-Token": owner.token()}
    r = requests.get(owner.url(c), headers=token, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200 and "data/a.csv" in r.text.split(), r.text
    r = requests.get(owner.url(c) + "/", headers={**token, "X-Web-Mode": "true"}, timeout=HTTP_TIMEOUT)
    assert r.text == "<h1>home</h1>"
    # Without the ACL nobody anonymous gets anything, site or not.
    swift.run("post", "-r", "", c)
    assert anonymous("GET", owner.url(c) + "/").status_code == 401
    assert anonymous("GET", owner.url(c, "data/")).status_code == 401


# --------------------------------------------------------------------------------------------
# 5. TempURL


@pytest.fixture
def tempurl_key(owner: Owner) -> Iterator[str]:
    key = unique("key")
    owner.swift.run("post", "-m", f"Temp-URL-Key:{key}")
    yield key
    owner.swift.run("post", "-m", "Temp-URL-Key:", check=False)


def test_tempurl_get_works_until_it_expires(owner: Owner, containers: Callable[[str], str],
                                            tempurl_key: str, tmp_path: Path) -> None:
    swift = owner.swift
    c = containers("temp")
    data = os.urandom(10_000)
    (tmp_path / "o.bin").write_bytes(data)
    swift.run("upload", c, "o.bin", cwd=tmp_path)

    wrong_key = swift.run("tempurl", "GET", "60", f"/v1/AUTH_{owner.project_id}/{c}/o.bin", "not-the-key"
                          ).stdout.strip()
    # Signed over `/v1/AUTH_<p>/c/o`, as swiftclient's docs show, and over the storage URL's
    # own path (`swift tempurl` given the whole URL signs its path and prints the whole URL).
    short = swift.run("tempurl", "GET", "3", f"/v1/AUTH_{owner.project_id}/{c}/o.bin", tempurl_key).stdout.strip()
    assert short.startswith(f"/v1/AUTH_{owner.project_id}/{c}/o.bin?temp_url_sig="), short
    full = swift.run("tempurl", "GET", "3", owner.url(c, "o.bin"), tempurl_key).stdout.strip()
    assert full.startswith(owner.url(c, "o.bin") + "?temp_url_sig="), full
    expires = max(int(parse_qs(urlsplit(u).query)["temp_url_expires"][0]) for u in (short, full))

    for signed in (short, full):
        r = anonymous("GET", tempurl_target(owner.storage_url, signed))
        assert r.status_code == 200, (signed, r.status_code, r.text)
        assert r.content == data
    # The signature covers the method and the object, and needs the right key.
    assert anonymous("GET", tempurl_target(owner.storage_url, wrong_key)).status_code == 401
    assert anonymous("PUT", tempurl_target(owner.storage_url, short), data=b"x").status_code == 401
    other = short.replace("/o.bin?", "/other.bin?")
    assert anonymous("GET", tempurl_target(owner.storage_url, other)).status_code == 401

    time.sleep(max(0.0, expires - time.time()) + 1.5)
    for signed in (short, full):
        r = anonymous("GET", tempurl_target(owner.storage_url, signed))
        assert r.status_code == 401, (signed, r.status_code, r.text)


def test_tempurl_response_hides_metadata_and_is_an_attachment(owner: Owner, containers: Callable[[str], str],
                                                              tempurl_key: str, tmp_path: Path) -> None:
    """What Swift's tempurl middleware does to a 2xx GET (and /info advertises:
    outgoing_remove_headers x-object-meta-*, outgoing_allow_headers x-object-meta-public-*)."""
    swift = owner.swift
    c = containers("temph")
    (tmp_path / "report.txt").write_bytes(b"report\n")
    swift.run("upload", "-H", "X-Object-Meta-Color: blue", "-H", "X-Object-Meta-Public-Note: hello",
              c, "report.txt", cwd=tmp_path)
    info = requests.get(tempurl_target(owner.storage_url, "/info"), timeout=HTTP_TIMEOUT).json()["tempurl"]
    assert "x-object-meta-*" in info["outgoing_remove_headers"]
    assert "x-object-meta-public-*" in info["outgoing_allow_headers"]

    signed = swift.run("tempurl", "GET", "60", f"/v1/AUTH_{owner.project_id}/{c}/report.txt", tempurl_key
                       ).stdout.strip()
    expires = int(parse_qs(urlsplit(signed).query)["temp_url_expires"][0])
    r = anonymous("GET", tempurl_target(owner.storage_url, signed))
    assert r.status_code == 200 and r.content == b"report\n"
    assert r.headers.get("X-Object-Meta-Public-Note") == "hello", dict(r.headers)
    assert "X-Object-Meta-Color" not in r.headers, dict(r.headers)
    assert r.headers.get("Content-Disposition", "").startswith('attachment; filename="report.txt"'), dict(r.headers)
    assert r.headers.get("Expires") == email.utils.formatdate(expires, usegmt=True), dict(r.headers)
    r = anonymous("GET", tempurl_target(owner.storage_url, signed) + "&filename=renamed.txt")
    assert r.headers.get("Content-Disposition", "").startswith('attachment; filename="renamed.txt"')
    r = anonymous("GET", tempurl_target(owner.storage_url, signed) + "&inline")
    assert r.headers.get("Content-Disposition", "").startswith("inline")
    # The owner, with a token, still sees every header.
    assert swift.stat(c, "report.txt")["Meta Color"] == "blue"


def test_formpost_lets_a_browser_upload_without_a_token(owner: Owner, containers: Callable[[str], str],
                                                        tempurl_key: str) -> None:
    """A signed HTML form (Swift's formpost): files land under the path's prefix, the answer
    redirects where the form says, and a form signed with another key stores nothing."""
    c = containers("form")
    owner.swift.run("post", c)
    url = owner.url(c, "uploads/")
    path = urlsplit(url).path

    def form(key: str, redirect: str = "https://example.invalid/done") -> dict[str, str]:
        expires = str(int(time.time()) + 60)
        fields = {"redirect": redirect, "max_file_size": "1048576", "max_file_count": "2", "expires": expires}
        body = "\n".join([path, redirect, fields["max_file_size"], fields["max_file_count"], expires])
        fields["signature"] = hmac.new(key.encode(), body.encode(), hashlib.sha256).hexdigest()
        return fields

    files = [("file1", ("a.txt", b"alpha\n", "text/plain")), ("file2", ("b.bin", os.urandom(70_000), "application/x-b"))]
    r = anonymous("POST", url, data=form(tempurl_key), files=files, allow_redirects=False)
    assert r.status_code == 303, (r.status_code, r.text)
    assert r.headers["Location"] == "https://example.invalid/done?status=201&message=", r.headers
    listed = owner.swift.run("list", c).stdout.split()
    assert listed == ["uploads/a.txt", "uploads/b.bin"], listed
    assert owner.swift.stat(c, "uploads/a.txt")["Content Type"] == "text/plain"
    assert md5_file_bytes(owner, c, "uploads/b.bin") == hashlib.md5(files[1][1][1]).hexdigest()

    r = anonymous("POST", url, data=form("not-the-key", redirect=""), files=[("f", ("c.txt", b"x", "text/plain"))])
    assert r.status_code == 401 and "FormPost: Invalid Signature" in r.text, (r.status_code, r.text)
    assert owner.swift.run("list", c).stdout.split() == listed


def md5_file_bytes(owner: Owner, container: str, name: str) -> str:
    r = requests.get(owner.url(container, name), headers={"X-Auth-Token": owner.token()}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, r.text
    return hashlib.md5(r.content).hexdigest()


# --------------------------------------------------------------------------------------------
# 6. isolation between projects, and a reader of the same project


def test_another_project_is_forbidden(cloud: Cloud, owner: Owner, make: Factory,
                                      containers: Callable[[str], str], tmp_path: Path) -> None:
    c = containers("private")
    (tmp_path / "secret.txt").write_bytes(b"secret\n")
    owner.swift.run("upload", c, "secret.txt", cwd=tmp_path)

    stranger, project = make.member()
    mine = Swift(cloud.user_env(stranger["name"], stranger["password"], project_id=project["id"]))
    assert c not in mine.list()  # their own account is another one
    theirs = mine.with_env(OS_STORAGE_URL=owner.storage_url)  # pointed at the owner's account
    for args in (("list", c), ("download", c, "secret.txt", "-o", "-"), ("stat", c, "secret.txt")):
        p = theirs.fails(*args)
        assert "403" in p.stderr, (args, p.stderr)
    p = theirs.fails("upload", c, "secret.txt", "--object-name", "planted.txt", cwd=tmp_path)
    assert "403" in p.stderr, p.stderr
    p = theirs.fails("delete", c, "secret.txt")
    assert "403" in p.stderr, p.stderr
    assert owner.swift.list(c) == ["secret.txt"]


def test_reader_can_read_but_not_write(cloud: Cloud, owner: Owner, make: Factory,
                                       containers: Callable[[str], str], tmp_path: Path) -> None:
    c = containers("shared")
    (tmp_path / "doc.txt").write_bytes(b"for reading\n")
    owner.swift.run("upload", c, "doc.txt", cwd=tmp_path)

    reader = make.user()
    cloud.api.grant("reader", user_id=reader["id"], project_id=owner.project_id)
    swift = Swift(cloud.user_env(reader["name"], reader["password"], project_id=owner.project_id))
    assert c in swift.list()
    assert swift.list(c) == ["doc.txt"]
    out = tmp_path / "got.txt"
    swift.run("download", c, "doc.txt", "-o", str(out))
    assert out.read_bytes() == b"for reading\n"

    (tmp_path / "new.txt").write_bytes(b"no\n")
    p = swift.fails("upload", c, "new.txt", cwd=tmp_path)
    assert "403" in p.stderr, p.stderr
    p = swift.fails("delete", c, "doc.txt")
    assert "403" in p.stderr, p.stderr
    p = swift.fails("post", "-m", "k:v", c)
    assert "403" in p.stderr, p.stderr
    assert owner.swift.list(c) == ["doc.txt"]
    assert "Meta K" not in owner.swift.stat(c)


# --------------------------------------------------------------------------------------------
# 7. expiry


def test_object_with_delete_after_expires(cloud: Cloud, owner: Owner, containers: Callable[[str], str], tmp_path: Path) -> None:
    swift = owner.swift
    c = containers("expiry")
    (tmp_path / "brief.txt").write_bytes(b"gone soon\n")
    (tmp_path / "stays.txt").write_bytes(b"stays\n")
    swift.run("upload", c, "stays.txt", cwd=tmp_path)
    token = owner.token()
    before = time.time()
    swift.run("upload", "-H", "X-Delete-After: 2", c, "brief.txt", cwd=tmp_path)
    # There until it expires, a second or two: a HEAD at once (another `swift` run takes half
    # a second to start).
    r = requests.head(owner.url(c, "brief.txt"), headers={"X-Auth-Token": token}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200 and r.headers["Content-Length"] == "10", (r.status_code, dict(r.headers))
    delete_at = int(r.headers["X-Delete-At"])
    assert before + 1 <= delete_at <= time.time() + 2, (before, delete_at)

    time.sleep(max(0.0, delete_at - time.time()) + 1.0)
    p = swift.fails("download", c, "brief.txt", "-o", "-")
    assert "not found" in p.stderr or "404" in p.stderr, p.stderr
    p = swift.fails("stat", c, "brief.txt")
    assert "404" in p.stderr, p.stderr
    r = requests.get(owner.url(c, "brief.txt"), headers={"X-Auth-Token": token}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 404, (r.status_code, r.text)

    # Updraft's reaper (every 10 s) takes it out of the listing; Swift's object-expirer runs on
    # its own schedule (300 s by default), when it runs at all.
    if not cloud.is_updraft:
        return
    deadline = time.monotonic() + 20
    listed = swift.list(c)
    while "brief.txt" in listed and time.monotonic() < deadline:
        time.sleep(0.5)
        listed = swift.list(c)
    assert listed == ["stays.txt"]

"""The bad-input stage: every route `updraft serve` registers, fed malformed requests.

Reads the routes from the router itself (`updraft admin routes`), starts a fresh `updraft serve`
(real QEMU driver) on a loopback port, makes a project with a member and a reader and one of each
resource the routes name, then sends each route malformed JSON, wrong types, huge, negative and
fractional numbers, 10,000-character and NUL-bearing strings, over-long and tricky path ids, bad
query values, wrong content types and over-limit bodies, as the admin, the member and the reader; and once
per route a method no HTTP parser knows, which must be a 405 with `Allow`.

It fails on any 5xx, any dropped connection, any 4xx not in the service's fault format, any write
a reader got through, and any change to the resources while every call of a route was refused.
Prints the request count and every finding. Env: UPDRAFT_BIN, BADINPUT_SEED (default 7),
BADINPUT_EXTERNAL_CIDR (default 198.18.10.0/24).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import requests

BIN = os.environ.get("UPDRAFT_BIN") or str(Path(__file__).resolve().parents[2] / ".build/debug/updraft")
SEED = int(os.environ.get("BADINPUT_SEED", "7"))
# Its cloud's external network, on a CIDR no other stage of ./test.sh uses, so it can run beside them.
EXTERNAL_CIDR = os.environ.get("BADINPUT_EXTERNAL_CIDR", "198.18.10.0/24")
WRITE = {"POST", "PUT", "PATCH", "DELETE"}

# Values that are wrong for almost any field, by kind.
BAD_VALUES: list[tuple[str, Any]] = [
    ("huge", 1e300), ("past-int64", 9223372036854775808), ("neg-huge", -1e300), ("negative", -1),
    ("fraction", 0.5), ("int64-max", 9223372036854775807), ("long-string", "x" * 10_000),
    ("nul", "a\u0000b"), ("list", ["x", 1]), ("object", {"k": {"k": []}}), ("bool", True),
    ("empty", ""), ("null", None), ("control", "\u0001\u001f"), ("unicode", "\u202e\ufeff\U0001F600"),
]
FIELDS = [
    "name", "id", "flavorRef", "imageRef", "ram", "vcpus", "disk", "swap", "min_count", "max_count", "size",
    "remaining_uses", "password", "original_password", "description", "enabled", "domain_id", "project_id",
    "user_id", "parent_id", "metadata", "tags", "visibility", "min_disk", "min_ram", "container_format",
    "disk_format", "protected", "user_data", "adminPass", "key_name", "public_key", "type", "roles", "expires_at",
    "length", "rotation", "cores", "instances", "key_pairs", "networks", "secret", "access_rules", "blob",
    "trustor_user_id", "trustee_user_id", "impersonation", "host", "status", "member", "os-flavor-access:is_public",
    "prior_role", "implies", "url", "interface", "region_id", "service_id", "return_reservation_id", "config_drive",
    "accessIPv4", "availability_zone", "locked_reason", "backup_type", "extra_specs", "meta", "server",
]
# Top-level wrappers bodies use, by the last fixed path segment.
WRAPPER = {
    "servers": "server", "flavors": "flavor", "os-keypairs": "keypair", "users": "user", "projects": "project",
    "groups": "group", "roles": "role", "domains": "domain", "regions": "region", "services": "service",
    "endpoints": "endpoint", "credentials": "credential", "application_credentials": "application_credential",
    "trusts": "trust", "policies": "policy", "tokens": "auth", "os-quota-sets": "quota_set", "metadata": "metadata",
    "remote-consoles": "remote_console", "os-aggregates": "aggregate", "os-extra_specs": "extra_specs",
    "password": "user", "members": "member", "tags": "tags", "action": "reboot", "os-services": "service",
    "volumes": "volume", "snapshots": "snapshot", "types": "volume_type", "attachments": "attachment",
    "volume-transfers": "transfer", "os-volume-transfer": "transfer", "os-quota-class-sets": "quota_class_set",
    "extra_specs": "extra_specs", "os-volume_attachments": "volumeAttachment", "accept": "accept",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cloud:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.data = work / "data"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(work / "serve.log", "ab")
        self.proc = subprocess.Popen([BIN, "serve", "--data-dir", str(self.data), "--port", str(self.port),
                                      "--external-cidr", EXTERNAL_CIDR],
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"updraft serve exited with {self.proc.returncode}")
            try:
                if requests.get(self.base + "/identity/v3", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        env = {}
        for line in (self.data / "admin-openrc.sh").read_text().splitlines():
            if line.startswith("export ") and "=" in line:
                k, v = line[len("export "):].split("=", 1)
                env[k] = v.strip("'\"")
        self.admin_password = env["OS_PASSWORD"]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        for pid_file in self.data.glob("instances/*/qemu.pid"):
            try:
                pid = int(pid_file.read_text().strip())
                if f"{self.data}/instances" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"):
                    os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError):
                pass
        # The namespaces, bridges, nftables tables and dnsmasq its networking made.
        subprocess.run([BIN, "admin", "remove-network", "--data-dir", str(self.data)], capture_output=True, timeout=60)

    def token(self, user: str, password: str, project: str) -> str:
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
        r = requests.post(self.base + "/identity/v3/auth/tokens", json=body, timeout=30)
        r.raise_for_status()
        return r.headers["X-Subject-Token"]

    def call(self, method: str, path: str, token: str, body: Any = None, **kw: Any) -> requests.Response:
        headers = {"X-Auth-Token": token, **kw.pop("headers", {})}
        r = requests.request(method, self.base + path, headers=headers, json=body, timeout=60, **kw)
        if r.status_code >= 400:
            raise RuntimeError(f"setup {method} {path}: {r.status_code} {r.text[:300]}")
        return r


def setup(cloud: Cloud) -> tuple[dict[str, str], dict[str, str], str]:
    """Tokens by role, a value for each path parameter kind, and a bootable image id."""
    admin = cloud.token("admin", cloud.admin_password, "admin")
    c = cloud.call
    project = c("POST", "/identity/v3/projects", admin, {"project": {"name": "bad-input", "domain_id": "default"}}).json()["project"]
    roles = {r["name"]: r["id"] for r in c("GET", "/identity/v3/roles", admin).json()["roles"]}
    users = {}
    for role in ("member", "reader"):
        u = c("POST", "/identity/v3/users", admin, {"user": {"name": f"bad-{role}", "domain_id": "default",
                                                              "password": f"pw-{role}-1234"}}).json()["user"]
        c("PUT", f"/identity/v3/projects/{project['id']}/users/{u['id']}/roles/{roles[role]}", admin)
        users[role] = u
    member = cloud.token("bad-member", "pw-member-1234", "bad-input")
    reader = cloud.token("bad-reader", "pw-reader-1234", "bad-input")
    group = c("POST", "/identity/v3/groups", admin, {"group": {"name": "bad-group", "domain_id": "default"}}).json()["group"]
    extra_role = c("POST", "/identity/v3/roles", admin, {"role": {"name": "bad-role"}}).json()["role"]
    services = c("GET", "/identity/v3/services", admin).json()["services"]
    endpoints = c("GET", "/identity/v3/endpoints", admin).json()["endpoints"]
    credential = c("POST", "/identity/v3/credentials", admin, {"credential": {
        "type": "ec2", "user_id": users["member"]["id"], "project_id": project["id"],
        "blob": json.dumps({"access": "bad-access", "secret": "bad-secret"})}}).json()["credential"]
    app = c("POST", f"/identity/v3/users/{users['member']['id']}/application_credentials", member,
            {"application_credential": {"name": "bad-app"}}).json()["application_credential"]
    trust = c("POST", "/identity/v3/OS-TRUST/trusts", member, {"trust": {
        "trustor_user_id": users["member"]["id"], "trustee_user_id": users["reader"]["id"],
        "project_id": project["id"], "impersonation": False, "roles": [{"name": "reader"}]}}).json()["trust"]
    image = c("POST", "/image/v2/images", member, {"name": "bad-image", "disk_format": "qcow2",
                                                   "container_format": "bare", "tags": ["t1"]}).json()
    tiny = c("GET", "/image/v2/images?name=updraft-tiny", admin).json()["images"]
    keypair = c("POST", "/compute/v2.1/os-keypairs", member, {"keypair": {"name": "bad-key"}}).json()["keypair"]
    server = None
    if tiny:
        server = c("POST", "/compute/v2.1/servers", member, {"server": {
            "name": "bad-vm", "imageRef": tiny[0]["id"], "flavorRef": "42", "metadata": {"k": "v"},
            "networks": "none"}}, headers={"OpenStack-API-Version": "compute 2.37"}).json()["server"]
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            s = c("GET", f"/compute/v2.1/servers/{server['id']}", member).json()["server"]
            if s["status"] in ("ACTIVE", "ERROR"):
                break
            time.sleep(1)
    volume = c("POST", f"/volume/v3/{project['id']}/volumes", member, {"volume": {"name": "bad-vol", "size": 1}}).json()["volume"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if c("GET", f"/volume/v3/{project['id']}/volumes/{volume['id']}", member).json()["volume"]["status"] == "available":
            break
        time.sleep(0.5)
    snap = c("POST", f"/volume/v3/{project['id']}/snapshots", member,
             {"snapshot": {"volume_id": volume["id"], "name": "bad-snap"}}).json()["snapshot"]
    vtype = c("GET", f"/volume/v3/{project['id']}/types/default", member).json()["volume_type"]
    ids = {
        "v3": project["id"], "volumes": volume["id"], "snapshots": snap["id"], "types": vtype["id"],
        "attachments": str(uuid.uuid4()), "volume-transfers": str(uuid.uuid4()), "os-volume-transfer": str(uuid.uuid4()),
        "os-hosts": "updraft@local", "capabilities": "updraft@local", "os-quota-class-sets": "default",
        "projects": project["id"], "users": users["member"]["id"], "groups": group["id"], "roles": extra_role["id"],
        "domains": "default", "regions": "RegionOne", "services": services[0]["id"], "endpoints": endpoints[0]["id"],
        "credentials": credential["id"], "application_credentials": app["id"], "trusts": trust["id"],
        "images": image["id"], "members": project["id"], "servers": server["id"] if server else uuid.uuid4().hex,
        "flavors": "42", "os-keypairs": keypair["name"], "os-quota-sets": project["id"], "os-hypervisors": "1",
        "tags": "t1", "metadata": "k", "os-extra_specs": "k", "user": users["member"]["id"],
        "role": roles["reader"], "implied": roles["reader"], "member": project["id"], "key": "k", "tag": "t1",
        "rule": uuid.uuid4().hex, "access_rules": uuid.uuid4().hex, "cred": credential["id"],
        "os-instance-actions": "req-" + uuid.uuid4().hex, "os-aggregates": "1", "os-services": "1",
    }
    # No quota left: a body that is still valid after a mutation creates no server.
    for project_id in (project["id"], c("GET", "/identity/v3/projects?name=admin", admin).json()["projects"][0]["id"]):
        c("PUT", f"/compute/v2.1/os-quota-sets/{project_id}", admin, {"quota_set": {"instances": 0}})
    return {"admin": admin, "member": member, "reader": reader}, ids, tiny[0]["id"] if tiny else image["id"]


def concrete(path: str, ids: dict[str, str], override: str | None = None) -> str:
    """The route's path with each capture filled from the segment before it (or `override`)."""
    parts = path.strip("/").split("/")
    out: list[str] = []
    for i, part in enumerate(parts):
        if part.startswith(":") or (part.startswith("{") and part.endswith("}")):
            name = part.strip(":{}")
            value = ids.get(parts[i - 1] if i else "", ids.get(name, uuid.uuid4().hex))
            out.append(override if override is not None else value)
        elif part == "*" or part == "**":
            out.append(override or "x")
        else:
            out.append(part)
    return "/" + "/".join(out)


def wrapper(path: str) -> str:
    fixed = [p for p in path.strip("/").split("/") if not p.startswith(":") and not p.startswith("{")]
    return WRAPPER.get(fixed[-1] if fixed else "", "body")


def templates(ids: dict[str, str], image: str) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """A valid body for the routes that create or change things, so that one broken field at a
    time reaches the validation behind the required ones. Quotas are at 0, so a body that is
    still valid creates no server."""
    return {
        ("POST", "/compute/v2.1/flavors"): [{"flavor": {"name": "fz-flavor", "ram": 64, "vcpus": 1, "disk": 1}}],
        ("POST", "/compute/v2.1/servers"): [{"server": {"name": "fz-vm", "imageRef": image, "flavorRef": "42",
                                                        "min_count": 1, "user_data": "IyE=", "metadata": {"a": "b"}}}],
        ("POST", "/compute/v2.1/os-keypairs"): [{"keypair": {"name": "fz-key", "type": "ssh"}}],
        ("PUT", "/compute/v2.1/os-quota-sets/{id}"): [{"quota_set": {"cores": 20, "ram": 1024}}],
        ("PUT", "/compute/v2.1/servers/{id}"): [{"server": {"name": "bad-vm"}}],
        ("POST", "/compute/v2.1/servers/{id}/metadata"): [{"metadata": {"k": "v"}}],
        ("POST", "/compute/v2.1/servers/{id}/action"): [
            {"os-getConsoleOutput": {"length": 5}}, {"resize": {"flavorRef": "84"}},
            {"createBackup": {"name": "fz", "backup_type": "daily", "rotation": 1}}, {"reboot": {"type": "SOFT"}}],
        ("POST", "/identity/v3/users"): [{"user": {"name": "fz-user", "domain_id": "default", "password": "pw-fz"}}],
        ("POST", "/identity/v3/projects"): [{"project": {"name": "fz-project", "domain_id": "default"}}],
        ("POST", "/identity/v3/groups"): [{"group": {"name": "fz-group", "domain_id": "default"}}],
        ("POST", "/identity/v3/roles"): [{"role": {"name": "fz-role"}}],
        ("POST", "/identity/v3/domains"): [{"domain": {"name": "fz-domain"}}],
        ("POST", "/identity/v3/regions"): [{"region": {"id": "fz-region"}}],
        ("POST", "/identity/v3/credentials"): [{"credential": {
            "type": "ec2", "user_id": ids["users"], "project_id": ids["projects"], "blob": "{\"access\": \"a\"}"}}],
        ("POST", "/identity/v3/OS-TRUST/trusts"): [{"trust": {
            "trustor_user_id": ids["users"], "trustee_user_id": ids["user"], "project_id": ids["projects"],
            "impersonation": False, "remaining_uses": 3, "roles": [{"name": "reader"}]}}],
        ("POST", "/identity/v3/users/{id}/application_credentials"): [
            {"application_credential": {"name": "fz-app", "roles": [{"name": "reader"}]}}],
        ("PATCH", "/identity/v3/users/{id}"): [{"user": {"description": "fz"}}],
        ("PATCH", "/identity/v3/projects/{id}"): [{"project": {"description": "fz"}}],
        ("POST", "/image/v2/images"): [{"name": "fz-image", "disk_format": "qcow2", "container_format": "bare",
                                        "min_ram": 0, "min_disk": 0}],
        ("POST", "/image/v2/images/{id}/members"): [{"member": ids["projects"]}],
    }


def systematic(method: str, path: str, bodies: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """From each valid body: every field it has broken in turn (huge, negative, fractional, long,
    NUL, wrong type, missing), and every field of FIELDS added as a number no integer holds (the
    class of trap that once ended the cloud)."""
    out: list[tuple[str, dict[str, Any]]] = []
    for body in bodies:
        key = next(iter(body)) if len(body) == 1 and isinstance(next(iter(body.values())), dict) else None
        inner = body[key] if key else body

        def wrap(fields: dict[str, Any]) -> dict[str, Any]:
            return {key: fields} if key else fields
        for field in inner:
            for label, value in [("huge", 1e300), ("past-int64", 9223372036854775808), ("negative", -1),
                                 ("fraction", 0.5), ("long", "x" * 10_000), ("nul", "a\u0000b"), ("list", []),
                                 ("object", {}), ("bool", True), ("null", None)]:
                out.append((f"{key}.{field}={label}", {"json": wrap({**inner, field: value})}))
            out.append((f"{key}.{field} missing", {"json": wrap({k: v for k, v in inner.items() if k != field})}))
        for field in FIELDS:
            if field not in inner:
                out.append((f"{key}.{field}=1e300 added", {"json": wrap({**inner, field: 1e300})}))
    return out


def mutations(method: str, path: str, rng: random.Random) -> list[tuple[str, dict[str, Any]]]:
    """(label, requests kwargs) for one route."""
    key = wrapper(path)
    out: list[tuple[str, dict[str, Any]]] = []
    json_header = {"Content-Type": "application/json"}
    if method in ("POST", "PUT", "PATCH"):
        raw = [("truncated-json", b'{"' + key.encode() + b'": {"name": '), ("not-json", b"hello"),
               ("non-utf8", b'{"' + key.encode() + b'": {"name": "\xff\xfe"}}'), ("empty", b""),
               ("deep", b"[" * 5000 + b"]" * 5000), ("top-list", b"[]"), ("top-null", b"null"),
               ("top-string", b'"x"'), ("top-number", b"1e999"), ("over-limit", b'{"x": "' + b"y" * (3 << 20) + b'"}')]
        for label, data in raw:
            out.append((label, {"data": data, "headers": json_header}))
        valid_ish = json.dumps({key: {"name": "bad-input-probe"}}).encode()
        for ctype in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
            out.append((f"content-type {ctype}", {"data": valid_ish, "headers": {"Content-Type": ctype}}))
        out.append(("wrapper-wrong-type", {"json": {key: "x"}}))
        out.append(("extra-fields", {"json": {key: {"zzz_unknown": 1}, "zzz_top": True}}))
        for _ in range(22):
            field = rng.choice(FIELDS)
            label, value = rng.choice(BAD_VALUES)
            out.append((f"{field}={label}", {"json": {key: {field: value}}}))
        if key == "auth":
            out.append(("auth-numbers", {"json": {"auth": {"identity": {"methods": ["password"], "password": {
                "user": {"name": 1e300, "password": ["x"], "domain": {"id": 5}}}}}}}))
    else:
        for label, query in [("limit=-1", "limit=-1"), ("limit=huge", "limit=99999999999999999999999"),
                             ("limit=fraction", "limit=0.5"), ("marker=long", "marker=" + "m" * 10_000),
                             ("sort=bad", "sort_key=%00&sort_dir=sideways"), ("utf8", "name=%ff%fe"),
                             ("changes-since", "changes-since=99999-99-99T99:99:99Z")]:
            out.append((label, {"query": query}))
    return out


def fault_ok(path: str, r: requests.Response) -> bool:
    """Whether a 4xx answer is in the fault format of the service the path belongs to."""
    if r.request.method == "HEAD":
        return True  # a HEAD answer has no body, by HTTP
    if r.status_code in (401, 403, 404, 405) and not r.content and path.startswith("/image"):
        return False
    if path.startswith("/identity"):
        try:
            error = r.json()["error"]
            return {"code", "title", "message"} <= set(error)
        except (ValueError, KeyError, TypeError):
            return False
    if path.startswith("/compute") or path.startswith("/volume"):
        try:
            body = r.json()
            (name, fault), = body.items()
            return isinstance(fault, dict) and "message" in fault and "code" in fault
        except (ValueError, TypeError, AttributeError):
            return False
    if path.startswith("/image"):
        return bool(r.content) and r.headers.get("Content-Type", "").split(";")[0] in (
            "text/plain", "text/html", "application/json")
    return bool(r.content)


def snapshot(cloud: Cloud, token: str, ids: dict[str, str]) -> str:
    """What the refused calls must not change, as canonical text."""
    paths = ["/identity/v3/projects", "/identity/v3/users", "/identity/v3/groups", "/identity/v3/roles",
             "/identity/v3/domains", "/identity/v3/credentials", "/identity/v3/OS-TRUST/trusts",
             "/identity/v3/role_assignments", f"/identity/v3/users/{ids['users']}/application_credentials",
             "/identity/v3/regions", "/identity/v3/services", "/identity/v3/endpoints",
             "/image/v2/images?limit=1000", "/compute/v2.1/flavors/detail?is_public=None",
             "/compute/v2.1/servers/detail?all_tenants=1", f"/compute/v2.1/os-quota-sets/{ids['projects']}",
             f"/compute/v2.1/os-keypairs?user_id={ids['users']}", f"/image/v2/images/{ids['images']}/members"]
    volatile = {"updated_at", "updated", "OS-EXT-STS:power_state", "progress", "links", "OS-SRV-USG:launched_at",
                "last_active_at", "OS-EXT-STS:task_state", "status", "OS-EXT-STS:vm_state", "fault"}

    def clean(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: clean(x) for k, x in sorted(v.items()) if k not in volatile}
        if isinstance(v, list):
            return sorted((clean(x) for x in v), key=lambda x: json.dumps(x, sort_keys=True))
        return v
    out = {}
    for p in paths:
        r = requests.get(cloud.base + p, headers={"X-Auth-Token": token}, timeout=60)
        out[p] = clean(r.json()) if r.ok else r.status_code
    return json.dumps(out, sort_keys=True)


class Died(Exception):
    """updraft serve is gone: nothing more can be asked."""


def main() -> int:
    rng = random.Random(SEED)
    # `METHOD /path access`: the access each route names is checked by the unit tests.
    routes = [line.split(" ")[:2] for line in subprocess.run(
        [BIN, "admin", "routes"], check=True, capture_output=True, text=True).stdout.splitlines() if " " in line]
    work = Path(tempfile.mkdtemp(prefix="updraft-badinput."))
    cloud = Cloud(work)
    findings: list[str] = []
    count = 0
    by_service: Counter[str] = Counter()
    # One kept-alive connection for the stage's requests (a new one each took about half its time).
    http = requests.Session()
    try:
        tokens, ids, image = setup(cloud)
        bodies = templates(ids, image)
        missing = [f"{m} {p}" for (m, p) in bodies if [m, p] not in routes]
        if missing:
            findings.append(f"template for a route the server does not have: {missing}")
        for method, path in routes:
            if path in ("/metrics",):
                continue
            before = snapshot(cloud, tokens["admin"], ids)
            any_accepted = False
            cases = mutations(method, path, rng)
            targets = [concrete(path, ids)]
            if ":" in path or "{" in path:
                targets += [concrete(path, ids, "i" * 10_000), concrete(path, ids, "..%2F..%2Fetc"),
                            concrete(path, ids, "%00"), concrete(path, ids, "%ff%fe")]
            for role, token in tokens.items():
                for target in targets:
                    batch = cases + systematic(method, path, bodies.get((method, path), []))
                    for label, kw in (batch if target == targets[0] else [("path", {})]):
                        # Valid DELETEs are only sent as the reader: as the others they would succeed.
                        if method == "DELETE" and role != "reader" and target == targets[0]:
                            continue
                        kw = dict(kw)
                        headers = {"X-Auth-Token": token, **kw.pop("headers", {})}
                        query = kw.pop("query", None)
                        url = cloud.base + target + (("?" + query) if query else "")
                        count += 1
                        by_service[path.split("/")[1]] += 1
                        try:
                            r = http.request(method, url, headers=headers, timeout=60, **kw)
                        except requests.RequestException as e:
                            findings.append(f"dropped: {role} {method} {path} [{label}]: {type(e).__name__}")
                            if not cloud.alive():
                                findings.append(f"updraft serve died after {role} {method} {path} [{label}]")
                                raise Died()
                            continue
                        where = f"{role} {method} {path} [{label}] -> {r.status_code}"
                        if r.status_code >= 500:
                            findings.append(f"5xx: {where}: {r.text[:200]}")
                        elif r.status_code >= 400 and not fault_ok(path, r):
                            findings.append(f"fault format: {where}: {r.text[:120]!r}")
                        elif r.status_code < 400:
                            any_accepted = True
                            # Glance reads no body on its tag routes, whatever its type (as Glance does).
                            if label.startswith("content-type") and "/tags/" not in path:
                                findings.append(f"accepted a wrong content type: {where}")
                            # Key pairs belong to the user, not the project: Nova lets any user keep their own.
                            if role == "reader" and method in WRITE and target == targets[0] and "os-keypairs" not in path:
                                findings.append(f"reader wrote: {where}")
            # A method no HTTP parser knows: 405 with Allow, in the path's fault format.
            count += 1
            by_service[path.split("/")[1]] += 1
            try:
                r = http.request("FOO", cloud.base + targets[0], headers={"X-Auth-Token": tokens["admin"]},
                                 timeout=60)
                if r.status_code != 405 or "Allow" not in r.headers or not fault_ok(path, r):
                    findings.append(f"unknown method: FOO {path} -> {r.status_code} {r.text[:120]!r}")
            except requests.RequestException as e:
                findings.append(f"dropped: FOO {path}: {type(e).__name__}")
            after = snapshot(cloud, tokens["admin"], ids)
            if before != after and not any_accepted:
                findings.append(f"changed while refused: {method} {path}")
    except Died:
        pass
    finally:
        cloud.stop()
        log = work / "serve.log"
        if findings and log.exists():
            shutil.copy(log, Path(os.environ.get("BADINPUT_LOG", "/tmp/updraft-badinput-serve.log")))
        shutil.rmtree(work, ignore_errors=True)
    kinds = Counter(f.split(":", 1)[0] for f in findings)
    print(f"bad-input stage: {count} requests over {len(routes)} routes "
          f"({', '.join(f'{k} {v}' for k, v in sorted(by_service.items()))}); "
          f"{len(findings)} findings {dict(kinds)}")
    for f in findings:
        print("  " + f)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())

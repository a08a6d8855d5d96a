"""End-to-end fixtures: a real `updraft serve` (or an existing cloud) and the real clients.

The session fixture `cloud` either starts `updraft serve` on a fresh temp data dir and a free
loopback port, or -- when UPDRAFT_TEST_OPENRC names an openrc file -- uses that existing cloud
(e.g. a real Keystone) and starts nothing, so the same tests can prove themselves against the
reference implementation. See README.md in this folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
OPENRC = os.environ.get("UPDRAFT_TEST_OPENRC") or None
UPDRAFT_BIN = Path(os.environ.get("UPDRAFT_BIN") or REPO / ".build" / "debug" / "updraft")
DATABASE = os.environ.get("UPDRAFT_TEST_DATABASE") or None

# The session cloud's vendor data (`serve --vendor-data`), as a site would write it for Nova's
# StaticJSON provider: cloud-init applies its `cloud-init` member before the user's data.
VENDOR_DATA = {
    "cloud-init": "#cloud-config\nbootcmd:\n  - [sh, -c, \"echo from the vendor > /var/tmp/updraft-vendor\"]\n",
    "site": "updraft-e2e",
}

# The venv with the real clients; by default the one running pytest.
VENV = Path(os.environ.get("UPDRAFT_VENV") or Path(sys.executable).parent.parent)
OPENSTACK = VENV / "bin" / "openstack"

READY_DEADLINE = 60.0  # seconds for `updraft serve` to answer GET <auth_url> with 200
STOP_GRACE = 10.0  # seconds between SIGTERM and SIGKILL
CLI_TIMEOUT = 180.0  # one `openstack` call; real Keystone with bcrypt is slow
HTTP_TIMEOUT = 60.0

# CLI verbs whose output `-f json` can format.
_FORMATTABLE = {"list", "show", "create", "issue"}


# --------------------------------------------------------------------------------------------
# Small helpers


def unique(prefix: str) -> str:
    """A name no other test (or earlier run against the same cloud) uses."""
    return f"e2e-{prefix}-{uuid.uuid4().hex[:10]}"


def parse_openrc(path: Path | str) -> dict[str, str]:
    """The OS_* variables an openrc file exports (`export OS_X=value`, quotes allowed)."""
    env: dict[str, str] = {}
    for line in Path(path).read_text().splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["export"]:
            words = words[1:]
        for word in words:
            key, sep, value = word.partition("=")
            if sep and key.startswith("OS_"):
                env[key] = value
    return env


def base_env() -> dict[str, str]:
    """The caller's environment without any OS_* variable, and never a proxy for loopback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost,::1"
    return env


def identity_v3(auth_url: str) -> str:
    """`.../v3` from an OS_AUTH_URL with or without the version suffix."""
    url = auth_url.rstrip("/")
    return url if url.endswith("/v3") else url + "/v3"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, lines: int = 80) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as e:
        return f"(no log: {e})"


# --------------------------------------------------------------------------------------------
# The server process


class UpdraftServer:
    """One `updraft serve` child: started, polled for readiness, stopped by its own PID only."""

    def __init__(self, data_dir: Path, port: int, log_path: Path, database: str | None,
                 extra_args: list[str] | None = None, extra_env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = port
        self.log_path = log_path
        self.database = database
        self.extra_args = extra_args or []
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def auth_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/identity/v3"

    def argv(self) -> list[str]:
        argv = [str(UPDRAFT_BIN), "serve", "--data-dir", str(self.data_dir), "--port", str(self.port)]
        if self.database:
            argv += ["--database", self.database]
        # Two clouds on one host (runs side by side) need external networks of their own.
        if cidr := os.environ.get("UPDRAFT_E2E_EXTERNAL_CIDR"):
            argv += ["--external-cidr", cidr]
        return argv + self.extra_args

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        with open(self.log_path, "ab") as log:
            log.write(f"\n=== {' '.join(self.argv())}\n".encode())
            log.flush()
            # Own session: a Ctrl-C to pytest reaches pytest (which tears down), not the server.
            self.proc = subprocess.Popen(
                self.argv(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env={**base_env(), **self.extra_env}, start_new_session=True,
            )

    def wait_ready(self, deadline: float = READY_DEADLINE) -> None:
        assert self.proc is not None
        end = time.monotonic() + deadline
        last = "no answer yet"
        while time.monotonic() < end:
            rc = self.proc.poll()
            if rc is not None:
                raise RuntimeError(
                    f"updraft serve exited with {rc} before it was ready\n"
                    f"--- log {self.log_path}:\n{tail(self.log_path)}"
                )
            try:
                r = requests.get(self.auth_url, timeout=2)
                if r.status_code == 200:
                    return
                last = f"HTTP {r.status_code}"
            except requests.RequestException as e:
                last = type(e).__name__
            time.sleep(0.2)
        raise RuntimeError(
            f"updraft serve not ready at {self.auth_url} within {deadline:.0f} s ({last})\n"
            f"--- log {self.log_path}:\n{tail(self.log_path)}"
        )

    def stop(self, grace: float = STOP_GRACE) -> int | None:
        """SIGTERM, then SIGKILL after `grace` seconds; only the PID this object started."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGTERM)
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
            except ProcessLookupError:
                pass
        return proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()
        self.wait_ready()

    def crash_and_restart(self) -> None:
        """SIGKILL (no chance to flush or shut down), then start again on the same data dir."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        self.start()
        self.wait_ready()


def run_updraft(*args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """Run the updraft binary to completion (startup-failure tests). A process still running
    after `timeout` is killed (its own PID, by subprocess) and the test fails."""
    try:
        return subprocess.run(
            [str(UPDRAFT_BIN), *args], stdin=subprocess.DEVNULL, capture_output=True, text=True,
            env=base_env(), timeout=timeout,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"`updraft {' '.join(args)}` still running after {timeout} s (killed); "
                    f"expected it to exit. stderr so far: {e.stderr!r}")


# --------------------------------------------------------------------------------------------
# Raw API access (setup/teardown and HTTP-level checks)


class Api:
    """Keystone v3 over `requests`, authenticated as the cloud's admin."""

    def __init__(self, cloud: "Cloud") -> None:
        self.cloud = cloud
        self.url = cloud.identity_url
        self._token: str | None = None

    # -- tokens
    def password_auth(self, username: str, password: str, *, project_id: str | None = None,
                      project_name: str | None = None, project_domain: str = "Default",
                      user_domain: str = "Default") -> requests.Response:
        auth: dict[str, Any] = {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": username, "domain": {"name": user_domain}, "password": password}}},
        }
        if project_id:
            auth["scope"] = {"project": {"id": project_id}}
        elif project_name:
            auth["scope"] = {"project": {"name": project_name, "domain": {"name": project_domain}}}
        return requests.post(f"{self.url}/auth/tokens", json={"auth": auth}, timeout=HTTP_TIMEOUT)

    def issue_token(self, username: str, password: str, **scope: Any) -> str:
        r = self.password_auth(username, password, **scope)
        assert r.status_code == 201, f"token for {username}: {r.status_code} {r.text}"
        return r.headers["X-Subject-Token"]

    @property
    def token(self) -> str:
        if self._token is None:
            a = self.cloud.admin
            self._token = self.issue_token(
                a["OS_USERNAME"], a["OS_PASSWORD"], project_name=a["OS_PROJECT_NAME"],
                project_domain=a.get("OS_PROJECT_DOMAIN_NAME", "Default"),
                user_domain=a.get("OS_USER_DOMAIN_NAME", "Default"))
        return self._token

    def forget_token(self) -> None:
        self._token = None

    def validate(self, subject_token: str) -> requests.Response:
        """GET /v3/auth/tokens for `subject_token`, as admin."""
        return self.request("GET", "/auth/tokens", headers={"X-Subject-Token": subject_token})

    # -- requests
    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                **kw: Any) -> requests.Response:
        def send() -> requests.Response:
            h = {"X-Auth-Token": self.token, **(headers or {})}
            return requests.request(method, self.url + path, headers=h, timeout=HTTP_TIMEOUT, **kw)
        r = send()
        if r.status_code == 401 and "X-Subject-Token" not in (headers or {}):
            self.forget_token()  # e.g. after a server restart
            r = send()
        return r

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def create(self, collection: str, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.request("POST", f"/{collection}", json={entity: body})
        assert r.status_code == 201, f"POST /{collection}: {r.status_code} {r.text}"
        return r.json()[entity]

    def role_id(self, name: str) -> str:
        r = self.get("/roles", params={"name": name})
        assert r.status_code == 200, r.text
        roles = r.json()["roles"]
        assert roles, f"no role named {name}"
        return roles[0]["id"]

    def grant(self, role: str, *, user_id: str, project_id: str) -> None:
        r = self.request("PUT", f"/projects/{project_id}/users/{user_id}/roles/{self.role_id(role)}")
        assert r.status_code in (200, 204), f"grant {role}: {r.status_code} {r.text}"


# --------------------------------------------------------------------------------------------
# The cloud under test


class Cloud:
    """What a test needs: the admin env, the URLs, the data dir (None for an external cloud)."""

    def __init__(self, admin: dict[str, str], data_dir: Path | None,
                 server: UpdraftServer | None) -> None:
        missing = {"OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME"} - admin.keys()
        assert not missing, f"openrc lacks {sorted(missing)}"
        self.admin = admin
        self.data_dir = data_dir
        self.server = server
        self.auth_url = admin["OS_AUTH_URL"]
        self.identity_url = identity_v3(self.auth_url)
        self.region = admin.get("OS_REGION_NAME", "RegionOne")
        self.api = Api(self)

    @property
    def is_updraft(self) -> bool:
        return self.server is not None

    # -- environments for the CLI, built from scratch
    def admin_env(self) -> dict[str, str]:
        return {**base_env(), **self.admin}

    def _common(self) -> dict[str, str]:
        return {
            "OS_AUTH_URL": self.auth_url,
            "OS_IDENTITY_API_VERSION": "3",
            "OS_REGION_NAME": self.region,
            "OS_INTERFACE": self.admin.get("OS_INTERFACE", "public"),
        }

    def user_env(self, username: str, password: str, *, project_name: str | None = None,
                 project_id: str | None = None, user_domain: str = "Default",
                 project_domain: str = "Default") -> dict[str, str]:
        """Env for running the CLI as another user (optionally project-scoped)."""
        env = {**base_env(), **self._common(), "OS_AUTH_TYPE": "password",
               "OS_USERNAME": username, "OS_PASSWORD": password,
               "OS_USER_DOMAIN_NAME": user_domain}
        if project_id:
            env["OS_PROJECT_ID"] = project_id
        elif project_name:
            env["OS_PROJECT_NAME"] = project_name
            env["OS_PROJECT_DOMAIN_NAME"] = project_domain
        return env

    def token_env(self, token: str, *, project_id: str | None = None) -> dict[str, str]:
        """Env for authenticating the CLI with an existing token (`--os-auth-type token`)."""
        env = {**base_env(), **self._common(), "OS_AUTH_TYPE": "token", "OS_TOKEN": token}
        if project_id:
            env["OS_PROJECT_ID"] = project_id
        return env

    def app_cred_env(self, cred_id: str, secret: str) -> dict[str, str]:
        return {**base_env(), **self._common(), "OS_AUTH_TYPE": "v3applicationcredential",
                "OS_APPLICATION_CREDENTIAL_ID": cred_id,
                "OS_APPLICATION_CREDENTIAL_SECRET": secret}

    # -- the real CLI
    def openstack(self, *args: str, env: dict[str, str] | None = None, check: bool = True,
                  json_output: bool | None = None) -> Any:
        """Run `openstack ARGS` (admin unless `env`), adding `-f json` for list/show/create/issue.

        check=True: assert exit 0 and return the parsed JSON (or stdout text when there is none).
        check=False: return the CompletedProcess (returncode, stdout, stderr) as is.
        """
        argv = [str(OPENSTACK), *args]
        if json_output is None:
            json_output = bool(_FORMATTABLE & set(args)) and "-f" not in args
        if json_output:
            argv += ["-f", "json"]
        p = subprocess.run(argv, env=env if env is not None else self.admin_env(),
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=CLI_TIMEOUT)
        if not check:
            return p
        assert p.returncode == 0, (
            f"`openstack {shlex.join(args)}` exited {p.returncode}\n"
            f"stdout: {p.stdout}\nstderr: {p.stderr}")
        if json_output and p.stdout.strip():
            return json.loads(p.stdout)
        return p.stdout

    def openstack_fails(self, *args: str, env: dict[str, str] | None = None
                        ) -> subprocess.CompletedProcess[str]:
        """Run `openstack ARGS`, assert it fails, return the CompletedProcess."""
        p = self.openstack(*args, env=env, check=False, json_output=False)
        assert p.returncode != 0, (
            f"`openstack {shlex.join(args)}` unexpectedly succeeded\nstdout: {p.stdout}")
        return p


_SERVER: UpdraftServer | None = None  # for the failure-report hook


@pytest.fixture(scope="session")
def cloud() -> Iterator[Cloud]:
    global _SERVER
    if OPENRC:
        c = Cloud(parse_openrc(OPENRC), data_dir=None, server=None)
        try:
            r = requests.get(c.auth_url, timeout=10)
        except requests.RequestException as e:
            pytest.fail(f"cloud from {OPENRC} unreachable at {c.auth_url}: {e}")
        assert r.status_code == 200, f"GET {c.auth_url}: {r.status_code}"
        yield c
        return

    if not OPENSTACK.exists():
        pytest.fail(f"no openstack CLI at {OPENSTACK}; set UPDRAFT_VENV")
    if not UPDRAFT_BIN.exists():
        pytest.fail(f"no updraft binary at {UPDRAFT_BIN}; build it or set UPDRAFT_BIN")
    root = Path(tempfile.mkdtemp(prefix="updraft-e2e-"))
    data = root / "data"
    data.mkdir()
    vendor_data = root / "vendor-data.json"
    vendor_data.write_text(json.dumps(VENDOR_DATA))
    server = UpdraftServer(data, free_port(), root / "server.log", DATABASE, ["--vendor-data", str(vendor_data)])
    _SERVER = server
    try:
        server.start()
        failure = None
        try:
            server.wait_ready()
        except RuntimeError as e:
            failure = str(e)
        if failure:
            pytest.fail(failure, pytrace=False)
        openrc = data / "admin-openrc.sh"
        assert openrc.exists(), f"{openrc} not written"
        yield Cloud(parse_openrc(openrc), data_dir=data, server=server)
    finally:
        _SERVER = None
        server.stop()
        reap_guests(data)
        # The namespaces, bridges, nftables tables and dnsmasq its networking made.
        run_updraft("admin", "remove-network", "--data-dir", str(data))
        if os.environ.get("UPDRAFT_TEST_KEEP"):
            print(f"\nkept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def openstack(cloud: Cloud) -> Callable[..., Any]:
    """`openstack(*args, env=None, check=True)`: the real CLI (see Cloud.openstack)."""
    return cloud.openstack


@pytest.fixture
def api(cloud: Cloud) -> Api:
    return cloud.api


class Cleanup:
    """Deletes what a test created through the API, in reverse order, ignoring failures."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.paths: list[str] = []

    def add(self, path: str) -> None:
        self.paths.append(path)

    def run(self) -> None:
        for path in reversed(self.paths):
            try:
                if path.startswith("/domains/"):
                    self.api.request("PATCH", path, json={"domain": {"enabled": False}})
                self.api.request("DELETE", path)
            except requests.RequestException:
                pass


@pytest.fixture
def cleanup(api: Api) -> Iterator[Cleanup]:
    c = Cleanup(api)
    yield c
    c.run()


@contextlib.contextmanager
def module_scratch(cloud: Cloud, prefix: str) -> Iterator[tuple[Cleanup, Path]]:
    """What a module's shared setup needs: a Cleanup for what it makes through the API and a
    scratch directory (keys, user data); both undone when the module ends."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    cleanup = Cleanup(cloud.api)
    try:
        yield cleanup, root
    finally:
        cleanup.run()
        shutil.rmtree(root, ignore_errors=True)


class Factory:
    """Creates throw-away projects and users through the API (fast), registered for cleanup."""

    def __init__(self, api: Api, cleanup: Cleanup) -> None:
        self.api = api
        self.cleanup = cleanup

    def project(self, name: str | None = None, **extra: Any) -> dict[str, Any]:
        p = self.api.create("projects", "project",
                            {"name": name or unique("proj"), "domain_id": "default", **extra})
        self.cleanup.add(f"/projects/{p['id']}")
        return p

    def user(self, name: str | None = None, password: str | None = None,
             **extra: Any) -> dict[str, Any]:
        password = password or uuid.uuid4().hex
        u = self.api.create("users", "user", {"name": name or unique("user"),
                                               "domain_id": "default", "password": password,
                                               **extra})
        self.cleanup.add(f"/users/{u['id']}")
        u["password"] = password
        return u

    def group(self, name: str | None = None) -> dict[str, Any]:
        g = self.api.create("groups", "group", {"name": name or unique("group"),
                                                 "domain_id": "default"})
        self.cleanup.add(f"/groups/{g['id']}")
        return g

    def member(self, role: str = "member") -> tuple[dict[str, Any], dict[str, Any]]:
        """A fresh user holding `role` on a fresh project: (user with 'password', project)."""
        project = self.project()
        user = self.user()
        self.api.grant(role, user_id=user["id"], project_id=project["id"])
        return user, project


@pytest.fixture
def make(api: Api, cleanup: Cleanup) -> Factory:
    return Factory(api, cleanup)


# --------------------------------------------------------------------------------------------
# Markers and reporting


# Why a guest-bound test runs on the SQLite tier only. Its minutes go to guests booting and
# answering under TCG; the rows it writes (servers, ports, volumes, attachments, snapshots) are
# the ones the PostgreSQL tier's own guest tests write, so a second run there would test QEMU
# again, not the database.
GUEST_BOUND = "guest-bound: runs once, on the SQLite tier; its rows are written on PostgreSQL by other tests"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "updraft_only: needs the updraft binary; skipped when UPDRAFT_TEST_OPENRC is set")
    config.addinivalue_line("markers", f"guest_bound: {GUEST_BOUND}; skipped when UPDRAFT_TEST_DATABASE is set")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skips = []
    if OPENRC:
        skips.append(("updraft_only", "updraft only (UPDRAFT_TEST_OPENRC points at another cloud)"))
    if DATABASE:
        skips.append(("guest_bound", GUEST_BOUND))
    for marker, reason in skips:
        for item in items:
            if marker in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and _SERVER is not None:
        report.sections.append(("updraft serve log (tail)", tail(_SERVER.log_path, 40)))


# --------------------------------------------------------------------------------------------
# Guests: the QEMU processes `updraft serve` started (they outlive it by design)


def guest_dirs(data_dir: Path) -> list[Path]:
    root = data_dir / "instances"
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.exists() else []


def guest_pid(data_dir: Path, server_id: str) -> int | None:
    """The PID of the server's QEMU, if one runs: its pid file, checked against its command line."""
    pidfile = data_dir / "instances" / server_id / "qemu.pid"
    try:
        pid = int(pidfile.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, ValueError):
        return None
    return pid if server_id in cmdline and "qemu-system" in cmdline else None


def qemu_pids_for(server_id: str) -> list[int]:
    """Every qemu-system process on the machine whose command line names this server."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "qemu-system" in cmdline and f"updraft-{server_id}" in cmdline:
            pids.append(int(proc.name))
    return pids


def reap_guests(data_dir: Path) -> None:
    """Kill (by verified PID) every QEMU a test cloud left running."""
    for d in guest_dirs(data_dir):
        for pid in qemu_pids_for(d.name):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def qmp_status(data_dir: Path, server_id: str, timeout: float = 10.0) -> str | None:
    """`query-status` over the server's operator QMP socket; None when no QEMU answers."""
    path = data_dir / "instances" / server_id / "qmp-ops.sock"
    if not path.exists():
        return None
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(str(path))
        f = s.makefile("rwb")
        f.readline()  # greeting
        for command in ({"execute": "qmp_capabilities"}, {"execute": "query-status"}):
            f.write(json.dumps(command).encode() + b"\n")
            f.flush()
            while True:
                reply = json.loads(f.readline())
                if "return" in reply or "error" in reply:
                    break
        return reply.get("return", {}).get("status")
    except (OSError, ValueError):
        return None
    finally:
        s.close()


# Polling and the host's networking, for the network modules



class SSHGuest:
    """SSH into a guest (through its floating IP) with a key, as `user`: `root` on the tiny
    image, `debian` on the library's. A timeout is an answer (255), never a hang."""

    def __init__(self, key: Path, address: str, user: str = "root", timeout: float = 20.0,
                 answer_timeout: float = 8.0) -> None:
        self.key = key
        self.address = address
        self.user = user
        self.timeout = timeout
        self.answer_timeout = answer_timeout

    def run(self, command: str, timeout: float | None = None,
            connect_timeout: int = 3) -> subprocess.CompletedProcess[str]:
        argv = ["ssh", "-i", str(self.key), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={connect_timeout}",
                f"{self.user}@{self.address}", command]
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=timeout or self.timeout)
        except subprocess.TimeoutExpired as e:
            return subprocess.CompletedProcess(argv, 255, e.stdout or "", "timed out")

    def answers(self) -> bool:
        return self.run("true", timeout=self.answer_timeout, connect_timeout=2).returncode == 0


def wait_for(what: str, check: Callable[[], Any], deadline: float = 240.0, interval: float = 0.5) -> Any:
    """Polls `check` until it returns something truthy, and returns that; fails the test
    naming `what` and the last answer after `deadline` seconds (a guest transition under TCG)."""
    end = time.monotonic() + deadline
    last: Any = None
    while time.monotonic() < end:
        last = check()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out after {deadline:.0f} s waiting for {what} (last: {last!r})")


def eventually(check: Callable[[], bool], timeout: float = 15.0, interval: float = 0.2) -> bool:
    """The dataplane and guests follow a change a moment later: poll for it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()


def namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def host_links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}

#!/usr/bin/env python3
"""Object storage throughput against a Swift v1 endpoint (Updraft's or the real Swift peer's).

    objects.py [--pid PID] [--label NAME]     (a token and the storage URL from the OS_* password variables)

Phases (each prints one JSON line):
  put/get   SIZE x COUNT objects, one client (1 MiB and 256 MiB by default): MiB/s and p50/p99
  small     4 KiB PUTs then GETs with 4 and 16 client threads: operations per second
  rss       resident memory of --pid before and at its peak during one 2 GiB PUT
  list      (--list-container NAME) GET of a page of 1,000 at random markers: p50/p99

Raw http.client on keep-alive connections, so the client costs as little as it can; every
body is read to its end and its length checked. Loopback only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote, urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import percentile  # noqa: E402

CHUNK = 1 << 20


class Client:
    """One keep-alive connection to the storage URL."""

    def __init__(self, url: str, token: str) -> None:
        parsed = urlparse(url)
        assert parsed.hostname in ("127.0.0.1", "localhost", "::1"), "loopback only"
        self.host, self.port, self.base, self.token = parsed.hostname, parsed.port or 80, parsed.path, token
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=600)

    def request(self, method: str, path: str, body: bytes | memoryview | None = None, length: int | None = None,
                chunks: object = None) -> tuple[int, int]:
        headers = {"X-Auth-Token": self.token}
        if body is not None or chunks is not None:
            headers["Content-Length"] = str(length if length is not None else len(body))
        self.conn.putrequest(method, self.base + path)
        for key, value in headers.items():
            self.conn.putheader(key, value)
        self.conn.endheaders()
        if body is not None:
            view = memoryview(body)
            for start in range(0, len(view), CHUNK):
                self.conn.send(view[start:start + CHUNK])
        if chunks is not None:
            for piece in chunks:
                self.conn.send(piece)
        response = self.conn.getresponse()
        total = 0
        while True:
            data = response.read(CHUNK)
            if not data:
                break
            total += len(data)
        return response.status, total


def put_get(url: str, token: str, container: str, size: int, count: int) -> list[dict]:
    client = Client(url, token)
    data = os.urandom(size)
    results = []
    for method in ("PUT", "GET"):
        times = []
        start = time.perf_counter()
        for index in range(count):
            began = time.perf_counter()
            status, got = client.request(method, f"/{container}/o-{size}-{index}", data if method == "PUT" else None)
            assert status in (200, 201), (method, status)
            assert method == "PUT" or got == size
            times.append(time.perf_counter() - began)
        elapsed = time.perf_counter() - start
        results.append({"phase": method.lower(), "size": size, "count": count,
                        "MiB_per_s": round(size * count / elapsed / (1 << 20), 1),
                        "p50_ms": round(percentile(times, 50) * 1000, 1),
                        "p99_ms": round(percentile(times, 99) * 1000, 1)})
    for index in range(count):
        client.request("DELETE", f"/{container}/o-{size}-{index}")
    return results


def small(url: str, token: str, container: str, threads: int, count: int) -> list[dict]:
    data = os.urandom(4096)
    local = threading.local()

    def one(method: str, index: int) -> None:
        if not hasattr(local, "client"):
            local.client = Client(url, token)
        status, _ = local.client.request(method, f"/{container}/s-{threads}-{index}", data if method == "PUT" else None)
        assert status in (200, 201, 204), (method, status)

    results = []
    for method in ("PUT", "GET", "DELETE"):
        start = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda i: one(method, i), range(count)))
        elapsed = time.perf_counter() - start
        if method != "DELETE":
            results.append({"phase": f"4KiB-{method.lower()}", "threads": threads, "count": count,
                            "ops_per_s": round(count / elapsed)})
    return results


def rss_kib(pid: int) -> int:
    total = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total = int(line.split()[1])
    return total


def rss_during_upload(url: str, token: str, container: str, pid: int, size: int) -> dict:
    before = rss_kib(pid)
    peak = before
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_kib(pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    block = os.urandom(CHUNK)
    client = Client(url, token)
    start = time.perf_counter()
    status, _ = client.request("PUT", f"/{container}/two-gib", chunks=(block for _ in range(size // CHUNK)), length=size)
    elapsed = time.perf_counter() - start
    done.set()
    sampler.join()
    assert status == 201, status
    client.request("DELETE", f"/{container}/two-gib")
    return {"phase": "rss", "upload_bytes": size, "MiB_per_s": round(size / elapsed / (1 << 20), 1),
            "rss_before_kib": before, "rss_peak_kib": peak, "growth_kib": peak - before}


def listing(url: str, token: str, container: str, objects: int, calls: int) -> dict:
    client = Client(url, token)
    times = []
    for _ in range(calls):
        marker = f"obj-{random.randrange(objects):08d}"
        began = time.perf_counter()
        status, got = client.request("GET", f"/{container}?limit=1000&format=json&marker={quote(marker)}")
        times.append(time.perf_counter() - began)
        assert status == 200 and got > 0, status
    return {"phase": "list", "container_objects": objects, "page": 1000, "calls": calls,
            "p50_ms": round(percentile(times, 50) * 1000, 1), "p99_ms": round(percentile(times, 99) * 1000, 1)}


def keystone() -> tuple[str, str]:
    """A project-scoped token from the OS_* variables, and the object-store public URL of its catalog."""
    env = os.environ
    auth = {"identity": {"methods": ["password"], "password": {"user": {
        "name": env["OS_USERNAME"], "password": env["OS_PASSWORD"],
        "domain": {"name": env.get("OS_USER_DOMAIN_NAME", "Default")}}}},
        "scope": {"project": {"name": env["OS_PROJECT_NAME"],
                              "domain": {"name": env.get("OS_PROJECT_DOMAIN_NAME", "Default")}}}}
    url = urlparse(env["OS_AUTH_URL"].rstrip("/"))
    path = url.path if url.path.endswith("/v3") else url.path + "/v3"
    conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=60)
    conn.request("POST", path + "/auth/tokens", json.dumps({"auth": auth}), {"Content-Type": "application/json"})
    response = conn.getresponse()
    body = json.loads(response.read())
    assert response.status == 201, body
    for service in body["token"]["catalog"]:
        if service["type"] == "object-store":
            for endpoint in service["endpoints"]:
                if endpoint["interface"] == "public":
                    return response.getheader("X-Subject-Token"), endpoint["url"]
    raise SystemExit("no object-store endpoint in the catalog")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url")
    parser.add_argument("--token")
    parser.add_argument("--label", default="")
    parser.add_argument("--pid", type=int)
    parser.add_argument("--sizes", default="1048576:100,268435456:4")
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--rss-bytes", type=int, default=2 << 30)
    parser.add_argument("--list-container")
    parser.add_argument("--list-objects", type=int, default=1_000_000)
    parser.add_argument("--list-calls", type=int, default=200)
    args = parser.parse_args()
    if not args.url or not args.token:
        args.token, args.url = keystone()
    container = "bench-" + os.urandom(4).hex()
    setup = Client(args.url, args.token)
    assert setup.request("PUT", f"/{container}")[0] in (201, 202)

    def emit(result: dict) -> None:
        print(json.dumps({"target": args.label, **result}), flush=True)

    for spec in args.sizes.split(","):
        size, count = (int(x) for x in spec.split(":"))
        for result in put_get(args.url, args.token, container, size, count):
            emit(result)
    for threads in (4, 16):
        for result in small(args.url, args.token, container, threads, args.small):
            emit(result)
    if args.pid:
        emit(rss_during_upload(args.url, args.token, container, args.pid, args.rss_bytes))
    if args.list_container:
        emit(listing(args.url, args.token, args.list_container, args.list_objects, args.list_calls))
    # A fresh connection: the first one has idled through every phase and a server may have closed it.
    Client(args.url, args.token).request("DELETE", f"/{container}")


if __name__ == "__main__":
    main()

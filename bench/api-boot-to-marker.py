#!/usr/bin/env python3
"""Boot the tiny guest image through the compute API N times; print boot-to-marker seconds.

Time runs from the POST /servers that creates the server to the first console output
(os-getConsoleOutput) that shows `UPDRAFT-GUEST-READY instance-id=<id>`; the console is
polled every --poll seconds. Each server is deleted before the next is created, so every
boot has the machine to itself, as bench/guest-boot-bare.py's do. Output: one JSON object.

    OS_* from an admin openrc; bench/api-boot-to-marker.py [-n 5] [--image tiny] [--flavor m1.nano]
    ... --image debian-12 --flavor bench-deb --config-drive --marker 'Cloud-init v\. \S+ finished at'

--marker is a regular expression the console must show; `{id}` in it is the server's id.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
import urllib.parse

import requests

MARKER = "UPDRAFT-GUEST-READY instance-id="


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100.0
    f = int(k)
    c = min(f + 1, len(xs) - 1)
    return xs[f] + (xs[c] - xs[f]) * (k - f)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=5)
    ap.add_argument("--image", default="tiny")
    ap.add_argument("--flavor", default="m1.nano")
    ap.add_argument("--poll", type=float, default=0.1)
    ap.add_argument("--marker", default=re.escape(MARKER) + "{id}")
    ap.add_argument("--config-drive", action="store_true", help="boot with a config drive (no NIC either way)")
    ap.add_argument("--timeout", type=float, default=300.0)
    a = ap.parse_args()
    auth = os.environ["OS_AUTH_URL"].rstrip("/")
    assert urllib.parse.urlparse(auth).hostname in ("127.0.0.1", "localhost"), "loopback only"
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": os.environ["OS_USERNAME"], "password": os.environ["OS_PASSWORD"],
        "domain": {"name": os.environ.get("OS_USER_DOMAIN_NAME", "Default")}}}},
        "scope": {"project": {"name": os.environ["OS_PROJECT_NAME"],
                              "domain": {"name": os.environ.get("OS_PROJECT_DOMAIN_NAME", "Default")}}}}}
    r = requests.post(auth + "/auth/tokens", json=body, timeout=30)
    r.raise_for_status()
    token = r.headers["X-Subject-Token"]
    catalog = r.json()["token"]["catalog"]
    url = lambda t: [e["url"] for s in catalog if s["type"] == t for e in s["endpoints"] if e["interface"] == "public"][0]
    nova, glance = url("compute").rstrip("/"), url("image").rstrip("/")
    s = requests.Session()
    s.headers.update({"X-Auth-Token": token, "OpenStack-API-Version": "compute 2.37"})
    image = s.get(f"{glance}/v2/images", params={"name": a.image}, timeout=30).json()["images"][0]["id"]
    flavor = [f["id"] for f in s.get(f"{nova}/flavors", timeout=30).json()["flavors"] if f["name"] == a.flavor][0]
    times = []
    for i in range(a.n):
        t0 = time.monotonic()
        server = {"name": f"boot-{i}", "imageRef": image, "flavorRef": flavor, "networks": "none"}
        if a.config_drive:
            server["config_drive"] = True
        r = s.post(f"{nova}/servers", json={"server": server}, timeout=60)
        r.raise_for_status()
        sid = r.json()["server"]["id"]
        try:
            while True:
                c = s.post(f"{nova}/servers/{sid}/action", json={"os-getConsoleOutput": {"length": -1}}, timeout=30)
                if c.status_code == 200 and re.search(a.marker.replace("{id}", sid), c.json()["output"]):
                    times.append(time.monotonic() - t0)
                    break
                if time.monotonic() - t0 > a.timeout:
                    sys.exit(f"no marker from {sid} within {a.timeout:.0f} s")
                time.sleep(a.poll)
        finally:
            s.delete(f"{nova}/servers/{sid}", timeout=60)
            while s.get(f"{nova}/servers/{sid}", timeout=30).status_code != 404:
                time.sleep(0.2)
    print(json.dumps({"what": "api boot-to-marker", "n": len(times), "p50_s": round(pct(times, 50), 2),
                      "p99_s": round(pct(times, 99), 2), "min_s": round(min(times), 2),
                      "mean_s": round(statistics.mean(times), 2)}))


if __name__ == "__main__":
    main()

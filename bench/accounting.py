#!/usr/bin/env python3
"""Accounting (SU ledger) figures: a year of state history written straight into the SQLite
database of a stopped cloud, then the balances and state changes timed through the API of the
cloud in OS_AUTH_URL/OS_USERNAME/OS_PASSWORD/OS_PROJECT_NAME (an admin openrc on 127.0.0.1).
Each mode prints one JSON object on stdout; seconds throughout.

    bench/accounting.py seed                 lifts the admin project's compute quotas and makes
                                             one m1.nano server (no NIC) on the registered image
                                             (a 1 MiB raw one is uploaded when there is none),
                                             waits for ACTIVE, deletes it (its row stays, marked
                                             deleted): the instances row the fill clones
    bench/accounting.py fill --db PATH [--projects 1000] [--instances 20000] [--days 365]
                             [--mean-days 3] [--award 1e6] [--admin-project ID] [--seed 1]
                                             with the cloud stopped: one cpu allocation (and its
                                             `award` ledger entry) per project, instances cloned
                                             from the seed's row spread over the projects, and
                                             for each a year of state changes (building, active,
                                             then a walk among active, stopped, suspended and
                                             shelved_offloaded, one change every --mean-days on
                                             average); project 0 is --admin-project when given
    bench/accounting.py balances [--calls 10] [--expect 1000]
                                             GET /accounting/v1/allocations?all_projects=true:
                                             the first call, then --calls more (median); the
                                             answer's size and allocation count
    bench/accounting.py one [--calls 20] [--project ID]
                                             GET /accounting/v1/allocations/{id} of one
                                             allocation (the admin project's by default)
    bench/accounting.py allocate [--award 1e6]
                                             a cpu allocation for the admin project through the
                                             API (a year ago to a year ahead)
    bench/accounting.py probe [--seconds 65] [--every 0.1]
                                             GET /compute/v2.1/flavors/42 (one small read) every
                                             --every s: how long requests wait while the
                                             allocation lifecycle holds the database
    bench/accounting.py actions [--servers 10] [--pairs 50]
                                             --servers m1.nano servers made (create -> ACTIVE
                                             timed), then --pairs pause/unpause and --pairs
                                             suspend/resume, one at a time round-robin over
                                             them: each POST's answer and POST -> settled
                                             (status as expected, no task state); then deleted

Loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from benchlib import summary  # noqa: E402

YEAR_DAYS = 365
# Nova's power states (HypervisorDriver.swift) for the states the fill writes.
POWER = {"building": 0, "active": 1, "stopped": 4, "suspended": 7, "shelved_offloaded": 4}
# Where an instance can go from each state, as Nova's actions allow.
NEXT = {"active": ["stopped", "suspended", "shelved_offloaded"], "stopped": ["active", "shelved_offloaded"],
        "suspended": ["active"], "shelved_offloaded": ["active"]}
# Flavors (of the seeded ones) the clones get, with weights: mostly small.
FLAVORS = [("m3.tiny", 4), ("m3.small", 3), ("m3.quad", 2), ("m3.medium", 1)]
# Instances of the fill sit on a host no driver of this cloud drives: the power-state sync
# leaves them alone and they take no capacity from the fake host.
FILL_HOST = "bench-history"
MICROVERSION = "2.37"


class Cloud:
    def __init__(self) -> None:
        auth = os.environ["OS_AUTH_URL"].rstrip("/")
        if not auth.startswith(("http://127.0.0.1", "http://localhost")):
            sys.exit("only a cloud on 127.0.0.1 is benchmarked")
        if not auth.endswith("/v3"):
            auth += "/v3"
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": os.environ["OS_USERNAME"], "domain": {"name": "Default"}, "password": os.environ["OS_PASSWORD"]}}},
            "scope": {"project": {"name": os.environ["OS_PROJECT_NAME"], "domain": {"name": "Default"}}}}}
        r = requests.post(f"{auth}/auth/tokens", json=body, timeout=30)
        r.raise_for_status()
        token = r.json()["token"]
        self.project_id = token["project"]["id"]
        self.session = requests.Session()
        self.session.headers["X-Auth-Token"] = r.headers["X-Subject-Token"]
        self.session.headers["X-OpenStack-Nova-API-Version"] = MICROVERSION
        self.session.headers["OpenStack-API-Version"] = f"compute {MICROVERSION}"
        self.url = {e["type"]: [x["url"] for x in e["endpoints"] if x["interface"] == "public"][0].rstrip("/")
                    for e in token["catalog"]}

    def request(self, method: str, service: str, path: str, body: Any = None, timeout: float = 600
                ) -> requests.Response:
        return self.session.request(method, f"{self.url[service]}/{path}", json=body, timeout=timeout)

    def call(self, method: str, service: str, path: str, body: Any = None, ok: tuple[int, ...] = (200, 201, 202, 204)
             ) -> Any:
        r = self.request(method, service, path, body)
        if r.status_code not in ok:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:300]}")
        return r.json() if r.content else None


def ms(values: list[float]) -> dict[str, Any]:
    """benchlib's summary in milliseconds (the actions are faster than its rounding)."""
    s = summary([v * 1000 for v in values])
    s.pop("all")
    s["mean"] = round(statistics.mean(values) * 1000, 3)
    s["n"] = len(values)
    return s


# --- seed -----------------------------------------------------------------------------------------

def image_id(cloud: Cloud) -> str:
    images = cloud.call("GET", "image", "v2/images?name=updraft-tiny")["images"]
    if images:
        return images[0]["id"]
    image = cloud.call("POST", "image", "v2/images", {"name": "bench-tiny", "disk_format": "raw",
                                                      "container_format": "bare", "visibility": "public"})["id"]
    r = cloud.session.put(f"{cloud.url['image']}/v2/images/{image}/file", data=b"\0" * (1 << 20),
                          headers={"Content-Type": "application/octet-stream"}, timeout=120)
    if r.status_code != 204:
        raise RuntimeError(f"image upload: {r.status_code} {r.text[:300]}")
    return image


def lift_quotas(cloud: Cloud) -> None:
    cloud.call("PUT", "compute", f"os-quota-sets/{cloud.project_id}",
               {"quota_set": {"instances": -1, "cores": -1, "ram": -1}})


def create_server(cloud: Cloud, name: str, image: str) -> str:
    return cloud.call("POST", "compute", "servers", {"server": {
        "name": name, "imageRef": image, "flavorRef": "42", "networks": "none"}})["server"]["id"]


def wait_server(cloud: Cloud, server: str, status: str, started: float, timeout: float = 300) -> float:
    """Seconds from `started` until the server shows `status` with no task state."""
    while True:
        s = cloud.call("GET", "compute", f"servers/{server}")["server"]
        if s["status"] == status and s.get("OS-EXT-STS:task_state") is None:
            return time.monotonic() - started
        if s["status"] == "ERROR":
            raise RuntimeError(f"server {server} is in ERROR: {s.get('fault')}")
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"server {server} is {s['status']}, not {status}, after {timeout:.0f} s")
        time.sleep(0.002)


def wait_gone(cloud: Cloud, server: str, timeout: float = 300) -> None:
    started = time.monotonic()
    while cloud.request("GET", "compute", f"servers/{server}").status_code != 404:
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"server {server} not gone after {timeout:.0f} s")
        time.sleep(0.05)


def seed(args: argparse.Namespace) -> dict[str, Any]:
    cloud = Cloud()
    lift_quotas(cloud)
    image = image_id(cloud)
    started = time.monotonic()
    server = create_server(cloud, "acct-seed", image)
    active = wait_server(cloud, server, "ACTIVE", started)
    cloud.call("DELETE", "compute", f"servers/{server}")
    wait_gone(cloud, server)
    return {"what": "the instances row the fill clones", "server": server, "image": image,
            "project_id": cloud.project_id, "create_to_active_seconds": round(active, 3)}


# --- fill -----------------------------------------------------------------------------------------

def history(rng: random.Random, start: float, end: float, mean: float) -> list[tuple[float, str]]:
    """(at, vm_state) from `start` to `end`: building, active a minute later, then one change
    every `mean` seconds on average (exponential gaps) along NEXT."""
    changes = [(start, "building"), (start + rng.uniform(20, 90), "active")]
    at, state = changes[-1]
    while True:
        at += rng.expovariate(1 / mean)
        if at >= end:
            return changes
        state = rng.choice(NEXT[state])
        changes.append((at, state))


def fill(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    rng = random.Random(args.seed)
    db = sqlite3.connect(args.db)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-1000000")  # 1 GB of page cache: random-key index inserts
    db.row_factory = sqlite3.Row
    now = time.time()
    year_ago, year_ahead = now - YEAR_DAYS * 86400, now + YEAR_DAYS * 86400
    window_start = now - args.days * 86400

    template = db.execute("SELECT * FROM instances ORDER BY created_at LIMIT 1").fetchone()
    if template is None:
        sys.exit("no instances row to clone: run `seed` first")
    columns = template.keys()
    base_flavor = json.loads(template["flavor"])
    flavors = []
    for name, weight in FLAVORS:
        row = db.execute("SELECT * FROM flavors WHERE name = ?", (name,)).fetchone()
        if row is None:
            sys.exit(f"no flavor {name} in the database")
        flavor = dict(base_flavor)
        for key, value in (("id", row["id"]), ("name", row["name"]), ("vcpus", row["vcpus"]), ("ram", row["ram"]),
                           ("disk", row["disk"]), ("ephemeral", row["ephemeral"]), ("swap", row["swap"]),
                           ("description", row["description"]), ("extraSpecs", json.loads(row["extra_specs"]))):
            if key in flavor:
                flavor[key] = value
        flavors.append((row, json.dumps(flavor, separators=(",", ":")), weight))
    weights = [w for _, _, w in flavors]

    projects = [uuid.UUID(int=rng.getrandbits(128)).hex for _ in range(args.projects)]
    if args.admin_project:
        projects[0] = args.admin_project
    taken = {r[0] for r in db.execute("SELECT project_id FROM allocations")}
    if taken & set(projects):
        sys.exit(f"projects already hold allocations: {sorted(taken & set(projects))[:3]}")

    counts: dict[str, int] = {}
    db.execute("BEGIN")
    next_entry = db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM allocation_entries").fetchone()[0]
    allocations, entries = [], []
    for n, project in enumerate(projects):
        allocation = uuid.UUID(int=rng.getrandbits(128)).hex
        allocations.append((allocation, f"BENCH-{n:06d}", project, "cpu", args.award, year_ago, year_ahead,
                            "explore", "bench/accounting.py fill", year_ago, year_ago))
        entries.append((next_entry + n, allocation, project, year_ago, "award", args.award, year_ahead, None, None))
    db.executemany("INSERT INTO allocations (id, name, project_id, resource, award, start_at, end_at, tier, description,"
                   " created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)", allocations)
    db.executemany("INSERT INTO allocation_entries (id, allocation_id, project_id, at, kind, sus, end_at, user_id, note)"
                   " VALUES (?,?,?,?,?,?,?,?,?)", entries)
    counts["allocations"] = len(allocations)
    counts["allocation_entries"] = len(entries)

    seq = db.execute("SELECT COALESCE(MAX(seq), 0) FROM instances").fetchone()[0]
    instance_sql = f"INSERT INTO instances ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    history_sql = ("INSERT INTO instance_state_history (instance_id, project_id, at, seq, vm_state, task_state,"
                   " power_state, vcpus, ram, disk, flavor_name, resource_class) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)")
    instances: list[tuple[Any, ...]] = []
    rows: list[tuple[Any, ...]] = []
    counts["instances"] = counts["instance_state_history"] = 0
    states: dict[str, int] = {}
    mean = args.mean_days * 86400

    def flush() -> None:
        db.executemany(instance_sql, instances)
        db.executemany(history_sql, rows)
        counts["instances"] += len(instances)
        counts["instance_state_history"] += len(rows)
        instances.clear()
        rows.clear()

    for n in range(args.instances):
        project = projects[n % len(projects)]
        flavor, flavor_json, _ = rng.choices(flavors, weights)[0]
        instance = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        # Made in the first `mean` of the window, so each has about a whole window of changes.
        changes = history(rng, window_start + rng.uniform(0, mean), now, mean)
        last_at, state = changes[-1]
        states[state] = states.get(state, 0) + 1
        seq += 1
        row = dict(template)
        row.update(id=instance, seq=seq, name=f"acct-{n:06d}", project_id=project, flavor=flavor_json,
                   old_flavor=None, vcpus=flavor["vcpus"], memory_mb=flavor["ram"], root_gb=flavor["disk"],
                   vm_state=state, task_state=None, power_state=POWER[state],
                   host=None if state == "shelved_offloaded" else FILL_HOST, hostname=f"acct-{n:06d}",
                   reservation_id=f"r-{rng.getrandbits(32):08x}", launch_index=0, created_at=changes[0][0],
                   updated_at=last_at, launched_at=changes[1][0], terminated_at=None, fault=None,
                   shelved_image_id=None, deleted=False)
        instances.append(tuple(row[c] for c in columns))
        for order, (at, vm_state) in enumerate(changes, start=1):
            rows.append((instance, project, at, order, vm_state, None, POWER[vm_state], flavor["vcpus"], flavor["ram"],
                         flavor["disk"], flavor["name"], "cpu"))
        if len(rows) >= 200_000:
            flush()
    flush()
    # Rows written behind the server's back: its running sums are rebuilt from the history at
    # the next start, as after an upgrade or a change of rates.
    db.execute("DELETE FROM accounting_state WHERE key = 'ledger'")
    db.execute("COMMIT")
    db.execute("PRAGMA synchronous=FULL")
    db.close()
    seconds = time.monotonic() - started
    return {"what": "allocations, instances and a year of state history written with sqlite3",
            "rows": counts, "rows_total": sum(counts.values()), "projects": len(projects),
            "admin_project_in_fill": bool(args.admin_project), "final_states": states,
            "history_rows_per_instance": round(counts["instance_state_history"] / max(1, counts["instances"]), 1),
            "db_bytes": os.path.getsize(args.db), "seconds": round(seconds, 1),
            "rows_per_second": round(sum(counts.values()) / seconds)}


# --- balances -------------------------------------------------------------------------------------

def balances(args: argparse.Namespace) -> dict[str, Any]:
    cloud = Cloud()
    path = "allocations?all_projects=true"

    def once() -> tuple[float, requests.Response]:
        started = time.monotonic()
        r = cloud.request("GET", "accounting", path)
        seconds = time.monotonic() - started
        if r.status_code != 200:
            raise RuntimeError(f"GET {path}: {r.status_code} {r.text[:300]}")
        return seconds, r

    first, r = once()
    allocations = r.json()["allocations"]
    later = [once()[0] for _ in range(args.calls)]
    used = [a["used"] for a in allocations]
    # The running sums against the ledger computed from the whole history (the usage report),
    # for a few allocations; the system clock moves between the calls, so the sum is bracketed.
    agree = []
    for allocation in allocations[:: max(1, len(allocations) // 5)][:5]:
        before = cloud.call("GET", "accounting", f"allocations/{allocation['id']}")["allocation"]["used"]
        ledger = cloud.call("GET", "accounting", f"allocations/{allocation['id']}/usage?by=instance")["total_sus"]
        after = cloud.call("GET", "accounting", f"allocations/{allocation['id']}")["allocation"]["used"]
        agree.append(before - 1e-6 * max(1, before) <= ledger <= after + 1e-6 * max(1, after))
    return {"what": "GET /accounting/v1/allocations?all_projects=true", "first_seconds": round(first, 3),
            "later_seconds": summary(later), "bytes": len(r.content), "allocations": len(allocations),
            "expected": args.expect, "count_ok": len(allocations) == args.expect,
            "used_sus": {"total": round(sum(used)), "min": round(min(used), 1) if used else None,
                         "max": round(max(used), 1) if used else None},
            "burning": sum(1 for a in allocations if a["burn_rate"] > 0),
            "sums_agree_with_ledger": f"{sum(agree)} of {len(agree)}",
            "statuses": {s: sum(1 for a in allocations if a["status"] == s) for s in {a["status"] for a in allocations}},
            "sample": {k: allocations[0][k] for k in ("name", "award", "used", "balance", "burn_rate", "run_out_at")}
            if allocations else None}


def one(args: argparse.Namespace) -> dict[str, Any]:
    cloud = Cloud()
    project = args.project or cloud.project_id
    listed = cloud.call("GET", "accounting", f"allocations?project_id={project}")["allocations"]
    if not listed:
        raise RuntimeError(f"project {project} holds no allocation")
    allocation = listed[0]["id"]
    times = []
    for _ in range(args.calls):
        started = time.monotonic()
        r = cloud.request("GET", "accounting", f"allocations/{allocation}")
        times.append(time.monotonic() - started)
        if r.status_code != 200:
            raise RuntimeError(f"GET allocations/{allocation}: {r.status_code} {r.text[:300]}")
    instances = len(cloud.call("GET", "compute", f"servers?all_tenants=1&project_id={project}&limit=1000")["servers"])
    return {"what": "GET /accounting/v1/allocations/{id}", "project_id": project, "allocation": allocation,
            "live_servers_of_project": instances, "used": r.json()["allocation"]["used"], "seconds": ms(times)}


def allocate(args: argparse.Namespace) -> dict[str, Any]:
    cloud = Cloud()
    now = time.time()
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))  # noqa: E731
    made = cloud.call("POST", "accounting", "allocations", {"allocation": {
        "name": "BENCH-ADMIN", "project_id": cloud.project_id, "resource": "cpu", "award": args.award,
        "start": iso(now - YEAR_DAYS * 86400), "end": iso(now + YEAR_DAYS * 86400)}})["allocation"]
    return {"what": "cpu allocation of the admin project", "id": made["id"], "award": made["award"]}


def probe(args: argparse.Namespace) -> dict[str, Any]:
    """GET /compute/v2.1/flavors/42 (one small read of the database) every --every s for
    --seconds: how long a request waits while something else holds the database."""
    cloud = Cloud()
    times: list[float] = []
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        cloud.call("GET", "compute", "flavors/42")
        times.append(time.monotonic() - started)
        time.sleep(max(0.0, args.every - (time.monotonic() - started)))
    slow = [t for t in times if t > 0.1]
    return {"what": "GET /compute/v2.1/flavors/42 while the cloud is otherwise idle", "seconds": args.seconds,
            "ms": ms(times), "over_100_ms": len(slow), "waited_over_100_ms_seconds": round(sum(slow), 2)}


# --- actions --------------------------------------------------------------------------------------

def actions(args: argparse.Namespace) -> dict[str, Any]:
    cloud = Cloud()
    lift_quotas(cloud)
    image = image_id(cloud)
    servers, creates = [], []
    result: dict[str, Any] = {"what": "server actions on the fake driver, one at a time"}
    try:
        for n in range(args.servers):
            started = time.monotonic()
            servers.append(create_server(cloud, f"acct-act-{n}", image))
            creates.append(wait_server(cloud, servers[-1], "ACTIVE", started))
        result["create_to_active_ms"] = ms(creates)
        plan = [("pause", "PAUSED"), ("unpause", "ACTIVE")] * args.pairs + [("suspend", "SUSPENDED"),
                                                                             ("resume", "ACTIVE")] * args.pairs
        answers: dict[str, list[float]] = {}
        settled: dict[str, list[float]] = {}
        for n, (action, status) in enumerate(plan):
            server = servers[(n // 2) % len(servers)]
            started = time.monotonic()
            r = cloud.request("POST", "compute", f"servers/{server}/action", {action: None})
            answered = time.monotonic() - started
            if r.status_code != 202:
                raise RuntimeError(f"{action} {server}: {r.status_code} {r.text[:300]}")
            settled.setdefault(action, []).append(wait_server(cloud, server, status, started))
            answers.setdefault(action, []).append(answered)
        result["actions"] = len(plan)
        result["answer_ms"] = {a: ms(v) for a, v in answers.items()}
        result["settled_ms"] = {a: ms(v) for a, v in settled.items()}
        every = [x for v in answers.values() for x in v]
        result["answer_ms"]["all"] = ms(every)
        result["settled_ms"]["all"] = ms([x for v in settled.values() for x in v])
    finally:
        for server in servers:
            cloud.request("DELETE", "compute", f"servers/{server}")
        for server in servers:
            wait_gone(cloud, server)
    return result


# --- the ledger's share of one state change ------------------------------------------------------

def ledger_sql(args: argparse.Namespace) -> dict[str, Any]:
    """What one state change costs in SQL on the filled database, with the server stopped: the
    history row compute writes anyway (its previous row read, its insert), against the ledger's
    statements on top (the allocation's row, its running sum, the open stretch). Rolled back."""
    db = sqlite3.connect(args.db, isolation_level=None)
    rng = random.Random(3)
    rows = db.execute("SELECT id, project_id FROM instances WHERE deleted = 0").fetchall()
    picks = [rng.choice(rows) for _ in range(args.changes)]
    history = ("INSERT INTO instance_state_history (instance_id, project_id, at, seq, vm_state, task_state, power_state,"
               " vcpus, ram, disk, flavor_name, resource_class) VALUES (?, ?, ?, ?, 'active', NULL, 1, 2, 2048, 20,"
               " 'm3.small', 'cpu')")
    timings: dict[str, list[float]] = {"history": [], "ledger": []}
    db.execute("BEGIN")
    try:
        at = time.time()
        for instance, project in picks:
            at += 1
            started = time.perf_counter()
            previous = db.execute("SELECT seq, * FROM instance_state_history WHERE instance_id = ?"
                                  " ORDER BY seq DESC, at DESC LIMIT 1", (instance,)).fetchone()
            db.execute(history, (instance, project, at, (previous[0] if previous else 0) + 1))
            middle = time.perf_counter()
            allocation = db.execute("SELECT id, start_at, end_at FROM allocations WHERE project_id = ? AND resource = ?",
                                    (project, "cpu")).fetchone()
            if allocation:
                db.execute("UPDATE allocations SET closed_used = closed_used + ? WHERE id = ?", (0.5, allocation[0]))
            db.execute("INSERT INTO ledger_open (instance_id, project_id, resource, since, per_hour) VALUES (?, ?, ?, ?, ?)"
                       " ON CONFLICT (instance_id) DO UPDATE SET project_id = excluded.project_id, resource ="
                       " excluded.resource, since = excluded.since, per_hour = excluded.per_hour",
                       (instance, project, "cpu", at, 2.0))
            done = time.perf_counter()
            timings["history"].append(middle - started)
            timings["ledger"].append(done - middle)
    finally:
        db.execute("ROLLBACK")
        db.close()
    return {"what": "SQL of one state change on the filled database (sqlite3, rolled back)", "changes": args.changes,
            "history_row_ms": ms(timings["history"]), "ledger_ms": ms(timings["ledger"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    sub.add_parser("seed")
    p = sub.add_parser("fill")
    p.add_argument("--db", required=True)
    p.add_argument("--projects", type=int, default=1000)
    p.add_argument("--instances", type=int, default=20000)
    p.add_argument("--days", type=float, default=YEAR_DAYS)
    p.add_argument("--mean-days", type=float, default=3)
    p.add_argument("--award", type=float, default=1e6)
    p.add_argument("--admin-project")
    p.add_argument("--seed", type=int, default=1)
    p = sub.add_parser("balances")
    p.add_argument("--calls", type=int, default=10)
    p.add_argument("--expect", type=int, default=1000)
    p = sub.add_parser("one")
    p.add_argument("--calls", type=int, default=20)
    p.add_argument("--project")
    p = sub.add_parser("allocate")
    p.add_argument("--award", type=float, default=1e6)
    p = sub.add_parser("probe")
    p.add_argument("--seconds", type=float, default=65)
    p.add_argument("--every", type=float, default=0.1)
    p = sub.add_parser("ledger-sql")
    p.add_argument("--db", required=True)
    p.add_argument("--changes", type=int, default=2000)
    p = sub.add_parser("actions")
    p.add_argument("--servers", type=int, default=10)
    p.add_argument("--pairs", type=int, default=50)
    args = parser.parse_args()
    mode = {"seed": seed, "fill": fill, "balances": balances, "one": one, "allocate": allocate,
            "probe": probe, "actions": actions, "ledger-sql": ledger_sql}[args.mode]
    print(json.dumps(mode(args)))


if __name__ == "__main__":
    main()

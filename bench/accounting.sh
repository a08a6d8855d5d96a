#!/usr/bin/env bash
# Accounting (SU ledger) figures in one run on this machine, fake driver, no networking:
#   1. one `updraft serve`: one m1.nano server made (and deleted) through the API, so the
#      instances table holds a real row; the cloud is stopped;
#   2. with sqlite3 on its database: N_PROJECTS cpu allocations (award and ledger entry each),
#      N_INSTANCES instances cloned from that row over the projects (the admin project is one
#      of them), each with HISTORY_DAYS of state changes, one every MEAN_DAYS on average
#      (about 2.4 million rows at the defaults); rows and fill time;
#   3. the cloud started again on it: start-up time and idle RSS; GET
#      /accounting/v1/allocations?all_projects=true (every balance, recomputed from the whole
#      history), the first call and the median of BALANCE_CALLS more, the answer's size and
#      count; RSS and peak RSS (VmHWM) after; GET /accounting/v1/allocations/{id} of the admin
#      project's allocation; ACTION_SERVERS servers made and ACTION_PAIRS pause/unpause and
#      suspend/resume (resume asks the ledger before the server burns again): each POST's
#      answer and POST -> settled; the server's CPU over an idle IDLE_WINDOW (the allocation
#      lifecycle recomputes every balance each minute), then a small read every 0.1 s for
#      PROBE_WINDOW: how long requests wait behind those rounds;
#   3b. the ledger's own SQL in one state change, timed with sqlite3 on the filled database;
#   4. the same allocation read and actions on a fresh cloud whose admin project has one
#      allocation made through the API and no history: what the history adds.
#
#   bench/accounting.sh                                     # defaults (about 5 minutes here)
#   N_PROJECTS=100 N_INSTANCES=2000 bench/accounting.sh     # a tenth
#   HISTORY_DAYS=365 MEAN_DAYS=3 BALANCE_CALLS=10 ONE_CALLS=20 ACTION_SERVERS=10 ACTION_PAIRS=50 \
#     IDLE_WINDOW=65 PROBE_WINDOW=65 SKIP_FRESH=1 bench/accounting.sh
#
# Uses the release binary (built if missing), bench/accounting.py (requests and the stdlib
# sqlite3) and the bench virtualenv. Everything listens on 127.0.0.1 (ports UPDRAFT_BENCH_PORT
# and the next) and is stopped by PID at the end; the scratch directory is removed.
set -euo pipefail
bench_name=accounting
# shellcheck source=bench/setup.sh
. "$(dirname "$0")/setup.sh"
port=${UPDRAFT_BENCH_PORT:-5197}
n_projects=${N_PROJECTS:-1000}
n_instances=${N_INSTANCES:-20000}
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT
acct() { "$py" "$here/accounting.py" "$@"; }
# status_kib PID FIELD: VmRSS or VmHWM of the process, in KiB.
status_kib() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"; }
# cpu_seconds PID: user + system CPU the process has used.
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}'; }

# serve NAME PORT: starts updraft on $work/NAME with the fake driver, waits until Keystone
# answers (start-up seconds in $started_in), loads its openrc into the environment.
serve() {
  local name=$1 at
  at=$(now)
  "$bin" serve --data-dir "$work/$name" --port "$2" --hypervisor fake --no-networking >>"$work/$name.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 1200); do
    curl -fsS -o /dev/null "http://127.0.0.1:$2/identity/v3" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$work/$name.log"; exit 1; }
    sleep 0.1
  done
  started_in=$(since "$at")
  # shellcheck disable=SC1090
  . "$work/$name/admin-openrc.sh"
}
halt() {
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=""
}
field() { "$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"d": d}))' "$@"; }

bench_start=$(now)
echo "=== Updraft $(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo '?') on $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GB," \
  "sqlite3 $("$py" -c 'import sqlite3; print(sqlite3.sqlite_version)') in Python"
echo "--- 1. a real instances row: one m1.nano server through the API"
serve acct "$port"
acct seed | tee "$work/seed.json"
admin_project=$(field "$work/seed.json" 'd["project_id"]')
halt
db=$work/acct/updraft.sqlite
[ -f "$db" ] || { echo "no $db in the data directory: $(ls "$work/acct")"; exit 1; }

echo "--- 2. fill: $n_projects allocations, $n_instances instances, ${HISTORY_DAYS:-365} days of history, a change every ${MEAN_DAYS:-3} days"
acct fill --db "$db" --projects "$n_projects" --instances "$n_instances" --days "${HISTORY_DAYS:-365}" \
  --mean-days "${MEAN_DAYS:-3}" --award "${AWARD:-1e6}" --admin-project "$admin_project" | tee "$work/fill.json"
du -h "$db"* | sed 's/^/  /'

echo "--- 3. the cloud again, on the filled database"
serve acct "$port"
filled_start=$started_in
sleep 3
filled_idle_rss=$(status_kib "$pid" VmRSS)
echo "start-up to Keystone answering (rebuilding the running sums from the history once): $filled_start s; idle RSS: $filled_idle_rss KiB, peak (VmHWM) $(status_kib "$pid" VmHWM) KiB"
echo "--- GET /accounting/v1/allocations?all_projects=true"
acct balances --calls "${BALANCE_CALLS:-10}" --expect "$n_projects" | tee "$work/balances.json"
filled_rss=$(status_kib "$pid" VmRSS)
filled_hwm=$(status_kib "$pid" VmHWM)
echo "after the balances: RSS $filled_rss KiB, peak (VmHWM) $filled_hwm KiB"
echo "--- GET /accounting/v1/allocations/{id}, the admin project's"
acct one --calls "${ONE_CALLS:-20}" | tee "$work/one-filled.json"
echo "--- actions with the history in place"
acct actions --servers "${ACTION_SERVERS:-10}" --pairs "${ACTION_PAIRS:-50}" | tee "$work/actions-filled.json"
filled_hwm=$(status_kib "$pid" VmHWM)
idle_cpu=""
if [ "${IDLE_WINDOW:-65}" != 0 ]; then
  echo "--- idle for ${IDLE_WINDOW:-65} s (the allocation lifecycle runs each minute)"
  cpu0=$(cpu_seconds "$pid")
  sleep "${IDLE_WINDOW:-65}"
  idle_cpu=$(awk -v a="$cpu0" -v b="$(cpu_seconds "$pid")" 'BEGIN {printf "%.2f", b - a}')
  echo "CPU of updraft serve while idle: $idle_cpu s in ${IDLE_WINDOW:-65} s; RSS $(status_kib "$pid" VmRSS) KiB"
fi
if [ "${PROBE_WINDOW:-65}" != 0 ]; then
  echo "--- a small read every 0.1 s for ${PROBE_WINDOW:-65} s: waits behind the lifecycle's rounds"
  acct probe --seconds "${PROBE_WINDOW:-65}" | tee "$work/probe.json"
fi
filled_end_rss=$(status_kib "$pid" VmRSS)
filled_hwm=$(status_kib "$pid" VmHWM)
errors=$(grep -c -iE 'error|timed out' "$work/acct.log" || true)
halt
echo "--- the ledger's SQL in one state change, on the filled database (server stopped; rolled back)"
acct ledger-sql --db "$db" | tee "$work/ledger-sql.json"

if [ -z "${SKIP_FRESH:-}" ]; then
  echo "--- 4. a fresh cloud: one allocation of the admin project, no history"
  serve fresh "$((port + 1))"
  fresh_start=$started_in
  sleep 3
  fresh_idle_rss=$(status_kib "$pid" VmRSS)
  acct allocate --award "${AWARD:-1e6}" | tee "$work/allocate.json"
  acct one --calls "${ONE_CALLS:-20}" | tee "$work/one-fresh.json"
  acct actions --servers "${ACTION_SERVERS:-10}" --pairs "${ACTION_PAIRS:-50}" | tee "$work/actions-fresh.json"
  fresh_hwm=$(status_kib "$pid" VmHWM)
  halt
fi

wall=$(since "$bench_start")
echo
echo "=== figures (accounting, $n_projects projects, $n_instances instances)"
FILLED_START=$filled_start FILLED_IDLE_RSS=$filled_idle_rss FILLED_RSS=$filled_rss FILLED_HWM=$filled_hwm \
FILLED_END_RSS=$filled_end_rss IDLE_CPU=$idle_cpu IDLE_WINDOW=${IDLE_WINDOW:-65} ERRORS=$errors \
FRESH_START=${fresh_start:-} FRESH_IDLE_RSS=${fresh_idle_rss:-} FRESH_HWM=${fresh_hwm:-} WALL=$wall \
"$py" - "$work" <<'EOF'
import json, os, sys
from pathlib import Path
work = Path(sys.argv[1])
e = os.environ
def load(name):
    p = work / f"{name}.json"
    return json.loads(p.read_text()) if p.exists() else None
fill, bal = load("fill"), load("balances")
one_f, one_n = load("one-filled"), load("one-fresh")
act_f, act_n = load("actions-filled"), load("actions-fresh")
mib = lambda kib: f"{int(kib) / 1024:.0f} MiB" if kib else "-"
r = fill["rows"]
print(f"fill: {fill['rows_total']:,} rows ({r['instance_state_history']:,} history, {r['instances']:,} instances, "
      f"{r['allocations']:,} allocations, {r['allocation_entries']:,} entries; "
      f"{fill['history_rows_per_instance']} history rows per instance) in {fill['seconds']} s, "
      f"database {fill['db_bytes'] / 2**20:.0f} MiB")
print(f"start-up on the filled database: {e['FILLED_START']} s; idle RSS {mib(e['FILLED_IDLE_RSS'])}")
ok = "ok" if bal["count_ok"] else f"EXPECTED {bal['expected']}"
print(f"all balances (GET allocations?all_projects=true): first {bal['first_seconds']:.3f} s, "
      f"then median {bal['later_seconds']['p50']:.3f} s (min {bal['later_seconds']['min']:.3f}, "
      f"max {bal['later_seconds']['max']:.3f}, {len(bal['later_seconds']['all'])} calls); "
      f"{bal['bytes']:,} bytes, {bal['allocations']} allocations ({ok}); target < 1 s")
print(f"  used {bal['used_sus']['total']:,} SUs in all (per allocation {bal['used_sus']['min']:,} to "
      f"{bal['used_sus']['max']:,}), {bal['burning']} burning, statuses {bal['statuses']}")
print(f"RSS after the balances: {mib(e['FILLED_RSS'])}, peak (VmHWM) {mib(e['FILLED_HWM'])}; "
      f"at the end {mib(e['FILLED_END_RSS'])}")
if e.get("IDLE_CPU"):
    print(f"idle CPU of the filled cloud: {e['IDLE_CPU']} s in {e['IDLE_WINDOW']} s (the lifecycle's rounds)")
probe = load("probe")
if probe:
    p = probe["ms"]
    print(f"a small read (GET flavors/42) every 0.1 s for {probe['seconds']:.0f} s on the filled cloud: p50 "
          f"{p['p50']:.1f} ms, max {p['max']:.0f} ms; {probe['over_100_ms']} of {p['n']} over 100 ms, "
          f"{probe['waited_over_100_ms_seconds']} s spent in those")
def one_line(label, d):
    if d:
        s = d["seconds"]
        print(f"{label}: GET allocations/{{id}} p50 {s['p50']:.1f} ms, max {s['max']:.1f} ms ({s['n']} calls)")
if one_f:
    one_line(f"one balance, filled (admin project, {one_f['live_servers_of_project']} instances with the history)", one_f)
one_line("one balance, fresh (admin project, no history)", one_n)
print("state changes, per action (ms): API answer p50 / p99, POST -> settled p50 / p99")
print(f"  {'action':<10} {'filled answer':>16} {'fresh answer':>16} {'filled settled':>16} {'fresh settled':>16}")
def pair(d, kind, action):
    if not d:
        return "-"
    s = d[kind][action]
    return f"{s['p50']:.1f} / {s['p99']:.1f}"
for action in ("pause", "unpause", "suspend", "resume", "all"):
    print(f"  {action:<10} {pair(act_f, 'answer_ms', action):>16} {pair(act_n, 'answer_ms', action):>16} "
          f"{pair(act_f, 'settled_ms', action):>16} {pair(act_n, 'settled_ms', action):>16}")
for label, d in (("filled", act_f), ("fresh", act_n)):
    if d:
        c = d["create_to_active_ms"]
        print(f"  create -> ACTIVE ({label}): p50 {c['p50']:.1f} ms, max {c['max']:.1f} ms ({c['n']} servers)")
if act_f and act_n:
    # Only resume (and create) ask the ledger first; the others only add a history row.
    diff = lambda kind, a: act_f[kind][a]["p50"] - act_n[kind][a]["p50"]
    print("what the history adds to one state change, p50 filled - fresh (target < 1 ms):")
    for action in ("pause", "unpause", "suspend", "resume"):
        print(f"  {action:<10} answer {diff('answer_ms', action):+6.2f} ms, settled {diff('settled_ms', action):+6.2f} ms"
              + ("  (asks the ledger for the project's balance first)" if action == "resume" else ""))
    create = act_f["create_to_active_ms"]["p50"] - act_n["create_to_active_ms"]["p50"]
    print(f"  {'create':<10} to ACTIVE {create:+6.2f} ms  (asks the ledger too)")
sql = load("ledger-sql")
if sql:
    h, l = sql["history_row_ms"], sql["ledger_ms"]
    print(f"one state change's SQL on the filled database ({sql['changes']} changes): the history row (previous row, "
          f"insert) p50 {h['p50'] * 1000:.0f} us, p99 {h['p99'] * 1000:.0f} us; the ledger on top (allocation row, "
          f"running sum, open stretch) p50 {l['p50'] * 1000:.0f} us, p99 {l['p99'] * 1000:.0f} us; target < 1 ms")
if e.get("FRESH_START"):
    print(f"fresh cloud: start-up {e['FRESH_START']} s, idle RSS {mib(e['FRESH_IDLE_RSS'])}, "
          f"peak {mib(e['FRESH_HWM'])}")
print(f"log lines of the filled cloud with 'error' or 'timed out': {e['ERRORS']}")
print(f"bench wall time: {float(e['WALL']):.0f} s")
EOF

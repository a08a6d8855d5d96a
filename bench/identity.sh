#!/usr/bin/env bash
# Measures, in one run on this machine, token validation and token issue throughput
# (requests/s, p50/p99) and idle resident memory of Updraft and of the real OpenStack
# Keystone (from ../shared/peers, with its in-process cache on, as production runs it).
#
#   bench/identity.sh            # both; DURATION=15 CONCURRENCY=8 by default
#   SKIP_KEYSTONE=1 bench/identity.sh
#
# Uses: the release binary (built if missing), ../shared/peers/keystone-peer.sh and
# bench-token.py, wrk from Debian (installed if missing), a virtualenv with aiohttp.
# Everything listens on 127.0.0.1 and is stopped by PID at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
peers=${PEERS:-$repo/../shared/peers}
duration=${DURATION:-15}
conc=${CONCURRENCY:-8}
port=${UPDRAFT_BENCH_PORT:-5077}
work=$(mktemp -d /tmp/updraft-bench.XXXXXX)

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
venv=${BENCH_VENV:-$HOME/.cache/updraft/bench-venv}
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv"; "$venv/bin/pip" install -q aiohttp==3.14.5; }
[ -x "$repo/.build/release/updraft" ] || (cd "$repo" && swift build -c release)

upid=""
cleanup() {
  [ -n "$upid" ] && kill "$upid" 2>/dev/null && wait "$upid" 2>/dev/null
  [ -z "${SKIP_KEYSTONE:-}" ] && bash "$peers/keystone-peer.sh" stop >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

rss_kib() { ps -o rss= -p "$1" | awk '{s+=$1} END {print s}'; }

# Runs the three measurements against one cloud; prints "name metric value" lines.
measure() {
  local name=$1 auth=$2 password=$3 rss_args=$4
  local token
  token=$(curl -sS -D - -o /dev/null -H 'Content-Type: application/json' "$auth/auth/tokens" -d "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"admin\",\"domain\":{\"name\":\"Default\"},\"password\":\"$password\"}}},\"scope\":{\"project\":{\"name\":\"admin\",\"domain\":{\"name\":\"Default\"}}}}}" \
    | awk 'tolower($1)=="x-subject-token:" {print $2}' | tr -d '\r')
  echo "--- $name: validate (wrk, 2 threads, 16 connections, ${duration}s)"
  wrk -t2 -c16 -d"${duration}s" --latency -H "X-Auth-Token: $token" -H "X-Subject-Token: $token" "$auth/auth/tokens" \
    | tee "$work/$name-wrk.txt" | grep -E 'Requests/sec|  50%|  99%|Non-2xx'
  echo "--- $name: validate (bench-token.py, c=$conc, ${duration}s)"
  OS_PASSWORD=$password "$venv/bin/python" "$peers/bench-token.py" --auth-url "$auth" --mode validate \
    -c "$conc" -t "$duration" $rss_args | tee "$work/$name-validate.txt"
  echo "--- $name: issue (bench-token.py, c=$conc, ${duration}s)"
  OS_PASSWORD=$password "$venv/bin/python" "$peers/bench-token.py" --auth-url "$auth" --mode issue \
    -c "$conc" -t "$duration" $rss_args | tee "$work/$name-issue.txt"
}

echo "=== Updraft ($(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo '?'))"
"$repo/.build/release/updraft" serve --data-dir "$work/updraft" --port "$port" >"$work/updraft.log" 2>&1 &
upid=$!
for _ in $(seq 1 100); do curl -fsS -o /dev/null "http://127.0.0.1:$port/identity/v3" 2>/dev/null && break; sleep 0.1; done
sleep 5
u_idle=$(rss_kib "$upid")
echo "idle RSS: $u_idle KiB"
u_pass=$(sed -n "s/^export OS_PASSWORD='\(.*\)'$/\1/p" "$work/updraft/admin-openrc.sh")
measure updraft "http://127.0.0.1:$port/identity/v3" "$u_pass" "--rss-pid $upid"

if [ -z "${SKIP_KEYSTONE:-}" ]; then
  echo "=== Keystone (KS_CACHE=dict, 2 gunicorn workers)"
  [ -x /tmp/peers/keystone/bin/keystone-manage ] || bash "$peers/keystone-peer.sh" install
  KS_CACHE=dict bash "$peers/keystone-peer.sh" setup >/dev/null 2>&1
  KS_CACHE=dict bash "$peers/keystone-peer.sh" start 2>&1 | grep -v -i -E 'eventlet|^$|framework|migration|from eventlet|If you are'

  sleep 5
  k_idle=$(bash "$peers/keystone-peer.sh" rss)
  echo "idle RSS: $k_idle KiB"
  measure keystone "http://127.0.0.1:35357/v3" peerpass "--rss-pidfile /tmp/peers/keystone-data/gunicorn.pid"
fi

echo
echo "=== Summary"
num() { grep -E "$2" "$work/$1" | head -n 1 | grep -oE '[0-9]+(\.[0-9]+)?' | head -n 1; }
for who in updraft $([ -z "${SKIP_KEYSTONE:-}" ] && echo keystone); do
  printf '%-9s validate wrk %s req/s | validate aiohttp: %s | issue: %s\n' "$who" \
    "$(num "$who-wrk.txt" 'Requests/sec')" "$(grep -oE 'validations/s=[0-9.]+ p50=[0-9.]+ms p90=[0-9.]+ms p99=[0-9.]+ms' "$work/$who-validate.txt" | head -n 1)" \
    "$(grep -oE 'tokens/s=[0-9.]+ p50=[0-9.]+ms p90=[0-9.]+ms p99=[0-9.]+ms' "$work/$who-issue.txt" | head -n 1)"
done
echo "idle RSS: updraft $u_idle KiB${k_idle:+, keystone $k_idle KiB (ratio $(awk -v a="$k_idle" -v b="$u_idle" 'BEGIN{printf "%.1f", a/b}')x)}"
if [ -n "${k_idle:-}" ]; then
  awk -v u="$(num updraft-wrk.txt 'Requests/sec')" -v k="$(num keystone-wrk.txt 'Requests/sec')" \
    'BEGIN{printf "validation throughput ratio (wrk): %.1fx\n", u/k}'
fi

#!/usr/bin/env bash
# Object storage figures in one run on this machine:
#   1. the disk under the scratch directory: sequential write and read of 1 GiB (O_DIRECT),
#      and one core's MD5 rate (OpenSSL's, as Python's hashlib uses it);
#   2. Updraft (`updraft serve`, release build): PUT and GET of 1 MiB and 256 MiB objects, 4 KiB
#      operations per second with 4 and 16 clients, resident memory during a 2 GiB upload, and
#      a page of 1,000 listed from a container of 1,000,000 objects (rows inserted straight into
#      the cloud's SQLite file while it is stopped: the listing reads only rows);
#   3. the same phases, listing left out, against the real Swift 2.38 with Keystone
#      (../shared/peers/swift-keystone-peer.sh), unless SKIP_SWIFT=1.
#
#   bench/objects.sh
#   SKIP_SWIFT=1 SIZES=1048576:50 bench/objects.sh
#
# Everything listens on 127.0.0.1 and is stopped by PID at the end.
set -euo pipefail
bench_name=objects
# shellcheck source=bench/setup.sh
. "$(dirname "$0")/setup.sh"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; fi
  [ -z "${SKIP_SWIFT:-}" ] && bash "$peers/swift-keystone-peer.sh" stop >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
args=(--sizes "${SIZES:-1048576:100,268435456:4}" --small "${SMALL:-2000}")

echo "== 1. this machine"
dd if=/dev/zero of="$work/disk.test" bs=1M count=1024 oflag=direct conv=fsync 2>&1 | tail -n 1 | sed 's/^/disk write: /'
dd if="$work/disk.test" of=/dev/null bs=1M iflag=direct 2>&1 | tail -n 1 | sed 's/^/disk read: /'
rm -f "$work/disk.test"
"$py" -c 'import hashlib, os, time
b = os.urandom(512 << 20); t = time.perf_counter(); hashlib.md5(b).hexdigest()
print("md5, one core: %.0f MiB/s" % (512 / (time.perf_counter() - t)))'

start_updraft() {
  "$bin" serve --data-dir "$work/data" --port 5194 --no-networking --hypervisor fake >>"$work/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 200); do curl -fsS -o /dev/null "http://127.0.0.1:5194/identity/v3" 2>/dev/null && break; sleep 0.1; done
}
echo "== 2. Updraft"
start_updraft
# shellcheck disable=SC1091
. "$work/data/admin-openrc.sh"
read -r token url < <("$py" -c "import sys; sys.path.insert(0, '$here'); import objects; t, u = objects.keystone(); print(t, u)")
curl -fsS -o /dev/null -X PUT -H "X-Auth-Token: $token" "$url/million"
kill "$pid" && wait "$pid" 2>/dev/null || true
# One million rows of 1 KiB objects, as if uploaded, in the container just made.
sqlite3 "$work/data/updraft.sqlite" <<SQL
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999999)
INSERT INTO object_entries (container_id, name, kind, blob, blob_size, size, etag, content_type, modified_at, metadata, headers)
SELECT (SELECT id FROM object_containers WHERE name = 'million'), printf('obj-%08d', i), 'plain', NULL, 1024, 1024,
  'd41d8cd98f00b204e9800998ecf8427e', 'application/octet-stream', 1795000000.0 + i, '{}', '{}' FROM n;
UPDATE object_containers SET object_count = 1000000, bytes_used = 1024000000 WHERE name = 'million';
SQL
start_updraft
sleep 3
"$py" "$here/objects.py" --label updraft --pid "$pid" --list-container million "${args[@]}"
kill "$pid" && wait "$pid" 2>/dev/null || true
pid=""

if [ -z "${SKIP_SWIFT:-}" ]; then
  echo "== 3. real Swift 2.38 + Keystone (peer)"
  if [ -x /tmp/peers/swift-ks/bin/swift-proxy-server ]; then bash "$peers/swift-keystone-peer.sh" setup >/dev/null; else bash "$peers/swift-keystone-peer.sh" install >/dev/null && bash "$peers/swift-keystone-peer.sh" setup >/dev/null; fi
  bash "$peers/swift-keystone-peer.sh" start >/dev/null
  proxy=$(cat /tmp/peers/swift-ks-data/run/proxy*.pid 2>/dev/null | head -n 1)
  (
    # shellcheck disable=SC1090
    . <(bash "$peers/swift-keystone-peer.sh" openrc)
    "$py" "$here/objects.py" --label swift ${proxy:+--pid "$proxy"} "${args[@]}"
  )
fi

#!/usr/bin/env bash
# Compute figures in one run on this machine:
#   1. real QEMU (TCG here): create->ACTIVE for 10 servers, and boot-to-console-marker through
#      the API against the bare qemu-system command booting the same image (the ratio);
#   2. Updraft's fake driver: create->ACTIVE for 1,000 servers, then GET /servers/detail
#      latency with 20,000 servers in the database, and idle RSS;
#   3. the real OpenStack Nova with its fake driver (../shared/peers/nova-peer.sh): create->ACTIVE
#      and GET /servers/detail with 1,000 servers, and its RSS.
#
#   bench/compute.sh                      # everything
#   SKIP_NOVA=1 SKIP_QEMU=1 SKIP_FAKE=1 bench/compute.sh
#   REAL_N=10 FAKE_N=1000 FILL_TO=20000 NOVA_N=100 NOVA_FILL=1000 bench/compute.sh
#
# Uses the release binary (built if missing), the peers' bench-compute.py (raw HTTP) and a
# virtualenv with requests. Everything listens on 127.0.0.1 and is stopped by PID at the end;
# guests are deleted through the API before their server stops.
set -euo pipefail
bench_name=compute
# shellcheck source=bench/setup.sh
. "$(dirname "$0")/setup.sh"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  [ -z "${SKIP_NOVA:-}" ] && bash "$peers/nova-peer.sh" stop >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
rss_kib() { ps -o rss= -p "$1" | awk '{s+=$1} END {print s}'; }

# serve NAME PORT ARGS...: starts updraft, waits, loads its openrc into the environment.
serve() {
  local name=$1 port=$2; shift 2
  "$bin" serve --data-dir "$work/$name" --port "$port" "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 200); do curl -fsS -o /dev/null "http://127.0.0.1:$port/identity/v3" 2>/dev/null && break; sleep 0.1; done
  # shellcheck disable=SC1090
  . "$work/$name/admin-openrc.sh"
  "$venv/bin/openstack" quota set --instances -1 --cores -1 --ram -1 admin >/dev/null 2>&1 || \
    curl -fsS -o /dev/null -X PUT -H "X-Auth-Token: $(token)" -H 'Content-Type: application/json' \
      "http://127.0.0.1:$port/compute/v2.1/os-quota-sets/$(project_id)" \
      -d '{"quota_set": {"instances": -1, "cores": -1, "ram": -1}}'
}
token() {
  curl -sS -D - -o /dev/null -H 'Content-Type: application/json' "$OS_AUTH_URL/auth/tokens" -d "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"$OS_USERNAME\",\"domain\":{\"name\":\"Default\"},\"password\":\"$OS_PASSWORD\"}}},\"scope\":{\"project\":{\"name\":\"$OS_PROJECT_NAME\",\"domain\":{\"name\":\"Default\"}}}}}" \
    | awk 'tolower($1)=="x-subject-token:" {print $2}' | tr -d '\r'
}
project_id() {
  curl -sS -H 'Content-Type: application/json' "$OS_AUTH_URL/auth/tokens" -d "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"$OS_USERNAME\",\"domain\":{\"name\":\"Default\"},\"password\":\"$OS_PASSWORD\"}}},\"scope\":{\"project\":{\"name\":\"$OS_PROJECT_NAME\",\"domain\":{\"name\":\"Default\"}}}}}" \
    | "$py" -c 'import json,sys; print(json.load(sys.stdin)["token"]["project"]["id"])'
}
# upload NAME FILE FORMAT: a public image through Glance's API.
upload() {
  local t image
  t=$(token)
  image=$(curl -fsS -H "X-Auth-Token: $t" -H 'Content-Type: application/json' "${OS_AUTH_URL%/identity/v3}/image/v2/images" \
    -d "{\"name\": \"$1\", \"disk_format\": \"$3\", \"container_format\": \"bare\", \"visibility\": \"public\"}" \
    | "$py" -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  curl -fsS -X PUT -H "X-Auth-Token: $t" -H 'Content-Type: application/octet-stream' --data-binary "@$2" \
    "${OS_AUTH_URL%/identity/v3}/image/v2/images/$image/file"
}
bc_() { "$py" "$peers/bench-compute.py" "$@"; }

echo "=== Updraft $(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo '?') on $(nproc) cores"
if [ -z "${SKIP_QEMU:-}" ]; then
  echo "--- real QEMU: create->ACTIVE, ${REAL_N:-10} servers, one at a time"
  serve real 5191
  image=$("$bin" image build tiny | head -n 1)
  upload tiny "$image" qcow2
  bc_ create -n "${REAL_N:-10}" -c 1 --image tiny --flavor m1.nano --prefix real
  bc_ purge >/dev/null
  echo "--- boot to console marker: through the API vs bare qemu-system (5 each)"
  api=$("$py" "$here/api-boot-to-marker.py" -n 5 --image tiny --flavor m1.nano)
  echo "api  $api"
  bare=$("$py" "$here/guest-boot-bare.py" -n 5 --updraft "$bin")
  echo "bare $(echo "$bare" | tr -d ' \n')"
  "$py" -c "import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2])['boot_to_marker_seconds']; print('boot-to-marker p50: API %.2f s, bare %.2f s, ratio %.3f (the API adds %+.1f%%)' % (a['p50_s'], b['p50'], a['p50_s']/b['p50'], 100*(a['p50_s']/b['p50']-1)))" "$api" "$bare"
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
fi

if [ -z "${SKIP_FAKE:-}" ]; then
echo "--- fake driver: create->ACTIVE, ${FAKE_N:-1000} servers, 8 in flight"
serve fake 5192 --hypervisor fake
head -c 1048576 /dev/zero >"$work/tiny.raw"
upload tiny "$work/tiny.raw" raw
upid=${pids[-1]}
echo "idle RSS: $(rss_kib "$upid") KiB"
bc_ create -n "${FAKE_N:-1000}" -c 8 --image tiny --flavor m1.nano --prefix fake
echo "--- fill to ${FILL_TO:-20000} servers (multi-create)"
bc_ fill --to "${FILL_TO:-20000}" --batch 200 --image tiny --flavor m1.nano
echo "--- GET /servers/detail with ${FILL_TO:-20000} servers (default page of 1,000)"
bc_ list --calls 50 --limit 1000
echo "--- GET /servers/detail?limit=100"
bc_ list --calls 50 --limit 100
echo "RSS with ${FILL_TO:-20000} servers: $(rss_kib "$upid") KiB"
fi

if [ -z "${SKIP_NOVA:-}" ]; then
  echo "=== OpenStack Nova 34 (fake driver) from $peers/nova-peer.sh"
  bash "$peers/nova-peer.sh" all >"$work/nova.log" 2>&1 || { tail -n 30 "$work/nova.log"; exit 1; }
  # shellcheck disable=SC1090
  . <(bash "$peers/nova-peer.sh" openrc)
  bash "$peers/nova-peer.sh" rss | tail -n 1
  bc_ create -n "${NOVA_N:-100}" -c 1 --image tiny --flavor f1 --prefix nova
  /tmp/peers/nova/bin/python "$peers/clone-servers.py" --to "${NOVA_FILL:-1000}"
  echo "--- Nova GET /servers/detail with ${NOVA_FILL:-1000} servers"
  bc_ list --calls 20 --limit 1000
  bash "$peers/nova-peer.sh" rss | tail -n 1
fi

#!/usr/bin/env bash
# The image library's figures on this machine:
#   1. `updraft image build debian-12 --force` from a warm package cache (a first build fills it),
#      its time and the disk's size; the same for any RECIPES named (e.g. RECIPES=debian-12-science);
#   2. boot to `cloud-init ... finished` on the serial console for debian-12, RUNS times each:
#      through the compute API (server create with a config drive and no NIC, 1 vCPU, 1 GiB,
#      polled through os-getConsoleOutput) against the same image booted by bare
#      qemu-system-x86_64 with the same devices, the agent's port and VGA among them
#      (bench/guest-boot-bare.py --agent --vga): what the cloud adds.
#
#   bench/library.sh                                  # RUNS=3
#   RUNS=5 RECIPES="debian-12-science debian-12-docker" bench/library.sh
#   UPDRAFT_BENCH_BIN=.build/debug/updraft bench/library.sh    # skip the release build
#   SKIP_BUILDS=1 bench/library.sh                    # the boots only
#
# Needs root (mmdebstrap). The cloud listens on 127.0.0.1:UPDRAFT_BENCH_PORT (5198) and is
# stopped by PID at the end; the scratch directory is removed.
set -euo pipefail
bench_name=library
# shellcheck source=bench/setup.sh
. "$(dirname "$0")/setup.sh"
port=${UPDRAFT_BENCH_PORT:-5198}
runs=${RUNS:-3}
marker='Cloud-init v\. \S+ finished at'
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "=== Updraft $(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo '?') on $(nproc) cores, $bin"
"$bin" image build debian-12 >/dev/null # fills the package cache when it is empty
# The disk's sha256 and package versions as its manifest records them.
built_file() { "$py" -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["file"]["sha256"])' "$1" 2>/dev/null || echo none; }
built_packages() { "$py" -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["packages"], sort_keys=True))' "$1" 2>/dev/null || echo none; }
cache=${XDG_CACHE_HOME:-$HOME/.cache}/updraft/images
# SKIP_BUILDS=1: the boots only (debian-12 is built if it is not cached).
if [ -z "${SKIP_BUILDS:-}" ]; then
  for recipe in debian-12 ${RECIPES:-}; do
    before=$(built_file "$cache/$recipe.json")
    before_packages=$(built_packages "$cache/$recipe.json")
    start=$(date +%s.%N)
    disk=$("$bin" image build "$recipe" --force | head -n 1)
    end=$(date +%s.%N)
    printf '%s: built in %.1f s from a warm package cache; %s qcow2, %s virtual, %s packages\n' "$recipe" \
      "$(echo "$end - $start" | bc)" "$(du -h --apparent-size "$disk" | cut -f1)" \
      "$(qemu-img info --output=json "$disk" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"] >> 30, "GiB")')" \
      "$("$py" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["packages"]))' "${disk%.qcow2}.json")"
    # Reproducible: the same packages give the same bytes (a package Debian updated in between
    # makes a different, and rightly different, disk).
    after=$(built_file "${disk%.qcow2}.json")
    if [ "$before_packages" != "$(built_packages "${disk%.qcow2}.json")" ]; then
      echo "$recipe: the package versions changed since the previous build: bytes not compared"
    elif [ "$before" = "$after" ]; then
      echo "$recipe: byte-identical to the previous build (sha256 $before)"
    else
      echo "$recipe: NOT byte-identical to the previous build of the same packages ($before, now $after)"
    fi
  done
fi

"$bin" serve --data-dir "$work/data" --port "$port" --no-networking --featured debian-12 >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do curl -fsS -o /dev/null "http://127.0.0.1:$port/identity/v3" 2>/dev/null && break; sleep 0.1; done
# shellcheck disable=SC1090
. "$work/data/admin-openrc.sh"
# A flavor the image's own size, so the API boot and the bare one have the same disk.
"$py" - <<'PY'
import os, requests
auth = os.environ["OS_AUTH_URL"].rstrip("/")
body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
    "name": os.environ["OS_USERNAME"], "password": os.environ["OS_PASSWORD"], "domain": {"name": "Default"}}}},
    "scope": {"project": {"name": os.environ["OS_PROJECT_NAME"], "domain": {"name": "Default"}}}}}
r = requests.post(auth + "/auth/tokens", json=body, timeout=30)
r.raise_for_status()
compute = auth.split("/identity")[0] + "/compute/v2.1"
requests.post(compute + "/flavors", headers={"X-Auth-Token": r.headers["X-Subject-Token"]}, timeout=30,
              json={"flavor": {"name": "bench-deb", "vcpus": 1, "ram": 1024, "disk": 3}}).raise_for_status()
PY
api=$("$py" "$here/api-boot-to-marker.py" -n "$runs" --image debian-12 --flavor bench-deb --config-drive \
  --marker "$marker" --timeout 900 --poll 0.5)
echo "api  $api"
bare=$("$py" "$here/guest-boot-bare.py" -n "$runs" --image "$cache/debian-12.qcow2" \
  --memory 1024 --agent --vga --marker "$marker" --timeout 900)
echo "bare $(echo "$bare" | tr -d ' \n')"
"$py" -c "import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2])['boot_to_marker_seconds']; print('boot to cloud-init finished, p50: API %.1f s, bare %.1f s (the cloud adds %+.1f%%)' % (a['p50_s'], b['p50'], 100*(a['p50_s']/b['p50']-1)))" "$api" "$bare"

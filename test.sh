#!/usr/bin/env bash
# Runs the whole Updraft test suite on a Debian machine: installs what is missing (apt
# packages, a Python virtualenv with the real OpenStack clients), builds once (debug), then
#   1. Swift unit and in-process API tests      (swift test)
#   2. end-to-end tests with the real openstack CLI and openstacksdk on SQLite, and
#   3. the same end-to-end tests on PostgreSQL (a private cluster on a loopback port), but for the
#      tests marked guest_bound, whose minutes are in guests rather than in the database
#   4. tempest's identity, image, object storage, compute and network API tests and its network scenario
#      (tests/tempest/run.sh, a cloud for each suite; compute and the scenario boot the tiny guest
#      image on real QEMU, the scenario logs into guests over SSH through floating IPs), and the
#      image library's end-to-end module (debian-12 built, published and configured by cloud-init)
#   5. the OpenStack interop guideline's required compute tests (interop 2020.06), counted from the
#      tempest outputs of stage 4, which runs every one of them
#   6. the bad-input stage: every route the router has, fed malformed requests (tests/badinput)
# Stages 2, 3, 4 and 6 run in two lanes side by side (see "two lanes" below); each has its own
# clouds and external CIDR.
# Everything it starts listens on 127.0.0.1 and is stopped by PID when it ends.
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)
# Each stage's line says when it started (seconds since the script began), so a slow stage shows.
log() { printf '\n== [%s, %d s] %s\n' "$(date +%T)" "$SECONDS" "$*"; }
results=$(mktemp /tmp/updraft-results.XXXXXX)
# Each stage's output is kept so the closing line can add up what ran.
run_stage() { "$@" 2>&1 | tee -a "$results"; return "${PIPESTATUS[0]}"; }
# Runs stages (shell functions) side by side, each with its output in a file of its own, then
# prints each output under its own line; fails when any of them failed. Stages that share the
# machine this way never share a cloud, a port or an external CIDR.
side_by_side() {
  local stage pids=() outs=() failed=0 i status
  for stage in "$@"; do
    outs+=("$(mktemp /tmp/updraft-stage.XXXXXX)")
    "$stage" >"${outs[-1]}" 2>&1 &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do
    status=0
    wait "${pids[$i]}" || status=$?
    log "${*:i+1:1} (side by side; ended with exit status $status)"
    tee -a "$results" <"${outs[$i]}"
    rm -f "${outs[$i]}"
    [ "$status" -eq 0 ] || failed=1
  done
  return "$failed"
}

# --- system packages -----------------------------------------------------------------------
need=()
# postgresql for the PostgreSQL tier; qemu-system-x86 and genisoimage run guests; iproute2,
# nftables, dnsmasq-base, dnsmasq-utils (dhcp_release) and iputils-ping carry and probe tenant networks; the rest build the
# tiny guest image (`updraft image build tiny`) and the library's debian-12 (mmdebstrap, e2fsprogs) and log into them.
for pkg in postgresql python3-venv curl qemu-system-x86 qemu-utils genisoimage openssh-client \
  iproute2 nftables dnsmasq-base dnsmasq-utils iputils-ping dosfstools mtools syslinux syslinux-common kmod \
  mmdebstrap e2fsprogs; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# --- Python clients ------------------------------------------------------------------------
req_hash=$(cat tests/e2e/requirements.txt tests/e2e/constraints.txt | sha256sum | cut -c1-12)
export UPDRAFT_VENV="${UPDRAFT_VENV:-$HOME/.cache/updraft/venv-$req_hash}"
if [ ! -x "$UPDRAFT_VENV/bin/openstack" ] || [ ! -x "$UPDRAFT_VENV/bin/tempest" ] || [ ! -x "$UPDRAFT_VENV/bin/swift" ]; then
  log "creating virtualenv $UPDRAFT_VENV"
  python3 -m venv "$UPDRAFT_VENV"
  "$UPDRAFT_VENV/bin/pip" install -q --upgrade pip
  "$UPDRAFT_VENV/bin/pip" install -q -c tests/e2e/constraints.txt -r tests/e2e/requirements.txt
fi
# The OSC plugin for the accounting API (`openstack allocation ...`), reinstalled only when its
# files change (names and contents, hashed into a marker in the venv). It is built from a copy,
# so no build/ or *.egg-info lands in the repo. pip builds it in an isolated environment with
# setuptools from PyPI: the venv's own setuptools (65) builds wheels only with the `wheel` package,
# which the venv lacks, so --no-build-isolation cannot build it.
osc_hash=$(find clients/osc-updraft -type f -not -path '*/__pycache__/*' -not -path '*.egg-info*' \
  -not -path 'clients/osc-updraft/build/*' -not -path 'clients/osc-updraft/dist/*' -print0 |
  sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64)
if [ "$(cat "$UPDRAFT_VENV/.osc-updraft-hash" 2>/dev/null)" != "$osc_hash" ]; then
  log "installing clients/osc-updraft into $UPDRAFT_VENV"
  osc_src=$(mktemp -d /tmp/updraft-osc.XXXXXX)
  cp -r clients/osc-updraft/. "$osc_src"
  rm -rf "$osc_src/build" "$osc_src/dist" "$osc_src"/*.egg-info
  "$UPDRAFT_VENV/bin/pip" install -q --no-deps --force-reinstall "$osc_src" || { rm -rf "$osc_src"; exit 1; }
  rm -rf "$osc_src"
  echo "$osc_hash" >"$UPDRAFT_VENV/.osc-updraft-hash"
fi

# --- format -------------------------------------------------------------------------------
log "swift format lint"
swift format lint --strict -r Sources Tests Package.swift

# --- build once ----------------------------------------------------------------------------
log "building (debug)"
# Progress lines are dropped; with pipefail a failed build still fails the script.
swift build --build-tests 2>&1 | { grep -vE '^\[[0-9]+/[0-9]+\]' || true; }
export UPDRAFT_BIN="$here/.build/debug/updraft"
# The tiny guest image every guest test boots (cached in ~/.cache/updraft/images after the first build).
log "guest image"
"$UPDRAFT_BIN" image build tiny
# The image library's debian-12 (lane A) is built meanwhile: mostly downloads and unpacking,
# cached after the first build in ~/.cache/updraft/images.
library_build_log=$(mktemp /tmp/updraft-library-build.XXXXXX)
library_build_status=$(mktemp /tmp/updraft-library-build-status.XXXXXX)
{
  status=0
  "$UPDRAFT_BIN" image build debian-12 >"$library_build_log" 2>&1 || status=$?
  echo "$status" >"$library_build_status"
} &
library_build=$!

# --- 1. unit tests -------------------------------------------------------------------------
log "swift test"
run_stage swift test --skip-build

# --- 2 to 4 and 6: two lanes, side by side -----------------------------------------------------
# The stages after the unit tests run in two lanes, each stage after the one before it in its lane,
# so the two cores stay busy until the end. The lanes never share a cloud, a port or an external
# CIDR. Lane A: end-to-end on SQLite, the image library's module, tempest's network scenario.
# Lane B: end-to-end on PostgreSQL, tempest's suites without guests, tempest compute with
# networking, the bad-input stage.
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pgdir=$(mktemp -d /tmp/updraft-pg.XXXXXX)
pgport=${UPDRAFT_PG_PORT:-$("$UPDRAFT_VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
chown postgres:postgres "$pgdir"
stop_pg() { runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null 2>&1 || true; rm -rf "$pgdir"; }
stop_background() {
  stop_pg
  # The background build's subshell and the build it runs (by their PIDs), then its files.
  if kill -0 "$library_build" 2>/dev/null; then
    pkill -P "$library_build" 2>/dev/null || true
    kill "$library_build" 2>/dev/null || true
  fi
  rm -f "$library_build_log" "$library_build_status"
}
trap stop_background EXIT
runuser -u postgres -- "$pgbin/initdb" -D "$pgdir/data" --auth=trust -U postgres >/dev/null
runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
  -o "-p $pgport -c listen_addresses=127.0.0.1 -k $pgdir" start >/dev/null
runuser -u postgres -- "$pgbin/createdb" -h 127.0.0.1 -p "$pgport" updraft_e2e
# The image library's module boots Debian guests for minutes under TCG: it runs once, in lane A.
library=tests/e2e/test_library_images.py
e2e_sqlite() { "$UPDRAFT_VENV/bin/python" -m pytest -q --durations=15 --ignore="$library" tests/e2e; }
# Its clouds' external networks on a CIDR of their own: the SQLite tier's use the default. Tests
# marked guest_bound (their minutes are in guests, not in the database) run on SQLite only.
e2e_postgresql() {
  UPDRAFT_E2E_EXTERNAL_CIDR=198.18.7.0/24 \
    UPDRAFT_TEST_DATABASE="postgres://postgres@127.0.0.1:$pgport/updraft_e2e?sslmode=disable" \
    "$UPDRAFT_VENV/bin/python" -m pytest -q --durations=15 --ignore="$library" tests/e2e
}
# The suites that boot no guest share one cloud and one tempest run. Their outputs are kept for
# the interop counts (stage 5), which read them rather than run the listed tests again.
tempest_outputs=$(mktemp -d /tmp/updraft-tempest-outputs.XXXXXX)
tempest_apis() {
  TEMPEST_OUTPUT=$tempest_outputs/apis.out TEMPEST_EXTERNAL_CIDR=198.18.102.0/24 \
    TEMPEST_REGEX='^tempest\.api\.(identity|image\.v2|object_storage|volume)' bash tests/tempest/run.sh
}
# The volume tests that attach to servers run here too: tempest skips them without Neutron.
tempest_compute() {
  local volume_with_servers='volume\.((admin\.)?test_volumes_actions|test_volumes_backup|test_volumes_snapshots\.VolumesSnapshotTestJSON|test_volumes_extend\.VolumesExtendAttachedTest)'
  local compute='compute\.(servers|flavors|keypairs|images|test_quotas|test_versions|volumes\.test_attach_volume)'
  TEMPEST_OUTPUT=$tempest_outputs/compute.out TEMPEST_NEUTRON=true TEMPEST_EXTERNAL_CIDR=198.18.101.0/24 \
    TEMPEST_REGEX="^tempest\.api\.($compute|network|$volume_with_servers)" bash tests/tempest/run.sh
}
tempest_scenario() {
  TEMPEST_NEUTRON=true TEMPEST_VALIDATION=true TEMPEST_CONCURRENCY=1 TEMPEST_EXTERNAL_CIDR=198.18.100.0/24 \
    TEMPEST_REGEX='^tempest\.scenario\.test_network_basic_ops' bash tests/tempest/run.sh
}
# The image library's end-to-end module: it publishes debian-12 (built in the background since
# the unit tests) into a cloud of its own and boots it with cloud-init. A failed background build
# is shown here; the module then builds again and says why it fails.
library_module() {
  local waited=0
  while [ ! -s "$library_build_status" ] && [ "$waited" -lt 1800 ]; do sleep 5; waited=$((waited + 5)); done
  if [ "$(cat "$library_build_status" 2>/dev/null)" != 0 ]; then
    echo "updraft image build debian-12 failed or is still running:"
    tail -n 20 "$library_build_log"
  fi
  UPDRAFT_E2E_EXTERNAL_CIDR=198.18.8.0/24 "$UPDRAFT_VENV/bin/python" -m pytest -q --durations=5 "$library"
}
bad_input() { "$UPDRAFT_VENV/bin/python" tests/badinput/run.py; }
# Runs the stages named, one after another, each under its own line; fails when any failed.
lane() {
  local stage failed=0
  for stage in "$@"; do
    log "$stage"
    "$stage" || failed=1
  done
  return "$failed"
}
lane_a() { lane e2e_sqlite library_module tempest_scenario; }
lane_b() { lane e2e_postgresql tempest_apis tempest_compute bad_input; }
log "two lanes side by side: A) end-to-end on SQLite, the image library's module, tempest's network scenario (real guests, SSH through floating IPs); B) end-to-end on PostgreSQL, tempest's identity, image, object storage and volume API tests (Swift's include the interop 2020.06 object list), tempest compute (servers, flavors, keypairs, images, quotas, versions, attached volumes), network and attached-volume tests with networking, then the bad-input stage (every route, malformed requests, as admin, member and reader)"
side_by_side lane_a lane_b

# --- 5. the interop 2020.06 compute list -----------------------------------------------------
# Every listed test ran above, in the suite it belongs to: counted from those outputs, not run twice.
interop_counts=$(python3 tests/tempest/interop-counts.py tests/tempest/interop-2020.06-compute.lst \
  "$tempest_outputs/apis.out" "$tempest_outputs/compute.out")
echo "$interop_counts"
rm -rf "$tempest_outputs"

badinput=$(grep -E '^bad-input stage: ' "$results" | tail -n 1)

swift_passed=$(grep -oE 'Test run with [0-9]+ tests? .*passed' "$results" | grep -oE '[0-9]+' | head -n 1)
pytest_passed=$(grep -oE '^[0-9]+ passed' "$results" | awk '{s+=$1} END {print s+0}')
tempest_passed=$(grep -oE '^  Passed: [0-9]+' "$results" | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
tempest_skipped=$(grep -oE '^  Skipped: [0-9]+' "$results" | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
pytest_skipped=$(grep -E '^[0-9]+ passed' "$results" | grep -oE '[0-9]+ skipped' | awk '{s+=$1} END {print s+0}')
rm -f "$results"
log "all tests passed (swift ${swift_passed:-0}, end-to-end ${pytest_passed}, tempest ${tempest_passed:-0}; tempest known failures listed in tests/tempest/known-failures.txt)"
echo "$interop_counts"
echo "$badinput"
echo "$(( ${swift_passed:-0} + pytest_passed + ${tempest_passed:-0} )) passed, 0 failed, $(( ${tempest_skipped:-0} + pytest_skipped )) skipped"

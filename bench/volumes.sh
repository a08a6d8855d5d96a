#!/usr/bin/env bash
# Block storage (Cinder v3) figures in one run on this machine, on one `updraft serve`:
#   1. attach -> visible in a running guest: a 1 GB volume hot-attached through
#      POST /servers/{id}/os-volume_attachments to a guest (real QEMU, TCG here) on a routed
#      network, reached over SSH through a floating IP; time to the disk in the guest's
#      /sys/block and to the volume `in-use`, and the same for a detach (bench/volumes.py attach);
#   2. sequential write and read with dd on that volume inside the guest, against the same size
#      on the host in the data directory's filesystem (both O_DIRECT where dd has it);
#   3. a volume from a 1 GiB qcow2 image of random bytes: the first POST /volumes with imageRef
#      to `available` (fills the base cache), later ones (qcow2 children of the base), against
#      `qemu-img convert` of the image into a standalone qcow2 in the data directory;
#   4. empty 1 GB volumes one at a time: the POST's latency and POST -> `available`;
#   5. lists with 10,000 volumes in the project: GET /volumes/detail as `openstack volume list`
#      sends it (no limit), GET /volumes, ?limit=1000 and ?limit=100; one `openstack volume list`
#      (wall time, and the requests it sent); RSS of updraft serve.
#
#   bench/volumes.sh                       # everything (about 20 minutes here)
#   SKIP_GUESTS=1 SKIP_IMAGE=1 bench/volumes.sh                 # 4 and 5 only, no networking
#   ATTACH_RUNS=5 IO_MIB=256 IMAGE_RUNS=5 CREATE_N=50 LIST_TO=10000 LIST_CALLS=50 bench/volumes.sh
#   SKIP_CREATE=1 SKIP_LIST=1 EXTERNAL_CIDR=198.18.85.0/24 bench/volumes.sh
#   ACCELERATOR=tcg bench/volumes.sh       # where the KVM probe passes but real guests fail under KVM
#
# Uses the release binary (built if missing), qemu-img, and for 1-2 root, QEMU, the networking
# tools and the tiny guest image (`updraft image build tiny`, built if not cached), with nothing
# else on EXTERNAL_CIDR (default 198.18.0.0/24). The `openstack` CLI is taken from the bench
# virtualenv when it has one. Everything listens on 127.0.0.1 and is stopped by PID at the end;
# the guest is deleted through the API, and the cloud's namespaces, bridges and nftables tables
# are removed with `updraft admin remove-network`.
set -euo pipefail
bench_name=volumes
# shellcheck source=bench/setup.sh
. "$(dirname "$0")/setup.sh"
port=${UPDRAFT_BENCH_PORT:-5195}
data=$work/data
pid=""
networking=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; fi
  # Guests this cloud started and did not stop (only when the run failed half-way).
  for guest in $(pgrep -f -- "qemu-system.*$data/instances" || true); do kill -9 "$guest" 2>/dev/null || true; done
  if [ -n "$networking" ]; then "$bin" admin remove-network --data-dir "$data" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
rss_kib() { ps -o rss= -p "$1" | awk '{s+=$1} END {print s}'; }
vol() { "$py" "$here/volumes.py" "$@"; }

echo "=== Updraft $(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo '?') on $(nproc) cores, $(df -h --output=source,fstype "$work" | tail -n 1)"
net_args=(--no-networking)
if [ -z "${SKIP_GUESTS:-}" ]; then
  "$bin" image build tiny >/dev/null
  net_args=(--networking --external-cidr "${EXTERNAL_CIDR:-198.18.0.0/24}" --accelerator "${ACCELERATOR:-auto}")
  networking=1
fi
"$bin" serve --data-dir "$data" --port "$port" "${net_args[@]}" >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do curl -fsS -o /dev/null "http://127.0.0.1:$port/identity/v3" 2>/dev/null && break; sleep 0.1; done
# shellcheck disable=SC1091
. "$data/admin-openrc.sh"
vol quota >/dev/null
sleep 3
echo "idle RSS of updraft serve: $(rss_kib "$pid") KiB"

if [ -z "${SKIP_GUESTS:-}" ]; then
  echo "== 1-2. attach/detach a 1 GB volume to a running guest, then dd on it in the guest and on the host"
  vol attach -n "${ATTACH_RUNS:-5}" --io-mib "${IO_MIB:-256}" --data-dir "$data"
fi

if [ -z "${SKIP_IMAGE:-}" ]; then
  echo "== 3. volume from a 1 GiB image: first create, later creates, against a full copy"
  vol image -n "${IMAGE_RUNS:-5}" --data-dir "$data"
fi

if [ -z "${SKIP_CREATE:-}" ]; then
  echo "== 4. empty 1 GB volumes, one at a time"
  vol create -n "${CREATE_N:-50}"
fi

if [ -z "${SKIP_LIST:-}" ]; then
  echo "== 5. lists with ${LIST_TO:-10000} volumes"
  vol fill --to "${LIST_TO:-10000}" -c "${FILL_CLIENTS:-8}"
  sleep 3
  echo "RSS of updraft serve with ${LIST_TO:-10000} volumes: $(rss_kib "$pid") KiB"
  vol list --calls "${LIST_CALLS:-50}"
  if [ -x "$venv/bin/openstack" ]; then
    echo "--- openstack volume list ($("$venv/bin/openstack" --version 2>&1)): the requests it sends"
    "$venv/bin/openstack" volume list --debug -f value -c ID 2>"$work/cli-debug.log" >/dev/null
    grep -oE 'REQ: curl -g -i -X [A-Z]+ [^ ]+' "$work/cli-debug.log" | sed 's/^REQ: curl -g -i -X /  /' | grep -v '/identity/' || true
    for run in 1 2 3; do
      started=$(date +%s.%N)
      rows=$("$venv/bin/openstack" volume list -f value -c ID | wc -l)
      ended=$(date +%s.%N)
      echo "openstack volume list, run $run: $rows rows in $(awk -v a="$started" -v b="$ended" 'BEGIN{printf "%.2f", b-a}') s (wall, CLI start-up included)"
    done
    started=$(date +%s.%N)
    "$venv/bin/openstack" --version >/dev/null 2>&1
    ended=$(date +%s.%N)
    echo "openstack --version alone: $(awk -v a="$started" -v b="$ended" 'BEGIN{printf "%.2f", b-a}') s"
  else
    echo "(no openstack CLI in $venv: the CLI's wall time is left out)"
  fi
  echo "RSS of updraft serve after the lists: $(rss_kib "$pid") KiB"
fi

#!/usr/bin/env bash
# Networking figures in one run on this machine:
#   1. idle RSS of `updraft serve` with networking on (the whole control plane, one process);
#   2. server create -> SSH answering through a floating IP (real QEMU, TCG here), against the
#      same image booted by bare qemu-system on a tap on a bridge with DHCP (bench/guest-ssh.py);
#   3. a security-group rule change reaching a running guest (rule deleted -> new TCP 22
#      connections refused; rule created -> accepted);
#   4. the peers' bench-network.py against Updraft: single port creates, rule creates, bulk fills
#      and GET /v2.0/ports at 1,000 and 10,000 ports, with RSS;
#   5. the same bench against the real Neutron 29 API (../shared/peers/neutron-peer.sh), shorter
#      (NEUTRON_ARGS), unless SKIP_NEUTRON=1.
#
#   bench/network.sh
#   SKIP_NEUTRON=1 SKIP_GUESTS=1 bench/network.sh
#   GUEST_RUNS=3 RULE_RUNS=10 UPDRAFT_ARGS="-n 200 --list-sizes 1000,10000 --list-calls 30,10" bench/network.sh
#
# Uses the release binary (built if missing) and must run as root with nothing else using
# 198.18.0.0/24. Everything listens on 127.0.0.1 and is stopped by PID at the end; the cloud's
# namespaces and bridges are removed with `updraft admin remove-network`.
set -euo pipefail
bench_name=network
# shellcheck source=bench/setup.sh
. "$(dirname "$0")/setup.sh"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; fi
  for guest in $(pgrep -f -- "qemu-system.*$work/data/instances" || true); do kill -9 "$guest" 2>/dev/null || true; done
  "$bin" admin remove-network --data-dir "$work/data" >/dev/null 2>&1 || true
  [ -z "${SKIP_NEUTRON:-}" ] && bash "$peers/neutron-peer.sh" stop >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
rss_kib() { ps -o rss= -p "$1" | awk '{s+=$1} END {print s}'; }

"$bin" serve --data-dir "$work/data" --port 5193 --networking >"$work/serve.log" 2>&1 &
pid=$!
echo "$pid" >"$work/updraft.pid"
for _ in $(seq 1 200); do curl -fsS -o /dev/null "http://127.0.0.1:5193/identity/v3" 2>/dev/null && break; sleep 0.1; done
# shellcheck disable=SC1091
. "$work/data/admin-openrc.sh"
sleep 5
echo "== 1. idle RSS of updraft serve with networking: $(rss_kib "$pid") KiB"

if [ -z "${SKIP_GUESTS:-}" ]; then
  echo "== 2. start to SSH: bare QEMU on a tap on a bridge, then through the cloud"
  UPDRAFT_BIN="$bin" "$py" "$here/guest-ssh.py" bare -n "${GUEST_RUNS:-3}"
  "$py" "$here/guest-ssh.py" cloud -n "${GUEST_RUNS:-3}"
  echo "== 3. security-group rule changes on a running guest"
  "$py" "$here/guest-ssh.py" rule -n "${RULE_RUNS:-10}"
fi

echo "== 4. bench-network.py against Updraft (member of project bench, network quotas unlimited, as on the peer)"
osc() { "$venv/bin/openstack" "$@" >/dev/null; }
osc project create bench
osc user create --project bench --password benchpass bench
osc role add --project bench --user bench member
osc quota set --networks -1 --subnets -1 --ports -1 --secgroups -1 --secgroup-rules -1 bench
# shellcheck disable=SC2086
OS_USERNAME=bench OS_PASSWORD=benchpass OS_PROJECT_NAME=bench \
  "$py" "$peers/bench-network.py" ${UPDRAFT_ARGS:-} --pidfile "updraft=$work/updraft.pid"
T=$(OS_USERNAME=bench OS_PASSWORD=benchpass OS_PROJECT_NAME=bench "$venv/bin/openstack" token issue -f value -c id)
echo "GET /v2.0/ports as the server answers it (curl, time to the last byte, 10 calls):"
for _ in $(seq 1 10); do
  curl -s -o /dev/null -w '%{time_total} ' -H "X-Auth-Token: $T" http://127.0.0.1:5193/networking/v2.0/ports
done
echo
echo "RSS of updraft serve after the bench: $(rss_kib "$pid") KiB"

if [ -z "${SKIP_NEUTRON:-}" ]; then
  echo "== 5. bench-network.py against the real Neutron 29 API (neutron-peer.sh)"
  bash "$peers/setup-clients.sh" >/dev/null
  # The peer's own Keystone (neutron-peer.sh installs Neutron only).
  [ -x /tmp/peers/keystone/bin/keystone-manage ] || bash "$peers/keystone-peer.sh" install >/dev/null
  bash "$peers/neutron-peer.sh" all >/dev/null
  # shellcheck disable=SC1090
  . <(bash "$peers/neutron-peer.sh" openrc bench)
  run=/tmp/peers/neutron-data/run
  # shellcheck disable=SC2086
  /tmp/peers/clients/bin/python "$peers/bench-network.py" ${NEUTRON_ARGS:--n 50 --list-sizes 1000 --list-calls 10} \
    --pidfile "neutron-api=$run/neutron-api.pid" --pidfile "mariadb=$run/mariadb.pid"
fi

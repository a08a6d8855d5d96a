# Sourced by the bench scripts: the repository, the peers, a virtualenv with requests, a scratch
# directory named after the bench (`bench_name` set first) and the release binary, built if stale.
here=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
repo=$(cd "$here/.." && pwd)
peers=${PEERS:-$repo/../shared/peers}
venv=${BENCH_VENV:-${UPDRAFT_VENV:-$HOME/.cache/updraft/bench-venv}}
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv"; "$venv/bin/pip" install -q requests; }
py="$venv/bin/python"
work=$(mktemp -d "/tmp/updraft-bench-$bench_name.XXXXXX")
# UPDRAFT_BENCH_BIN names another binary (a debug build, for figures a guest's boot dominates).
if [ -n "${UPDRAFT_BENCH_BIN:-}" ]; then
  bin=$UPDRAFT_BENCH_BIN
else
  bin="$repo/.build/release/updraft"
  (cd "$repo" && swift build -c release 2>&1 | tail -n 1)
fi

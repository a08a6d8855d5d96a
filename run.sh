#!/usr/bin/env bash
# Builds Updraft (release) and serves a cloud from ./updraft-data on http://127.0.0.1:5000.
# Extra arguments go to `updraft serve` (e.g. --port 5001, --database postgres://...).
# Needs the Swift 6 toolchain on PATH; installs nothing else today (SQLite is built in).
set -euo pipefail
cd "$(dirname "$0")"
swift build -c release
exec .build/release/updraft serve --data-dir "${UPDRAFT_DATA:-./updraft-data}" "$@"

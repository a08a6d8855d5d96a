#!/usr/bin/env bash
# Builds Updraft (release), builds the tiny guest image (cached after the first time) and
# serves a cloud from ./updraft-data on http://127.0.0.1:5000.
# Extra arguments go to `updraft serve` (e.g. --port 5001, --database postgres://...).
# Needs the Swift 6 toolchain on PATH; installs QEMU, the networking tools and the image build
# tools with apt when missing.
set -euo pipefail
cd "$(dirname "$0")"
need=()
for pkg in qemu-system-x86 qemu-utils genisoimage iproute2 nftables dnsmasq-base dnsmasq-utils dosfstools mtools syslinux \
  syslinux-common kmod; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  # A fresh machine has no package lists: update them before installing.
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
swift build -c release
.build/release/updraft image build tiny >/dev/null
exec .build/release/updraft serve --data-dir "${UPDRAFT_DATA:-./updraft-data}" "$@"

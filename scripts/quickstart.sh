#!/usr/bin/env bash
# Sets up what WireState needs on a fresh Debian/Ubuntu machine with Swift 6, builds it, and
# analyses a bundled capture. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
pkg-config --exists libpcap 2>/dev/null || need+=(libpcap-dev)
# gzip, zstd, xz and bzip2 captures are read directly through these libraries.
[ -e /usr/include/zlib.h ] || need+=(zlib1g-dev)
[ -e /usr/include/zstd.h ] || need+=(libzstd-dev)
[ -e /usr/include/lzma.h ] || need+=(liblzma-dev)
[ -e /usr/include/bzlib.h ] || need+=(libbz2-dev)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing ${need[*]} with apt-get…"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}"
  else
    echo "WireState needs: ${need[*]}" >&2
    echo "Install them, e.g.: sudo apt-get install -y ${need[*]}   (Fedora: libpcap-devel zlib-devel libzstd-devel xz-devel bzip2-devel)" >&2
    exit 1
  fi
fi
command -v swift >/dev/null 2>&1 || { echo "Swift 6 is needed: https://www.swift.org/install/" >&2; exit 1; }

# The first build fetches the Swift packages WireState uses (swift-argument-parser) from GitHub.
swift build -c release
echo
echo "\$ .build/release/wirestate analyze Captures/multi.pcap"
.build/release/wirestate analyze --no-pager Captures/multi.pcap
echo
# On PATH: /usr/local/bin as root, ~/.local/bin otherwise (scripts/install.sh says which).
scripts/install.sh

#!/usr/bin/env bash
# Installs the wirestate binary on PATH: scripts/install.sh [PREFIX]
#   PREFIX defaults to /usr/local as root and ~/.local otherwise; the binary goes to PREFIX/bin.
#   WIRESTATE_STATIC=1 builds it with the Swift runtime linked in (--static-swift-stdlib), so it runs
#   on a host without the Swift toolchain (it still needs libpcap, zlib, zstd, xz and bzip2 there).
#   WIRESTATE_BINARY=PATH installs that binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -gt 1 ]; then echo "usage: scripts/install.sh [PREFIX]" >&2; exit 64; fi
if [ $# -eq 1 ]; then
  prefix=$1
  why="as asked"
elif [ "$(id -u)" = 0 ]; then
  prefix=/usr/local
  why="the default as root"
else
  prefix=$HOME/.local
  why="the default without root; run as root for /usr/local"
fi

binary=${WIRESTATE_BINARY:-}
if [ -z "$binary" ]; then
  flags=(-c release)
  if [ "${WIRESTATE_STATIC:-0}" = 1 ]; then flags+=(--static-swift-stdlib --scratch-path .build-static); fi
  echo "Building: swift build ${flags[*]} --product wirestate (the first build fetches Swift packages)"
  swift build "${flags[@]}" --product wirestate
  binary=$(swift build "${flags[@]}" --show-bin-path)/wirestate
fi

mkdir -p "$prefix/bin"
install -m 0755 "$binary" "$prefix/bin/wirestate"
echo "Installed $prefix/bin/wirestate ($why)."
case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) echo "Note: $prefix/bin is not on your PATH; add it, e.g.: export PATH=\"$prefix/bin:\$PATH\"" ;;
esac

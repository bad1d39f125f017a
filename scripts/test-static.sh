#!/usr/bin/env bash
# Builds wirestate with --static-swift-stdlib and proves it runs without the Swift toolchain: the
# binary is copied into an empty root holding only it, the dynamic loader and the C libraries it
# links (libpcap, zlib, zstd, xz, bzip2, libc, libstdc++…, copied from the system), and run there
# under chroot, where no toolchain folder exists. Needs root (chroot); says so and exits 0 without.
#   scripts/test-static.sh [BINARY]   (BINARY: an already built static binary)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then echo "test-static: skipped: chroot needs root"; exit 0; fi

binary=${1:-}
if [ -z "$binary" ]; then
  swift build -c release --static-swift-stdlib --scratch-path .build-static --product wirestate
  binary=$(swift build -c release --static-swift-stdlib --scratch-path .build-static --show-bin-path)/wirestate
fi

# What it links must not include the Swift runtime.
if ldd "$binary" | grep -E 'libswift|libFoundation|libdispatch|swift'; then
  echo "test-static: FAIL: the binary still links Swift runtime libraries (above)" >&2; exit 1
fi

root=$(mktemp -d /tmp/wirestate-static-root.XXXXXX)
trap 'umount "$root/proc" 2>/dev/null || true; rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp" "$root/captures" "$root/proc"
# Every Linux host has /proc, and the static Swift runtime reads the arguments from /proc/self/cmdline.
mount -t proc proc "$root/proc"
cp "$binary" "$root/bin/wirestate"
for lib in $(ldd "$binary" | grep -oE '/[^ ]+'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
cp Captures/half-close.pcap "$root/captures/"
gzip -c Captures/multi.pcap > "$root/captures/multi.pcap.gz"

echo "test-static: root holds only: $(cd "$root" && find . -path ./proc -prune -o -type f -print | sort | tr '\n' ' ')"
out=$(chroot "$root" /bin/wirestate analyze --state CLOSE_WAIT /captures/half-close.pcap)
echo "$out"
echo "$out" | grep -q 'FIN_WAIT_2 *CLOSE_WAIT' || { echo "test-static: FAIL: unexpected output" >&2; exit 1; }
chroot "$root" /bin/wirestate analyze --quiet /captures/multi.pcap.gz | grep -q 'Totals: 6 connections' \
  || { echo "test-static: FAIL: compressed capture" >&2; exit 1; }
chroot "$root" /bin/wirestate analyze --help | grep -q EXAMPLES || { echo "test-static: FAIL: help" >&2; exit 1; }
echo "test-static: OK: $(du -h "$binary" | cut -f1) binary runs in a root without the Swift toolchain"

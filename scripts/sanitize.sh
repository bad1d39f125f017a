#!/usr/bin/env bash
# Runs the test suite under sanitizers, each in its own scratch dir (.build-<sanitizer>, gitignored).
#   scripts/sanitize.sh [address|undefined|thread ...]      (default: address undefined)
# address:   ASan + LeakSanitizer; leaks inside the toolchain's libraries are suppressed by
#            .ci/lsan.supp (never WireState's own). This is what .ci/run runs.
# undefined: UBSan (-sanitize=undefined). Swift traps on overflow and bounds by itself; UBSan adds
#            checks for the C it calls into (libpcap headers are only declarations, so this mostly
#            confirms nothing undefined is reached through inline C). Fails on the first report.
# thread:    TSan. Not run by default: see docs/fuzzing.md for its status.
set -euo pipefail
cd "$(dirname "$0")/.."
sanitizers=("$@")
[ ${#sanitizers[@]} -gt 0 ] || sanitizers=(address undefined)
export LSAN_OPTIONS="suppressions=$PWD/.ci/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export TSAN_OPTIONS="halt_on_error=1"
export SWIFT_BACKTRACE=enable=no
for s in "${sanitizers[@]}"; do
    echo "== swift test --sanitize=$s"
    nice -n 10 swift test --sanitize="$s" --scratch-path ".build-$s"
done

#!/usr/bin/env bash
# Runs the test suite under sanitizers, each in its own scratch dir (.build-<sanitizer>, gitignored).
#   scripts/sanitize.sh [address|thread ...]      (default: address)
# address: ASan + LeakSanitizer; leaks inside the toolchain's libraries are suppressed by
#          .ci/lsan.supp (never WireState's own). This is what .ci/run runs.
# thread:  TSan; verified on the suites that run threads (the live capture thread:
#          --filter 'CaptureRing|LiveBurst|LivePipeline', no report; docs/live.md).
# SANITIZE_FILTER=REGEX passes --filter to swift test.
# UBSan does not exist for Swift on Linux: Swift 6.3.1 rejects -sanitize=undefined ("unsupported
# option for target x86_64-unknown-linux-gnu"). Swift itself traps on overflow, out-of-bounds
# access and exclusivity violations in the debug builds `swift test` uses, and the fuzz targets
# build in release with those traps kept (-O, not -Ounchecked) under ASan: that is the UBSan-style
# coverage. Asking for `undefined` here says so and fails.
set -euo pipefail
cd "$(dirname "$0")/.."
sanitizers=("$@")
[ ${#sanitizers[@]} -gt 0 ] || sanitizers=(address)
export LSAN_OPTIONS="suppressions=$PWD/.ci/lsan.supp:print_suppressions=0"
export TSAN_OPTIONS="halt_on_error=1"
export SWIFT_BACKTRACE=enable=no
for s in "${sanitizers[@]}"; do
    if [ "$s" = undefined ]; then
        echo "UBSan is not supported by Swift on Linux (see the comment at the top of $0)" >&2
        exit 2
    fi
    echo "== swift test --sanitize=$s"
    nice -n 10 swift test --sanitize="$s" --scratch-path ".build-$s" ${SANITIZE_FILTER:+--filter "$SANITIZE_FILTER"}
done

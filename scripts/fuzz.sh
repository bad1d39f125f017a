#!/usr/bin/env bash
# Builds the libFuzzer targets (Fuzz/) with ASan and runs each for SECONDS, one after another.
#   scripts/fuzz.sh SECONDS [TARGET...]       (default: every target)
# Env: FUZZ_RUNS=N stops each target after N inputs instead (-runs=N, SECONDS still caps it);
#      FUZZ_LOG=DIR keeps each target's libFuzzer output there (default: a temp dir);
#      FUZZ_ASAN=0 builds without AddressSanitizer (Swift's own overflow/bounds traps stay) into
#      Fuzz/.build-noasan: 5-7x the inputs per second, for the long recorded runs (docs/fuzzing.md);
#      FUZZ_MAX_LEN=N caps input size (default 65536).
# Exits non-zero if any target crashes; the crashing input is left in Fuzz/artifacts/.
# Seeds come from Fuzz/seed-corpus.py; the growing corpora live in Fuzz/corpus/<TARGET> (gitignored).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:?usage: scripts/fuzz.sh SECONDS [TARGET...]}
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(FuzzDecoder FuzzTracker FuzzCaptureFile FuzzPcapng FuzzReporters FuzzExpectations)
if [ "${FUZZ_ASAN:-1}" = 0 ]; then
    build=Fuzz/.build-noasan
    swift build -c release --package-path Fuzz --scratch-path "$build" -Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library
else
    build=Fuzz/.build
    swift build -c release --package-path Fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
fi
python3 Fuzz/seed-corpus.py
log=${FUZZ_LOG:-$(mktemp -d)}
mkdir -p "$log" Fuzz/artifacts
# Swift's own crash backtracer reads memory ASan flags; libFuzzer prints the stack itself.
export SWIFT_BACKTRACE=enable=no
# Inputs above 64 KiB only slow the search; the largest seed capture is 24 KB.
status=0
for t in "${targets[@]}"; do
    echo "== $t: ${seconds}s${FUZZ_RUNS:+, at most $FUZZ_RUNS inputs}"
    if ! nice -n 19 "$build/release/$t" -max_total_time="$seconds" ${FUZZ_RUNS:+-runs=$FUZZ_RUNS} \
        -max_len="${FUZZ_MAX_LEN:-65536}" -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="Fuzz/artifacts/$t-" \
        "Fuzz/corpus/$t" > "$log/$t.log" 2>&1; then
        status=1
        echo "   CRASH: see $log/$t.log and Fuzz/artifacts/"
        grep -aE "ERROR|Fatal error|SUMMARY" "$log/$t.log" | head -5 || true
    fi
    # The summary docs/fuzzing.md records: inputs run, final coverage, rate.
    grep -aE "^#[0-9]+ +DONE|stat::number_of_executed_units|stat::average_exec_per_sec" "$log/$t.log" | sed 's/^/   /' || true
done
exit $status

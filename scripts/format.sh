#!/usr/bin/env bash
# The code's layout, checked the way .ci/run checks it (swift-format ships with the toolchain;
# .swift-format holds the configuration: 4-space indentation, 160 columns, the layout rules on and
# the naming and style rules that this code does not follow by design off).
#   scripts/format.sh          lint: exits non-zero and names file:line for every difference
#   scripts/format.sh --fix    rewrite the files in place
set -euo pipefail
cd "$(dirname "$0")/.."
paths=(Package.swift Sources Tests Fuzz/Package.swift Fuzz/Sources)
if [ "${1:-}" = "--fix" ]; then
    swift format format --in-place --parallel --recursive "${paths[@]}"
else
    swift format lint --strict --parallel --recursive "${paths[@]}"
fi

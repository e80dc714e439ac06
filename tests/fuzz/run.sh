#!/usr/bin/env bash
# Runs one libFuzzer target of a -DBMX_FUZZ=ON build for a while, seeded with its corpus test's inputs.
#   tests/fuzz/run.sh BUILD_DIR TARGET [SECONDS] [extra libFuzzer flags...]
# New inputs go to BUILD_DIR/fuzz/corpus/TARGET, crashes to BUILD_DIR/fuzz/artifacts/TARGET, the log (with
# libFuzzer's final stats) to BUILD_DIR/fuzz/logs/TARGET.log. A crash input belongs in
# tests/fuzz/regressions/TARGET/ once understood.
set -euo pipefail
build=$(cd "$1" && pwd); target=$2; seconds=${3:-600}; shift $(( $# < 3 ? $# : 3 ))
exe=$build/tests/fuzz/fuzz_$target
seeds=$build/tests/fuzz/fuzz_$target.seeds
[[ -x $exe && -f $seeds ]] || { echo "no fuzzer $exe (configure with -DCMAKE_CXX_COMPILER=clang++-14 -DBMX_FUZZ=ON)" >&2; exit 2; }
corpus=$build/fuzz/corpus/$target; artifacts=$build/fuzz/artifacts/$target; log=$build/fuzz/logs/$target.log
mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
mapfile -t seed_dirs < "$seeds"
# The same sanitizer settings as the CTest tests (cmake/Sanitizers.cmake).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$(dirname "$0")/../../cmake/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# -max_len: the reference folder holds MB-sized structures; fuzzing mutates at most the first 64 KB of an input.
exec "$exe" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=65536 -print_final_stats=1 \
  -artifact_prefix="$artifacts/" "$@" "$corpus" "${seed_dirs[@]}" > "$log" 2>&1

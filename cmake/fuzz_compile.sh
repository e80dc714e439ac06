#!/usr/bin/env bash
# Compiler launcher of -DBMX_FUZZ=ON builds (cmake/Sanitizers.cmake): compiles with clang (ASan, UBSan, libFuzzer
# coverage) and, for the few files that only GCC compiles (GCC's `#pragma GCC target`, __builtin_shuffle and
# __builtin_cpu_supports("avx512bf16") in the SIMD kernels of core/src/nn), falls back to g++ without
# instrumentation, as for a third-party library: those kernels take no input that fuzzing could reach.
# Usage (set by CMake): fuzz_compile.sh [ccache] clang++-14 ARGS...
if "$@" 2>/tmp/bmx-fuzz-compile.$$; then
  cat /tmp/bmx-fuzz-compile.$$ >&2; rm -f /tmp/bmx-fuzz-compile.$$; exit 0
fi
rm -f /tmp/bmx-fuzz-compile.$$
args=()
for a in "$@"; do
  case "$a" in
    *clang++*) args+=(g++) ;;
    -fsanitize*|-fno-sanitize*) ;;
    *) args+=("$a") ;;
  esac
done
src=${args[-1]}
echo "note: clang cannot compile ${src##*/}; compiled with g++, uninstrumented" >&2
exec "${args[@]}"

# Sanitizer and fuzzing builds (issue 17). Included from the top-level CMakeLists.txt before any bmx target, so the
# flags below reach every library, the bmx program, the tests and the fuzz targets, and nothing imported (libtorch,
# RDKit, Open Babel, yaml-cpp are prebuilt Debian/pip binaries and stay uninstrumented; ASan copes with that).
#
#   -DBMX_SANITIZE=ON   AddressSanitizer + UndefinedBehaviorSanitizer, gcc or clang. Run the whole suite under it
#                       (ctest gets BMX_SANITIZER_ENVIRONMENT below) before resolving an issue.
#   -DBMX_FUZZ=ON       tests/fuzz targets become libFuzzer fuzzers (clang only: CXX=clang++-14); implies
#                       BMX_SANITIZE and adds coverage instrumentation (-fsanitize=fuzzer-no-link) everywhere.
#                       Off (the default, CI's build) the same targets are plain programs that replay their corpus.
option(BMX_SANITIZE "Build every bmx target with -fsanitize=address,undefined" OFF)
option(BMX_FUZZ "Build tests/fuzz as libFuzzer fuzzers (clang; implies BMX_SANITIZE)" OFF)

if(BMX_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "BMX_FUZZ needs clang with libFuzzer (Debian: clang-14): "
                        "cmake -DCMAKE_CXX_COMPILER=clang++-14 -DBMX_FUZZ=ON ...")
  endif()
  set(BMX_SANITIZE ON CACHE BOOL "Build every bmx target with -fsanitize=address,undefined" FORCE)
  # Edge coverage for libFuzzer in every bmx object; only the fuzz executables link libFuzzer's main.
  add_compile_options(-fsanitize=fuzzer-no-link)
  # The SIMD kernels of core/src/nn are GCC-only (see the script): compiled by g++ when clang refuses them.
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CMAKE_CURRENT_LIST_DIR}/fuzz_compile.sh ${CMAKE_CXX_COMPILER_LAUNCHER})
  # Lets library code compile out what only slows fuzzing down; nothing uses it yet.
  add_compile_definitions(BMX_FUZZING_BUILD)
endif()

set(BMX_SANITIZER_ENVIRONMENT "")
if(BMX_SANITIZE)
  # -fno-sanitize-recover=undefined: undefined behaviour aborts like an ASan report, so a test (or a fuzz input)
  # that triggers it fails instead of printing a warning that nobody reads in a passing ctest run.
  # -g1: line tables only, enough for file:line in the reports at a fraction of -g's build time and size.
  set(BMX_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g1)
  add_compile_options(${BMX_SANITIZER_FLAGS})
  add_link_options(-fsanitize=address,undefined)
  # What every test process (and the bmx it runs) needs, set as each CTest test's ENVIRONMENT:
  # - leaks are detected; cmake/lsan.supp lists only third-party one-time allocations that are not ours to fix.
  # - halt_on_error / print_stacktrace: one report with its stack, then a failed test (never a silent pass).
  # - intercept_tls_get_addr=0: GCC 12's LeakSanitizer reads bogus bounds for the dynamic TLS of dlopen'd
  #   libraries (bmx_torch.so and libtorch: "DTLS 14 at 0x29e9-0x2400003aeb", then "Tracer caught signal 11" and
  #   no leak check at all) in `bmx prot` runs; without the interception it skips dynamic TLS and checks the rest.
  set(BMX_SANITIZER_ENVIRONMENT
    "ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:intercept_tls_get_addr=0"
    "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_LIST_DIR}/lsan.supp:print_suppressions=0"
    "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endif()


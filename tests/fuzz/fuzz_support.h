// What every fuzz target shares: the verdict on an exception, the reference folder, and a scratch file for readers
// that only take a path. One LLVMFuzzerTestOneInput per target file; built as a libFuzzer fuzzer (-DBMX_FUZZ=ON,
// clang) or as a plain program that replays corpus folders once (driver_main.cpp, every other build).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>
#include <typeinfo>

#include "bmx/core/util/error.h"

namespace bmx::fuzz {

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Runs `f` on one input. A bmx error (or any std::exception) is the input being rejected, which is fine: only
// crashes, hangs, sanitizer reports and failed invariants count. BMX_FUZZ_STRICT=1 also stops on exceptions that
// are not bmx's own (std::bad_alloc, nlohmann::json's, c10's): the "library internals in a message" class of
// issue 17, which is not a crash but should become a one-line InputError.
template <class F>
int run_input(F&& f) {
  try {
    f();
  } catch (const InputError&) {
  } catch (const UnsupportedError&) {
  } catch (const std::exception& e) {
    static const bool strict = [] {
      const char* v = std::getenv("BMX_FUZZ_STRICT");
      return v && *v && *v != '0';
    }();
    if (strict) {
      std::fprintf(stderr, "bmx fuzz: exception that is not a bmx error: %s: %s\n", typeid(e).name(), e.what());
      std::abort();
    }
  }
  return 0;
}

// A failed invariant: libFuzzer saves the input as a crash.
#define BMX_FUZZ_CHECK(cond)                                                                  \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      std::fprintf(stderr, "bmx fuzz: invariant failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                           \
    }                                                                                         \
  } while (0)

// The reference folder (../shared or $BMX_SHARED), for targets that need a fixed model or tokenizer.
std::filesystem::path shared_dir();
// A file of `shared_dir()`; aborts with a message when it is missing (CI has the folder).
std::filesystem::path shared_file(const std::string& relative);

// Writes the input to a per-process scratch file named `name` (its extension picks the reader's format) and returns
// its path. Costs a write per input (a few microseconds for inputs of a few KB): only for readers that take nothing
// but a path.
std::string scratch_file(const std::string& name, std::string_view bytes);
// The per-process scratch folder (removed at exit).
std::filesystem::path scratch_dir();

}  // namespace bmx::fuzz

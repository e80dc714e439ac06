#include "isa_flag.h"

#include <stdexcept>
#include <string>

#include "bmx/core/util/error.h"

namespace bmx::app {

void add_isa_flag(CLI::App* c, std::optional<kernels::Isa>& isa) {
  c->add_option_function<std::string>(
       "--isa", [&isa](const std::string& name) { isa = kernels::isa_from_name(name); },
       "Kernel level, one this CPU runs (scalar, avx2, avx512, avx512-bf16; default: the best), e.g. avx2 to "
       "measure an AVX2 machine's code paths here")
      ->check([](const std::string& name) {
        return kernels::isa_from_name(name) ? std::string()
                                            : "'" + name + "' is not a kernel level (scalar, avx2, avx512, avx512-bf16)";
      });
}

void use_isa_flag(const std::optional<kernels::Isa>& isa) {
  if (!isa) return;
  try {
    kernels::set_isa(*isa);
  } catch (const std::invalid_argument& e) {
    throw InputError(std::string("--isa ") + kernels::isa_name(*isa) + ": " + e.what());
  }
}

}  // namespace bmx::app

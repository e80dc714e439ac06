// --isa on the bench commands: run the kernels at a lower level than the CPU's best, e.g. avx2 to measure an
// AVX2 machine's code paths on an AVX-512 one.
#pragma once
#include <CLI/CLI.hpp>

#include <optional>

#include "bmx/core/nn/kernels.h"

namespace bmx::app {

// Adds --isa NAME to `c`; a name that is no kernel level is refused as the flags are parsed.
void add_isa_flag(CLI::App* c, std::optional<kernels::Isa>& isa);

// Switches the kernels to `isa` where one was given; InputError where this CPU cannot run it or its results
// disagree with the reference sums here.
void use_isa_flag(const std::optional<kernels::Isa>& isa);

}  // namespace bmx::app

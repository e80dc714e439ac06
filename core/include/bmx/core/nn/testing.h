// Hooks for bmx's own tests, not API: process-wide state that the kernels otherwise choose themselves (so that one
// machine can check every instruction-set level it can run), and internals tested on their own.
#pragma once
#include <cstddef>
#include <string_view>

#include "bmx/core/nn/kernels.h"

namespace bmx::kernels::testing {

// Runs the kernels at `isa` from now on (must be in available_isas(), else std::invalid_argument);
// force_isa(detected_isa()) restores the default.
void force_isa(Isa isa);

// A cache size as Linux writes it in sysfs ("32768K", "8M", "512"); 0 for anything else. last_level_cache_bytes()
// reads the sizes with it.
std::size_t cache_size_bytes(std::string_view text);

}  // namespace bmx::kernels::testing

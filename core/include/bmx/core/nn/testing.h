// Hooks for bmx's own tests, not API: process-wide state that the kernels otherwise choose themselves (so that one
// machine can check every instruction-set level it can run), and internals tested on their own.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "bmx/core/nn/kernels.h"

namespace bmx::kernels::testing {

// Runs the kernels at `isa` from now on (must be in available_isas(), else std::invalid_argument);
// force_isa(detected_isa()) restores the default.
void force_isa(Isa isa);

// A cache size as Linux writes it in sysfs ("32768K", "8M", "512"); 0 for anything else. last_level_cache_bytes()
// reads the sizes with it.
std::size_t cache_size_bytes(std::string_view text);

// The read probe's fold of `lines` 64-byte lines at p (64-byte aligned) with the active level's loads, alone or
// with the probe's prefetches ahead: the xor of every 64-bit word when each line is read exactly once.
uint64_t fold_lines(const void* p, std::size_t lines, bool prefetch);

// One row of x rounded as matmul_blocks rounds it at the active level (block_quant.h): q [padded_cols(cols)],
// scale and offset_term [scales_per_row(cols)].
struct RoundedRow {
  std::vector<int8_t> q;
  std::vector<float> scale, offset_term;
};
RoundedRow round_activations(const float* x, int64_t cols);

}  // namespace bmx::kernels::testing

// Internal to the kernels' dispatch: the active level's kernels and the choice of kernel for one product, shared
// by the row-order products (kernels_dispatch.cpp) and the pair-tile ones (pair_tiles.cpp). Not for the
// kernels_<isa>.cpp files (it instantiates std:: templates).
#pragma once
#include <cstdint>
#include <vector>

#include "kernels_impl.h"

namespace bmx::kernels::detail {

const IsaKernels& active_kernels();

// The kernel for the row-order product p at level ks, with what it needs of x made: bf16 pairs of every row
// where the precision rounds activations (on the pool's threads), or the split of one long row. Call it outside
// the pool's tasks.
RangeFn prepare_product(const IsaKernels& ks, Problem& p, std::vector<uint32_t>& pairs);

// Rows [0, rows) of a pair-tiled matrix (rows a multiple of 16) written in row order to out (row stride cols).
void tiles_to_rows(const uint16_t* tiles, int64_t rows, int64_t cols, uint16_t* out);
// The inverse: rows [0, rows) into pair tiles.
void rows_to_tiles(const uint16_t* rows_in, int64_t rows, int64_t cols, uint16_t* tiles);

}  // namespace bmx::kernels::detail

// Internal to the block-quantized products (block_quant.h): the problem every instruction-set file's kernel
// solves. Included by block_kernels_<isa>.cpp after their `#pragma GCC target`, so it defines no inline
// function and instantiates no std:: template (an inline copy compiled for AVX-512 could become the one the
// linker keeps for the whole program).
#pragma once
#include <cstdint>

#include "bmx/core/nn/block_quant.h"

namespace bmx::kernels::detail {

// Rows of x rounded per block of 32: q[m][k] * scale[m][k / 32] ~ x[m, k]. offset_term[m][b] is scale[m][b]
// times the sum of the block's q: the kernels that multiply the weights' stored (offset) bytes rather than
// their signed values subtract offset * sum_b sw[n][b] * offset_term[m][b] at the end.
struct QuantizedRows {
  int64_t M = 0, cols_padded = 0, blocks = 0;
  const int8_t* q = nullptr;          // [M][cols_padded]
  const float* scale = nullptr;       // [M][blocks]
  const float* offset_term = nullptr; // [M][blocks]
};

struct BlockProblem {
  BlockMatrixView w;
  QuantizedRows x;
  float* y = nullptr;
  int64_t ldy = 0;
  const float* bias = nullptr;
};

// Computes y[0:M, n0:n1] completely (bias included).
using BlockRangeFn = void (*)(const BlockProblem&, int64_t n0, int64_t n1);

// One whole block of x (32 floats, all finite) -> 32 signed bytes, its scale (max|x| / 127) and offset term
// (scale * the sum of the bytes), exactly as the portable loop rounds (x * (1 / scale), to nearest even).
// false, with nothing written, when the block holds NaN or inf (the portable loop handles that).
using QuantizeBlockFn = bool (*)(const float* x, int8_t* q, float* scale, float* offset_term);

struct BlockKernels {
  BlockRangeFn q8_0 = nullptr;  // W in BlockOrder::rows
  BlockRangeFn q4_0 = nullptr;
  // W in BlockOrder::tiles, n0 a multiple of kTileRows; null: each tile is copied back to rows for the above.
  BlockRangeFn q8_0_tiles = nullptr;
  BlockRangeFn q4_0_tiles = nullptr;
  QuantizeBlockFn quantize_block = nullptr;  // null: the portable loop
  const char* name = "";
};

// Tile `tile` of w (BlockOrder::tiles) as kTileRows rows, row after row: quants [16][quant_bytes_per_row],
// scales [16][scales_per_row].
void tile_to_rows(const BlockMatrixView& w, int64_t tile, uint8_t* quants, uint16_t* scales);

BlockKernels scalar_block_kernels();
BlockKernels avx2_block_kernels();
BlockKernels avx512_vnni_block_kernels();

}  // namespace bmx::kernels::detail

#ifdef BMX_BLOCK_KERNELS_GENERIC  // the loop every SIMD level shares, instantiated in its own file
namespace {

// The last, shorter pass of mr rows of x: Level::rows, or (Tiles) Level::tile, with MB = mr.
template <class Level, bmx::kernels::BlockFormat F, int MB, bool Tiles = false>
inline void last_pass(int mr, const bmx::kernels::detail::BlockProblem& p, int64_t n, int64_t m0) {
  if constexpr (MB > 0) {
    if (mr != MB) last_pass<Level, F, MB - 1, Tiles>(mr, p, n, m0);
    else if constexpr (Tiles) Level::template tile<F, MB>(p, n, m0);
    else Level::template rows<F, MB>(p, n, m0);
  }
}

// Rows of W one after the other; for each, the rows of x in passes of Level::kRowsPerPass (the last pass
// shorter), so one load of a W row serves several rows of x. Level::rows<F, MB>(p, n, m0) computes
// y[m0 : m0 + MB, n].
template <class Level, bmx::kernels::BlockFormat F>
void block_range(const bmx::kernels::detail::BlockProblem& p, int64_t n0, int64_t n1) {
  constexpr int R = Level::kRowsPerPass;
  for (int64_t n = n0; n < n1; ++n) {
    int64_t m = 0;
    for (; m + R <= p.x.M; m += R) Level::template rows<F, R>(p, n, m);
    if (m < p.x.M) last_pass<Level, F, R - 1>(int(p.x.M - m), p, n, m);
  }
}

// Rows n0..n1 of a W in BlockOrder::tiles: whole tiles, x in passes of Level::kTilePass rows
// (Level::template tile<F, MB>(p, n, m0) computes y[m0 : m0 + MB, n : n + 16]), then the last rows % 16, row after
// row, by block_range. The callers' ranges start on a tile and end on one or at the last row.
template <class Level, bmx::kernels::BlockFormat F>
void tiles_range(const bmx::kernels::detail::BlockProblem& p, int64_t n0, int64_t n1) {
  constexpr int R = Level::kTilePass;
  const int64_t full = p.w.rows / bmx::kernels::kTileRows * bmx::kernels::kTileRows;
  int64_t n = n0;
  for (; n < full && n < n1; n += bmx::kernels::kTileRows) {
    int64_t m = 0;
    for (; m + R <= p.x.M; m += R) Level::template tile<F, R>(p, n, m);
    if (m < p.x.M) last_pass<Level, F, R - 1, true>(int(p.x.M - m), p, n, m);
  }
  block_range<Level, F>(p, n, n1);
}

}  // namespace
#endif

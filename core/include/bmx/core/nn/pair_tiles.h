// BF16 weights of long rows in 16-row tiles of column pairs: the order the decode GEMV streams fastest when x is
// too long to stay in L1 beside several row streams (the down projection, K = 9728). Line j of a tile (64 bytes)
// holds (W[r][2j], W[r][2j+1]) for the tile's 16 rows r, so one stream serves 16 rows and x is read once per tile.
// Made in place at load from memory the process owns (FileAccess::read); a mapping keeps the file's rows.
#pragma once
#include <cstdint>

#include "bmx/core/nn/kernels.h"

namespace bmx::kernels {

constexpr int64_t kPairTileRows = 16;
// Rows longer than this are worth tiling: shorter ones stream as fast one row at a time.
constexpr int64_t kPairTilesMinCols = 4097;

// Whether a [rows, cols] matrix of `wt` weights is better multiplied in pair tiles at the active level: BF16,
// rows a multiple of 16, cols even and at least kPairTilesMinCols, and a level with a tile GEMV.
bool pair_tiles_pay(WeightType wt, int64_t rows, int64_t cols);

// A matrix [n_rows, cols] (rows contiguous) between row order and pair tiles: into another buffer of the same
// size, or (to_pair_tiles_in_place) in its own memory, a tile at a time on the kernels' threads.
// std::invalid_argument unless n_rows is a multiple of 16 and cols is even.
void rows_to_pair_tiles(const uint16_t* rows, int64_t n_rows, int64_t cols, uint16_t* tiles);
void pair_tiles_to_rows(const uint16_t* tiles, int64_t n_rows, int64_t cols, uint16_t* rows);
void to_pair_tiles_in_place(uint16_t* w, int64_t n_rows, int64_t cols);

// y[m, n] = sum_k x[m, k] · W[n, k] (+ bias[n]) for m < M, n < N, with BF16 W [N, K] in pair tiles; as matmul()
// otherwise (the same precision rules). std::invalid_argument unless N is a multiple of 16 and K is even.
void matmul_pair_tiles(const float* x, int64_t ldx, const uint16_t* tiles, float* y, int64_t ldy, int64_t M,
                       int64_t N, int64_t K, const float* bias = nullptr);

}  // namespace bmx::kernels

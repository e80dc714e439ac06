// BF16 weights in 16-row tiles of column pairs: the order the decode GEMV streams fastest. Line j of a tile (64 bytes)
// holds (W[r][2j], W[r][2j+1]) for the tile's 16 rows r, so one stream serves 16 rows, each x pair is broadcast
// (read once per tile: no x row has to stay in L1 beside the W streams, as a long one cannot, the down projection's
// K = 9728), and no horizontal sums remain. Several sequences decoded together gain most: in rows, 8 x rows of
// bf16 pairs (40 KiB at K = 2560) stream from L2 for every two W rows.
// Made in place at load from memory the process owns (FileAccess::read); a mapping keeps the file's rows.
#pragma once
#include <cstdint>

#include "bmx/core/nn/kernels.h"

namespace bmx::kernels {

constexpr int64_t kPairTileRows = 16;

// Whether a [rows, cols] matrix of `wt` weights is better multiplied in pair tiles at the active level: BF16,
// rows a multiple of 16, cols even, and a level with a tile GEMV that pays at that length: every length at the
// AVX-512 BF16 level; elsewhere only long rows (cols > 4096): at AVX2 the tiles take 3 x rows per pass and 8
// sequences decoded together ran 16.0-16.5 tok/s in tiles against 21.0-21.6 in rows, and at AVX-512F one sequence
// ran 1-5 % slower (4B, 2 threads).
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

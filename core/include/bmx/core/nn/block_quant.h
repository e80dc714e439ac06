// Linear-layer weights in blocks of 32 along K with one scale per block: 8-bit (q8_0) and 4-bit (q4_0), the
// two formats CPU users of llama.cpp run (its Q8_0 and Q4_0 are the reference for the idea; the layout here is
// our own). A decode step reads every weight once, so fewer bytes per weight is a faster step: q8_0 is 1.06
// bytes per weight and q4_0 0.56, against BF16's 2.
//
// Layout of one matrix W [rows, cols], cols padded with zeros to a multiple of 64 (two blocks, the width of
// one AVX-512 load):
//   scales: f16 [rows][blocks]                 W[n, 32b + i] ~ scale[n][b] * value(n, 32b + i)
//   q8_0:   u8  [rows][cols_padded]            value = byte - 128, in [-127, 127]
//   q4_0:   u8  [rows][cols_padded / 2]        block b is 16 bytes: byte j holds element j in its low
//                                              nibble and element j + 16 in its high one; value = nibble - 8
// In memory a matrix may instead be in BlockOrder::tiles (the SIMD kernels' order, made at load): see
// BlockOrder. Files always hold rows.
// Products quantize each row of x to 8 bits per block of 32 as well (scale max|x| / 127), sum each block's
// integer products exactly in int32 and the blocks in float32: y[m, n] = sum_b sw[n,b] * sx[m,b] * dot_b.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "bmx/core/nn/kernels.h"
#include "bmx/core/util/big_allocator.h"

namespace bmx::kernels {

enum class BlockFormat : uint8_t { q8_0, q4_0 };
constexpr int64_t kQuantBlock = 32;

const char* format_name(BlockFormat f);
// "q8_0" / "q4_0" (also "q8", "q4"); throws std::invalid_argument naming the choices otherwise.
BlockFormat parse_block_format(const std::string& name);

int64_t padded_cols(int64_t cols);                      // cols rounded up to 64
int64_t quant_bytes_per_row(BlockFormat f, int64_t cols);
int64_t scales_per_row(int64_t cols);                   // padded_cols / 32

// How the rows of a block-quantized matrix lie in memory.
//   rows:  row after row, as above (and in files).
//   tiles: each group of kTileRows rows interleaved, 4 bytes at a time, so that one 64-byte load holds the same
//          4 bytes of 16 rows and vpdpbusd adds 16 rows' products at once, with one scale vector per block:
//            quants of a tile: [block][4-byte group g][row r][4 bytes] = row r's bytes 4g..4g+3 of that block
//                              (q8_0: 8 groups of 4 elements; q4_0: 4 groups, each byte still elements j, j+16)
//            scales of a tile: [block][row r]
//          Each tile takes the bytes its 16 rows take in `rows`; the last rows % 16 rows stay row after row.
//          Decoding's products then issue a quarter of the instructions per weight (bench kernels, 4B shapes
//          with W in cache, 2 threads, AVX-512 VNNI: q8_0 1.3x and q4_0 1.9x the rate of `rows`).
enum class BlockOrder : uint8_t { rows, tiles };
constexpr int64_t kTileRows = 16;

// A block-quantized matrix in memory that someone else owns (a BlockMatrix, or a memory-mapped file).
struct BlockMatrixView {
  BlockFormat format = BlockFormat::q8_0;
  int64_t rows = 0, cols = 0;
  const uint8_t* quants = nullptr;   // [rows][quant_bytes_per_row], in `order`
  const uint16_t* scales = nullptr;  // [rows][scales_per_row], f16, in `order`
  BlockOrder order = BlockOrder::rows;
};

struct BlockMatrix {
  BlockFormat format = BlockFormat::q8_0;
  int64_t rows = 0, cols = 0;
  // In 2 MiB pages where the kernel gives them: a decode step streams all of them (on this EPYC such memory read
  // 1.2-1.6x faster than 4 KiB pages; see FileAccess::read).
  BigVector<uint8_t> quants;
  BigVector<uint16_t> scales;
  BlockOrder order = BlockOrder::rows;

  BlockMatrixView view() const { return {format, rows, cols, quants.data(), scales.data(), order}; }
  // W as the kernels see it (for checks and tests): float32 [rows, cols].
  std::vector<float> dequantized() const;
};

// "rows" / "16-row tiles" (messages, bench output).
const char* order_name(BlockOrder order);

// The matrix of `w` in `order` (a copy; tiles <-> rows rearranges bytes, nothing is rounded again).
BlockMatrix reordered(const BlockMatrixView& w, BlockOrder order);
// `m` rearranged into `order` in place, one tile at a time.
void reorder(BlockMatrix& m, BlockOrder order);
// The same for a matrix someone else owns: w's bytes, which the caller may write (quants and scales must be
// w.quants and w.scales), rearranged from w.order into `order`. Returns w in that order.
BlockMatrixView reorder_in_place(const BlockMatrixView& w, uint8_t* quants, uint16_t* scales, BlockOrder order);
// The order the active kernel level multiplies fastest: tiles at AVX-512 VNNI and AVX2, rows for the portable loop.
BlockOrder preferred_block_order();

// Rounds W [rows, cols] (row stride ldw elements; BF16 or F16 as stored in safetensors, or float32) to `f`,
// rows in parallel on the kernels' threads. Each block's scale is its largest magnitude over 127 (q8_0) or its
// signed extreme over -8 (q4_0), stored as f16. Throws std::domain_error naming the first row that holds NaN or
// inf (no scale represents them).
BlockMatrix quantize_rows(BlockFormat f, const uint16_t* w, int64_t ldw, WeightType wtype, int64_t rows, int64_t cols);
BlockMatrix quantize_rows(BlockFormat f, const float* w, int64_t ldw, int64_t rows, int64_t cols);

// y[m, n] = sum_k x[m, k] W[n, k] (+ bias[n]) for m < M, n < W.rows, x float32 [M, W.cols] (row stride ldx),
// y [M, W.rows] (row stride ldy). Split over N on the kernels' thread pool; the instruction set is picked at
// run time (AVX-512 VNNI > AVX2 > portable) and checked against the portable loop on first use.
void matmul_blocks(const float* x, int64_t ldx, const BlockMatrixView& w, float* y, int64_t ldy, int64_t M,
                   const float* bias = nullptr);

// Several products of the same x with matrices of the same width (q/k/v, gate/up): x is rounded once and all
// rows share one pass over the threads. y of job j: [M, jobs[j].w.rows] with row stride jobs[j].ldy.
struct BlockJob {
  BlockMatrixView w;
  float* y = nullptr;
  int64_t ldy = 0;
};
void matmul_blocks_many(const float* x, int64_t ldx, int64_t M, const BlockJob* jobs, int count);

// The level matmul_blocks uses: "avx512-vnni", "avx2" or "scalar".
const char* block_kernels_name();

}  // namespace bmx::kernels

// A linear layer's weight as the decoder multiplies it, and the product: the checkpoint's tensor used in place
// (BF16/F16 through bmx::kernels, other dtypes through ATen; long BF16 rows in private memory rearranged into
// pair tiles, kernels/pair_tiles.h), or its block-quantized form (q8_0/q4_0, made at load or read memory-mapped
// from a quantized model folder), through kernels::matmul_blocks.
#pragma once
#include <ATen/core/Tensor.h>

#include <initializer_list>
#include <memory>
#include <utility>

#include "bmx/core/nn/block_quant.h"

namespace bmx::nn {

// How the weight tensor's bytes are ordered: the checkpoint's rows, or pair tiles (same shape, same bytes).
enum class WeightOrder { rows, pair_tiles };

struct Projection {
  at::Tensor weight;                       // [out, in] as stored; undefined once only `blocks` is kept
  WeightOrder order = WeightOrder::rows;   // of `weight`
  kernels::BlockMatrixView blocks;         // rows == 0: not quantized
  std::shared_ptr<const void> blocks_owner;  // keeps the memory `blocks` points into alive

  bool quantized() const { return blocks.rows > 0; }
  int64_t out_features() const { return quantized() ? blocks.rows : weight.size(0); }
  int64_t in_features() const { return quantized() ? blocks.cols : weight.size(1); }
  // Bytes a product reads: the quantized form's, else the tensor's.
  uint64_t bytes() const;
};

// y [M, out] = x [M, in] · Wᵀ (rows of x and y contiguous).
void project(const float* x, int64_t M, const Projection& w, float* y);
// Several projections of the same x (q/k/v, gate/up): one pass over the threads when all are BF16/F16.
void project_many(const float* x, int64_t M, std::initializer_list<std::pair<const Projection*, float*>> outs);

// Rounds the weight to `f` and drops the tensor (its mapped pages are then never read).
void quantize(Projection& p, kernels::BlockFormat f);

// Rearranges a BF16 weight in memory the process owns into pair tiles where the kernels multiply it faster that
// way (kernels::pair_tiles_pay); false where it stays in rows.
bool use_pair_tiles(Projection& p);

}  // namespace bmx::nn

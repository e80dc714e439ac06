#include "bmx/core/nn/projection.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "bmx/core/nn/kernels.h"
#include "bmx/core/nn/pair_tiles.h"

namespace bmx::nn {
namespace {

bool sixteen_bit(const at::Tensor& w) {
  const auto st = w.scalar_type();
  return (st == at::kBFloat16 || st == at::kHalf) && w.stride(1) == 1;
}

kernels::WeightType weight_type(const at::Tensor& w) {
  return w.scalar_type() == at::kBFloat16 ? kernels::WeightType::bf16 : kernels::WeightType::f16;
}

}  // namespace

uint64_t Projection::bytes() const {
  if (quantized())
    return uint64_t(blocks.rows) * uint64_t(kernels::quant_bytes_per_row(blocks.format, blocks.cols) +
                                            2 * kernels::scales_per_row(blocks.cols));
  return uint64_t(weight.numel()) * weight.element_size();
}

void project(const float* x, int64_t M, const Projection& w, float* y) {
  const int64_t N = w.out_features(), K = w.in_features();
  if (w.quantized()) {
    kernels::matmul_blocks(x, K, w.blocks, y, N, M);
    return;
  }
  if (w.order == WeightOrder::pair_tiles) {
    kernels::matmul_pair_tiles(x, K, static_cast<const uint16_t*>(w.weight.data_ptr()), y, N, M, N, K);
    return;
  }
  if (sixteen_bit(w.weight)) {
    kernels::matmul(x, K, static_cast<const uint16_t*>(w.weight.data_ptr()), w.weight.stride(0),
                    weight_type(w.weight), y, N, M, N, K);
    return;
  }
  auto xt = at::from_blob(const_cast<float*>(x), {M, K}, at::kFloat);
  auto r = at::linear(xt, w.weight.to(at::kFloat)).contiguous();
  std::memcpy(y, r.data_ptr<float>(), size_t(M * N) * 4);
}

void project_many(const float* x, int64_t M, std::initializer_list<std::pair<const Projection*, float*>> outs) {
  const bool all_quantized = std::all_of(outs.begin(), outs.end(), [](const auto& o) { return o.first->quantized(); });
  if (all_quantized) {  // x rounded once for all of them
    std::vector<kernels::BlockJob> jobs;
    for (auto& [w, y] : outs) jobs.push_back({w->blocks, y, w->out_features()});
    kernels::matmul_blocks_many(x, outs.begin()->first->in_features(), M, jobs.data(), int(jobs.size()));
    return;
  }
  std::vector<kernels::MatmulJob> jobs;
  for (auto& [w, y] : outs) {
    if (w->quantized() || !sixteen_bit(w->weight)) {
      for (auto& [w2, y2] : outs) project(x, M, *w2, y2);
      return;
    }
    const int64_t N = w->out_features(), K = w->in_features();
    jobs.push_back({x, K, static_cast<const uint16_t*>(w->weight.data_ptr()), w->weight.stride(0),
                    weight_type(w->weight), y, N, M, N, K, nullptr, w->order == WeightOrder::pair_tiles});
  }
  kernels::matmul_many(jobs.data(), int(jobs.size()));
}

void quantize(Projection& p, kernels::BlockFormat f) {
  if (p.quantized()) throw std::invalid_argument("quantize: the projection is quantized already");
  at::Tensor w = p.weight;
  if (p.order == WeightOrder::pair_tiles) {  // rounded from the rows, as any other weight
    at::Tensor rows = at::empty_like(w);
    kernels::pair_tiles_to_rows(static_cast<const uint16_t*>(w.data_ptr()), w.size(0), w.size(1),
                                static_cast<uint16_t*>(rows.data_ptr()));
    w = rows;
  }
  std::shared_ptr<kernels::BlockMatrix> m;
  if (sixteen_bit(w)) {
    m = std::make_shared<kernels::BlockMatrix>(kernels::quantize_rows(
        f, static_cast<const uint16_t*>(w.data_ptr()), w.stride(0), weight_type(w), w.size(0), w.size(1)));
  } else {
    const at::Tensor wf = w.to(at::kFloat).contiguous();
    m = std::make_shared<kernels::BlockMatrix>(
        kernels::quantize_rows(f, wf.data_ptr<float>(), wf.size(1), wf.size(0), wf.size(1)));
  }
  kernels::reorder(*m, kernels::preferred_block_order());
  p.blocks = m->view();
  p.blocks_owner = m;
  p.weight = at::Tensor();
  p.order = WeightOrder::rows;
}

bool use_pair_tiles(Projection& p) {
  const at::Tensor& w = p.weight;
  if (p.quantized() || p.order != WeightOrder::rows || !w.defined() || w.dim() != 2 || !w.is_contiguous() ||
      w.scalar_type() != at::kBFloat16 || !kernels::pair_tiles_pay(weight_type(w), w.size(0), w.size(1)))
    return false;
  kernels::to_pair_tiles_in_place(static_cast<uint16_t*>(w.data_ptr()), w.size(0), w.size(1));
  p.order = WeightOrder::pair_tiles;
  return true;
}

}  // namespace bmx::nn

// Portable block-quantized products: the reference the SIMD levels are checked against on first use.
#include "block_kernels_impl.h"

namespace bmx::kernels::detail {
namespace {

// Signed value of element k of W row `row` (bytes of one row).
inline int weight_value(BlockFormat f, const uint8_t* row, int64_t k) {
  if (f == BlockFormat::q8_0) return int(row[k]) - 128;
  const uint8_t byte = row[(k / 32) * 16 + (k % 16)];
  return int((k % 32) < 16 ? (byte & 0x0F) : (byte >> 4)) - 8;
}

template <BlockFormat F>
void range(const BlockProblem& p, int64_t n0, int64_t n1) {
  const int64_t nb = p.x.blocks, row_bytes = quant_bytes_per_row(F, p.w.cols);
  for (int64_t n = n0; n < n1; ++n) {
    const uint8_t* wq = p.w.quants + n * row_bytes;
    const uint16_t* ws = p.w.scales + n * nb;
    for (int64_t m = 0; m < p.x.M; ++m) {
      const int8_t* xq = p.x.q + m * p.x.cols_padded;
      const float* xs = p.x.scale + m * nb;
      float sum = 0;
      for (int64_t b = 0; b < nb; ++b) {
        int32_t dot = 0;
        for (int64_t k = 32 * b; k < 32 * b + 32; ++k) dot += weight_value(F, wq, k) * int32_t(xq[k]);
        sum += f16_to_float(ws[b]) * xs[b] * float(dot);
      }
      p.y[m * p.ldy + n] = p.bias ? sum + p.bias[n] : sum;
    }
  }
}

}  // namespace

BlockKernels scalar_block_kernels() {
  BlockKernels k;
  k.q8_0 = range<BlockFormat::q8_0>;
  k.q4_0 = range<BlockFormat::q4_0>;
  k.name = "scalar";
  return k;
}

}  // namespace bmx::kernels::detail

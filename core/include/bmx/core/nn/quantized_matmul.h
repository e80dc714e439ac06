// Matrix products in 16-bit integers, for networks whose float32 products are compute-bound on CPUs without
// a wider float unit: AVX2's vpmaddwd does 16 multiply-adds per instruction where an FMA does 8. The vpaddd that
// accumulates its results takes the same vector pipes, so the gain is less than 2x: 1.6x measured on Zen 4.
// AVX-512 VNNI's vpdpwssd multiplies and accumulates in one instruction on 16 lanes: 1.2-2.6x the AVX2 level's
// rate on the GCP-VQVAE decoder's shapes (477 rows, K = 1024 and 4096), Zen 4, 2 threads, a busy machine.
//
// Both operands are rounded to 14-bit integers (|q| <= 8191) with one float scale per row: each element is off
// by at most max|row| / 16382, about 6e-5 of the row's largest element (bfloat16, which BioMatrix itself runs
// in, is off by up to 2e-3 of each element). Products of 14-bit values are summed exactly in int32 over 32
// terms (|sum| < 2^31 for any input) and these partial sums are added in float32.
#pragma once
#include <cstdint>
#include <vector>

namespace bmx::kernels {

// W [N, K] (a linear layer's weight, one row per output) rounded per row and packed for the kernel.
struct QuantizedMatrix {
  int64_t rows = 0, cols = 0;     // N, K
  int64_t cols_padded = 0;        // K rounded up to 32 (the padding is zero)
  std::vector<int32_t> packed;    // [ceil(N/16)][cols_padded/2][16]: int16 pairs (k, k+1) of 16 rows
  std::vector<float> scale;       // [N]: W[n, k] ~ scale[n] * q[n, k]

  // w: row-major [N, K] with row stride ldw (elements).
  static QuantizedMatrix from_rows(const float* w, int64_t ldw, int64_t N, int64_t K);
  // The rounded W (for checks): [N, K].
  std::vector<float> dequantized() const;
};

// y[m, n] = sum_k x[m, k] W[n, k] (+ bias[n]), or y[m, n] += the same when `accumulate`, for m < M, n < N.
// x is rounded per row like W. x: float32 [M, K] with row stride ldx; y: [M, N] with row stride ldy; bias [N]
// or null. Work is split over kernels::thread_pool(). Results do not depend on the thread count or on the
// instruction set (every level does the same exact integer sums and the same float operations in the same order).
// The level follows the kernels' (kernels::active_isa, which tests may force lower): AVX-512 VNNI where they run
// AVX-512 and the CPU has VNNI, AVX2 where they run AVX2, the portable loop where they run scalar. Each SIMD level
// is checked against the portable loop on first use and passed over, with a line on stderr, if it disagrees.
void quantized_matmul(const float* x, int64_t ldx, const QuantizedMatrix& w, float* y, int64_t ldy, int64_t M,
                      const float* bias = nullptr, bool accumulate = false);

// The level quantized_matmul runs at now: "avx512-vnni", "avx2" or "portable".
const char* quantized_matmul_level();

}  // namespace bmx::kernels

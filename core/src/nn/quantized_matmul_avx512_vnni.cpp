// AVX-512 VNNI level of quantized_matmul: vpdpwssd multiplies the int16 pairs of 16 int32 lanes and adds both
// products into each lane in one instruction, where AVX2 needs vpmaddwd and a vpaddd on eight lanes. With 32
// registers a micro-tile covers two x tiles (12 rows) and two W panels (32 columns). The chunking (int32 sums of
// 16 pairs, added to float32 in order) and the final fma are those of the other levels, so the results are the
// same bits.
#if defined(__x86_64__)
#include <immintrin.h>

#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC 12 on its own _mm512_undefined_ps
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma")
#include "quantized_matmul_impl.h"

namespace {

using bmx::kernels::detail::Int16Problem;
constexpr int MR = bmx::kernels::detail::kInt16TileRows;
constexpr int NR = bmx::kernels::detail::kInt16PanelRows;
constexpr int CH = bmx::kernels::detail::kInt16Chunk;
static_assert(NR == 16, "one zmm register holds the 16 columns of a panel");

// Two x tiles (from tile t) against two W panels (from panel n); a missing second tile or panel is stood in for by
// the first (computed twice, stored once). 24 int32 accumulators (zmm8-31), two W registers; x pairs are
// broadcast from memory. GCC does not keep such an array of accumulators in registers, hence the assembly.
void micro_tile(const Int16Problem& p, int64_t t, int64_t n, bool two_tiles, bool two_panels) {
  static_assert(MR == 6 && CH == 16, "the assembly is written for 6-row tiles and chunks of 16 pairs");
  const int64_t pairs = p.pairs;
  const int32_t* a0 = p.xq + t * pairs * MR;
  const int32_t* a1 = two_tiles ? a0 + pairs * MR : a0;
  const int32_t* w0 = p.wq + n * pairs * NR;
  const int32_t* w1 = two_panels ? w0 + pairs * NR : w0;
  alignas(64) float sum[2 * MR][2 * NR];  // rows of both tiles, columns of both panels
  for (auto& row : sum)
    for (float& v : row) v = 0.f;
  int64_t chunks = pairs / CH, count = 0;
  if (chunks > 0)  // always, for a QuantizedMatrix (K is padded to a whole chunk); the loop needs one
  __asm__ volatile(
      "1:\n\t"
      "vpxord %%zmm8, %%zmm8, %%zmm8\n\t"
      "vpxord %%zmm9, %%zmm9, %%zmm9\n\t"
      "vpxord %%zmm10, %%zmm10, %%zmm10\n\t"
      "vpxord %%zmm11, %%zmm11, %%zmm11\n\t"
      "vpxord %%zmm12, %%zmm12, %%zmm12\n\t"
      "vpxord %%zmm13, %%zmm13, %%zmm13\n\t"
      "vpxord %%zmm14, %%zmm14, %%zmm14\n\t"
      "vpxord %%zmm15, %%zmm15, %%zmm15\n\t"
      "vpxord %%zmm16, %%zmm16, %%zmm16\n\t"
      "vpxord %%zmm17, %%zmm17, %%zmm17\n\t"
      "vpxord %%zmm18, %%zmm18, %%zmm18\n\t"
      "vpxord %%zmm19, %%zmm19, %%zmm19\n\t"
      "vpxord %%zmm20, %%zmm20, %%zmm20\n\t"
      "vpxord %%zmm21, %%zmm21, %%zmm21\n\t"
      "vpxord %%zmm22, %%zmm22, %%zmm22\n\t"
      "vpxord %%zmm23, %%zmm23, %%zmm23\n\t"
      "vpxord %%zmm24, %%zmm24, %%zmm24\n\t"
      "vpxord %%zmm25, %%zmm25, %%zmm25\n\t"
      "vpxord %%zmm26, %%zmm26, %%zmm26\n\t"
      "vpxord %%zmm27, %%zmm27, %%zmm27\n\t"
      "vpxord %%zmm28, %%zmm28, %%zmm28\n\t"
      "vpxord %%zmm29, %%zmm29, %%zmm29\n\t"
      "vpxord %%zmm30, %%zmm30, %%zmm30\n\t"
      "vpxord %%zmm31, %%zmm31, %%zmm31\n\t"
      "mov $16, %[count]\n\t"
      "2:\n\t"
      "vmovdqu64 (%[w0]), %%zmm0\n\t"
      "vmovdqu64 (%[w1]), %%zmm1\n\t"
      "vpdpwssd 0(%[a0])%{1to16%}, %%zmm0, %%zmm8\n\t"
      "vpdpwssd 0(%[a0])%{1to16%}, %%zmm1, %%zmm9\n\t"
      "vpdpwssd 4(%[a0])%{1to16%}, %%zmm0, %%zmm10\n\t"
      "vpdpwssd 4(%[a0])%{1to16%}, %%zmm1, %%zmm11\n\t"
      "vpdpwssd 8(%[a0])%{1to16%}, %%zmm0, %%zmm12\n\t"
      "vpdpwssd 8(%[a0])%{1to16%}, %%zmm1, %%zmm13\n\t"
      "vpdpwssd 12(%[a0])%{1to16%}, %%zmm0, %%zmm14\n\t"
      "vpdpwssd 12(%[a0])%{1to16%}, %%zmm1, %%zmm15\n\t"
      "vpdpwssd 16(%[a0])%{1to16%}, %%zmm0, %%zmm16\n\t"
      "vpdpwssd 16(%[a0])%{1to16%}, %%zmm1, %%zmm17\n\t"
      "vpdpwssd 20(%[a0])%{1to16%}, %%zmm0, %%zmm18\n\t"
      "vpdpwssd 20(%[a0])%{1to16%}, %%zmm1, %%zmm19\n\t"
      "vpdpwssd 0(%[a1])%{1to16%}, %%zmm0, %%zmm20\n\t"
      "vpdpwssd 0(%[a1])%{1to16%}, %%zmm1, %%zmm21\n\t"
      "vpdpwssd 4(%[a1])%{1to16%}, %%zmm0, %%zmm22\n\t"
      "vpdpwssd 4(%[a1])%{1to16%}, %%zmm1, %%zmm23\n\t"
      "vpdpwssd 8(%[a1])%{1to16%}, %%zmm0, %%zmm24\n\t"
      "vpdpwssd 8(%[a1])%{1to16%}, %%zmm1, %%zmm25\n\t"
      "vpdpwssd 12(%[a1])%{1to16%}, %%zmm0, %%zmm26\n\t"
      "vpdpwssd 12(%[a1])%{1to16%}, %%zmm1, %%zmm27\n\t"
      "vpdpwssd 16(%[a1])%{1to16%}, %%zmm0, %%zmm28\n\t"
      "vpdpwssd 16(%[a1])%{1to16%}, %%zmm1, %%zmm29\n\t"
      "vpdpwssd 20(%[a1])%{1to16%}, %%zmm0, %%zmm30\n\t"
      "vpdpwssd 20(%[a1])%{1to16%}, %%zmm1, %%zmm31\n\t"
      "add $24, %[a0]\n\t"
      "add $24, %[a1]\n\t"
      "add $64, %[w0]\n\t"
      "add $64, %[w1]\n\t"
      "dec %[count]\n\t"
      "jnz 2b\n\t"
      "vcvtdq2ps %%zmm8, %%zmm8\n\t"
      "vaddps 0(%[sum]), %%zmm8, %%zmm8\n\t"
      "vmovaps %%zmm8, 0(%[sum])\n\t"
      "vcvtdq2ps %%zmm9, %%zmm9\n\t"
      "vaddps 64(%[sum]), %%zmm9, %%zmm9\n\t"
      "vmovaps %%zmm9, 64(%[sum])\n\t"
      "vcvtdq2ps %%zmm10, %%zmm10\n\t"
      "vaddps 128(%[sum]), %%zmm10, %%zmm10\n\t"
      "vmovaps %%zmm10, 128(%[sum])\n\t"
      "vcvtdq2ps %%zmm11, %%zmm11\n\t"
      "vaddps 192(%[sum]), %%zmm11, %%zmm11\n\t"
      "vmovaps %%zmm11, 192(%[sum])\n\t"
      "vcvtdq2ps %%zmm12, %%zmm12\n\t"
      "vaddps 256(%[sum]), %%zmm12, %%zmm12\n\t"
      "vmovaps %%zmm12, 256(%[sum])\n\t"
      "vcvtdq2ps %%zmm13, %%zmm13\n\t"
      "vaddps 320(%[sum]), %%zmm13, %%zmm13\n\t"
      "vmovaps %%zmm13, 320(%[sum])\n\t"
      "vcvtdq2ps %%zmm14, %%zmm14\n\t"
      "vaddps 384(%[sum]), %%zmm14, %%zmm14\n\t"
      "vmovaps %%zmm14, 384(%[sum])\n\t"
      "vcvtdq2ps %%zmm15, %%zmm15\n\t"
      "vaddps 448(%[sum]), %%zmm15, %%zmm15\n\t"
      "vmovaps %%zmm15, 448(%[sum])\n\t"
      "vcvtdq2ps %%zmm16, %%zmm16\n\t"
      "vaddps 512(%[sum]), %%zmm16, %%zmm16\n\t"
      "vmovaps %%zmm16, 512(%[sum])\n\t"
      "vcvtdq2ps %%zmm17, %%zmm17\n\t"
      "vaddps 576(%[sum]), %%zmm17, %%zmm17\n\t"
      "vmovaps %%zmm17, 576(%[sum])\n\t"
      "vcvtdq2ps %%zmm18, %%zmm18\n\t"
      "vaddps 640(%[sum]), %%zmm18, %%zmm18\n\t"
      "vmovaps %%zmm18, 640(%[sum])\n\t"
      "vcvtdq2ps %%zmm19, %%zmm19\n\t"
      "vaddps 704(%[sum]), %%zmm19, %%zmm19\n\t"
      "vmovaps %%zmm19, 704(%[sum])\n\t"
      "vcvtdq2ps %%zmm20, %%zmm20\n\t"
      "vaddps 768(%[sum]), %%zmm20, %%zmm20\n\t"
      "vmovaps %%zmm20, 768(%[sum])\n\t"
      "vcvtdq2ps %%zmm21, %%zmm21\n\t"
      "vaddps 832(%[sum]), %%zmm21, %%zmm21\n\t"
      "vmovaps %%zmm21, 832(%[sum])\n\t"
      "vcvtdq2ps %%zmm22, %%zmm22\n\t"
      "vaddps 896(%[sum]), %%zmm22, %%zmm22\n\t"
      "vmovaps %%zmm22, 896(%[sum])\n\t"
      "vcvtdq2ps %%zmm23, %%zmm23\n\t"
      "vaddps 960(%[sum]), %%zmm23, %%zmm23\n\t"
      "vmovaps %%zmm23, 960(%[sum])\n\t"
      "vcvtdq2ps %%zmm24, %%zmm24\n\t"
      "vaddps 1024(%[sum]), %%zmm24, %%zmm24\n\t"
      "vmovaps %%zmm24, 1024(%[sum])\n\t"
      "vcvtdq2ps %%zmm25, %%zmm25\n\t"
      "vaddps 1088(%[sum]), %%zmm25, %%zmm25\n\t"
      "vmovaps %%zmm25, 1088(%[sum])\n\t"
      "vcvtdq2ps %%zmm26, %%zmm26\n\t"
      "vaddps 1152(%[sum]), %%zmm26, %%zmm26\n\t"
      "vmovaps %%zmm26, 1152(%[sum])\n\t"
      "vcvtdq2ps %%zmm27, %%zmm27\n\t"
      "vaddps 1216(%[sum]), %%zmm27, %%zmm27\n\t"
      "vmovaps %%zmm27, 1216(%[sum])\n\t"
      "vcvtdq2ps %%zmm28, %%zmm28\n\t"
      "vaddps 1280(%[sum]), %%zmm28, %%zmm28\n\t"
      "vmovaps %%zmm28, 1280(%[sum])\n\t"
      "vcvtdq2ps %%zmm29, %%zmm29\n\t"
      "vaddps 1344(%[sum]), %%zmm29, %%zmm29\n\t"
      "vmovaps %%zmm29, 1344(%[sum])\n\t"
      "vcvtdq2ps %%zmm30, %%zmm30\n\t"
      "vaddps 1408(%[sum]), %%zmm30, %%zmm30\n\t"
      "vmovaps %%zmm30, 1408(%[sum])\n\t"
      "vcvtdq2ps %%zmm31, %%zmm31\n\t"
      "vaddps 1472(%[sum]), %%zmm31, %%zmm31\n\t"
      "vmovaps %%zmm31, 1472(%[sum])\n\t"
      "dec %[chunks]\n\t"
      "jnz 1b\n\t"
      : [a0] "+r"(a0), [a1] "+r"(a1), [w0] "+r"(w0), [w1] "+r"(w1), [chunks] "+r"(chunks), [count] "+r"(count)
      : [sum] "r"(&sum[0][0])
      : "memory", "cc", "xmm0", "xmm1", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
        "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27",
        "xmm28", "xmm29", "xmm30", "xmm31");
  for (int j = 0; j < (two_panels ? 2 : 1); ++j) {
    const int64_t n0 = (n + j) * NR;
    const int64_t cols = p.N - n0 < NR ? p.N - n0 : NR;
    const __mmask16 mask = __mmask16((1u << cols) - 1u);
    const __m512 sw = _mm512_maskz_loadu_ps(mask, p.ws + n0);
    const __m512 bias = p.bias ? _mm512_maskz_loadu_ps(mask, p.bias + n0) : _mm512_setzero_ps();
    for (int r = 0; r < (two_tiles ? 2 : 1) * MR; ++r) {
      const int64_t m = t * MR + r;
      if (m >= p.M) break;
      const __m512 scale = _mm512_mul_ps(_mm512_set1_ps(p.xs[m]), sw);
      __m512 v = _mm512_fmadd_ps(_mm512_load_ps(&sum[r][j * NR]), scale, bias);
      float* out = p.y + m * p.ldy + n0;
      if (p.accumulate) v = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, out), v);
      _mm512_mask_storeu_ps(out, mask, v);
    }
  }
}

}  // namespace

namespace bmx::kernels::detail {

void int16_range_avx512_vnni(const Int16Problem& p, int64_t t0, int64_t t1, int64_t p0, int64_t p1) {
  for (int64_t n = p0; n < p1; n += 2)
    for (int64_t t = t0; t < t1; t += 2) micro_tile(p, t, n, t + 1 < t1, n + 1 < p1);
}

}  // namespace bmx::kernels::detail

#pragma GCC pop_options
#endif

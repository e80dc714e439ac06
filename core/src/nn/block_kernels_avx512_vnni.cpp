// AVX-512 VNNI block-quantized products: vpdpbusd multiplies 64 unsigned weight bytes with 64 signed bytes of
// x and adds each group of four into an int32 lane, so one instruction covers two blocks of 32. The weights'
// stored bytes are offsets (q8_0: value + 128, q4_0: value + 8), which is what vpdpbusd's unsigned operand
// wants; the offset's contribution (offset * the block's sum of x) is subtracted once per row at the end.
#include <immintrin.h>

#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")
#define BMX_BLOCK_KERNELS_GENERIC
#include "block_kernels_impl.h"

namespace {

using bmx::kernels::BlockFormat;
using bmx::kernels::detail::BlockProblem;

// The weight stream is prefetched this far ahead: the hardware prefetchers alone left decode waiting on the W loads
// (perf: most samples at the load). Measured on the 4B shape, Zen 4, 2 threads, alternating runs: q8_0 tg64
// 4.4-5.8 -> 4.9-6.3 tok/s, q4_0 6.6-8.4 -> 7.7-9.0 (1024 bytes: in between; 4096: no better). The BF16 GEMV
// tried the same way got slower, so it has none.
#ifndef BMX_BLOCK_PREFETCH
#define BMX_BLOCK_PREFETCH 2048
#endif
constexpr int kPrefetchBytes = BMX_BLOCK_PREFETCH;
constexpr int kPass = 8;  // rows of x sharing one load of a W row: 8 accumulators of 32 registers

inline float hsum(__m512 v) {
  __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Two blocks of W as 64 unsigned bytes in element order.
template <BlockFormat F>
inline __m512i load_pair(const uint8_t* row, int64_t pair) {
  if constexpr (F == BlockFormat::q8_0) {
    return _mm512_loadu_si512(row + 64 * pair);
  } else {
    // The 32 bytes twice, the upper copy shifted to its high nibbles: [b0 low nibbles, b1 low, b0 high,
    // b1 high], then reordered to [b0 low, b0 high, b1 low, b1 high]: elements in order.
    const __m512i both = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 32 * pair)));
    const __m512i v = _mm512_and_si512(_mm512_mask_srli_epi16(both, __mmask32(0xFFFF0000u), both, 4),
                                       _mm512_set1_epi8(0x0F));
    return _mm512_shuffle_i64x2(v, v, _MM_SHUFFLE(3, 1, 2, 0));
  }
}

// sum_b sw[b] * t[b] over a row's blocks.
inline float scale_dot(const uint16_t* sw, const float* t, int64_t nb) {
  __m512 acc = _mm512_setzero_ps();
  int64_t b = 0;
  for (; b + 16 <= nb; b += 16)
    acc = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(sw + b))),
                          _mm512_loadu_ps(t + b), acc);
  float s = hsum(acc);
  for (; b < nb; ++b) s += _cvtsh_ss(sw[b]) * t[b];
  return s;
}

// The exact int32 sums of 16 blocks (8 pairs from pair j0) of one W row against one x row, in lane 4c + r for
// block 4r + c: 8 vpdpbusd and a tree of 17 shuffles and adds, then one conversion and one fma for all 16, where
// scaling each pair's partial sums on its own takes a shuffle, a conversion and an fma per pair. W in cache (Zen 4,
// 2 threads): q8_0 114-119 -> 132-133 GB/s, q4_0 60-63 -> 68.
template <BlockFormat F>
inline __m512i sixteen_block_sums(const uint8_t* wq, const int8_t* xq, int64_t j0) {
  __m512i quarters[4];  // quarters[r]: 128-bit lane c holds the four partial sums of block 4r + c
#pragma GCC unroll 4
  for (int r = 0; r < 4; ++r) {
    const int64_t j = j0 + 2 * r;
    if constexpr (kPrefetchBytes > 0) {
      _mm_prefetch(reinterpret_cast<const char*>(wq) + (F == BlockFormat::q8_0 ? 64 : 32) * j + kPrefetchBytes, _MM_HINT_T0);
      if constexpr (F == BlockFormat::q8_0)
        _mm_prefetch(reinterpret_cast<const char*>(wq) + 64 * (j + 1) + kPrefetchBytes, _MM_HINT_T0);
    }
    // Each pair's dot: lanes 0-7 its first block, 8-15 its second.
    const __m512i a = _mm512_dpbusd_epi32(_mm512_setzero_si512(), load_pair<F>(wq, j), _mm512_loadu_si512(xq + 64 * j));
    const __m512i b =
        _mm512_dpbusd_epi32(_mm512_setzero_si512(), load_pair<F>(wq, j + 1), _mm512_loadu_si512(xq + 64 * (j + 1)));
    quarters[r] = _mm512_add_epi32(_mm512_shuffle_i32x4(a, b, _MM_SHUFFLE(2, 0, 2, 0)),
                                   _mm512_shuffle_i32x4(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
  }
  const __m512i v01 = _mm512_add_epi32(_mm512_unpacklo_epi32(quarters[0], quarters[1]),
                                       _mm512_unpackhi_epi32(quarters[0], quarters[1]));
  const __m512i v23 = _mm512_add_epi32(_mm512_unpacklo_epi32(quarters[2], quarters[3]),
                                       _mm512_unpackhi_epi32(quarters[2], quarters[3]));
  return _mm512_add_epi32(_mm512_unpacklo_epi64(v01, v23), _mm512_unpackhi_epi64(v01, v23));
}

template <BlockFormat F, int MB>
inline void rows_of_x(const BlockProblem& p, int64_t n, int64_t m0) {
  constexpr float kOffset = F == BlockFormat::q8_0 ? 128.0f : 8.0f;
  const int64_t nb = p.x.blocks, pairs = nb / 2, ldq = p.x.cols_padded;
  const int64_t row_bytes = F == BlockFormat::q8_0 ? ldq : ldq / 2;
  const uint8_t* wq = p.w.quants + n * row_bytes;
  const uint16_t* ws = p.w.scales + n * nb;
  // Lanes 0-7 hold block 2j's partial sums, lanes 8-15 block 2j+1's.
  const __m512i halves = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  // Independent fma chains: with one or two rows of x (decode), one chain per row lets the 4-cycle fma share the
  // pace with the W stream. One row, four chains, W in cache (Zen 4, 2 threads, gate/up shape): q4_0 56-57 -> 62-64
  // GB/s, q8_0 113-116 -> 117-120; q4_0 from memory 51-53 -> 59-60. Fully unrolled: with `a` a run-time index the
  // accumulators went to the stack and both got 25 % slower.
  constexpr int A = MB == 1 ? 4 : MB == 2 ? 2 : 1;
  __m512 acc[MB][A];
#pragma GCC unroll 8
  for (int m = 0; m < MB; ++m)
#pragma GCC unroll 4
    for (int a = 0; a < A; ++a) acc[m][a] = _mm512_setzero_ps();
  auto step = [&](int64_t j, int a) {
    if constexpr (kPrefetchBytes > 0)
      _mm_prefetch(reinterpret_cast<const char*>(wq) + (F == BlockFormat::q8_0 ? 64 : 32) * j + kPrefetchBytes, _MM_HINT_T0);
    const __m512i w = load_pair<F>(wq, j);
    int32_t sw_bits;
    __builtin_memcpy(&sw_bits, ws + 2 * j, 4);
    const __m128 sw = _mm_cvtph_ps(_mm_cvtsi32_si128(sw_bits));
#pragma GCC unroll 8
    for (int m = 0; m < MB; ++m) {
      const int8_t* xq = p.x.q + (m0 + m) * ldq + 64 * j;
      const __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w, _mm512_loadu_si512(xq));
      const __m128 sx = _mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(p.x.scale + (m0 + m) * nb + 2 * j)));
      const __m512 s = _mm512_permutexvar_ps(halves, _mm512_castps128_ps512(_mm_mul_ps(sw, sx)));
      acc[m][a] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), s, acc[m][a]);
    }
  };
  int64_t j = 0;
  if constexpr (MB == 1) {  // decode: 16 blocks at a time, scaled once
    // Lane 4c + r holds block 4r + c (sixteen_block_sums).
    const __m512i order = _mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0);
    const int8_t* xq = p.x.q + m0 * ldq;
    const float* xs = p.x.scale + m0 * nb;
    for (; j + 8 <= pairs; j += 8) {
      const __m512i sums = sixteen_block_sums<F>(wq, xq, j);
      const __m512 scale = _mm512_mul_ps(_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(ws + 2 * j))),
                                         _mm512_loadu_ps(xs + 2 * j));
      acc[0][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums), _mm512_permutexvar_ps(order, scale), acc[0][0]);
    }
  }
  for (; j + A <= pairs; j += A) {
#pragma GCC unroll 4
    for (int a = 0; a < A; ++a) step(j + a, a);
  }
  for (; j < pairs; ++j) step(j, 0);
#pragma GCC unroll 8
  for (int m = 0; m < MB; ++m)
#pragma GCC unroll 4
    for (int a = 1; a < A; ++a) acc[m][0] = _mm512_add_ps(acc[m][0], acc[m][a]);
  for (int m = 0; m < MB; ++m) {
    float v = hsum(acc[m][0]) - kOffset * scale_dot(ws, p.x.offset_term + (m0 + m) * nb, nb);
    if (p.bias) v += p.bias[n];
    p.y[(m0 + m) * p.ldy + n] = v;
  }
}

struct Avx512Vnni {
  static constexpr int kRowsPerPass = kPass;
  template <BlockFormat F, int MB>
  static void rows(const BlockProblem& p, int64_t n, int64_t m0) { rows_of_x<F, MB>(p, n, m0); }
};

}  // namespace

#pragma GCC pop_options

namespace bmx::kernels::detail {

BlockKernels avx512_vnni_block_kernels() {
  BlockKernels k;
  k.q8_0 = block_range<Avx512Vnni, BlockFormat::q8_0>;
  k.q4_0 = block_range<Avx512Vnni, BlockFormat::q4_0>;
  k.name = "avx512-vnni";
  return k;
}

}  // namespace bmx::kernels::detail

// AVX2 block-quantized products, one block of 32 per step. vpmaddubsw multiplies unsigned by signed bytes
// into int16 pairs, which saturate above 32767: q8_0's stored bytes (value + 128, up to 255) times x (up to
// 127) would, so q8_0 multiplies |value| with x carrying value's sign (at most 2 * 127 * 127 per pair);
// q4_0's nibbles (0..15) never can, so they are used as stored and their offset 8 is subtracted at the end.
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#define BMX_BLOCK_KERNELS_GENERIC
#include "block_kernels_impl.h"

namespace {

using bmx::kernels::BlockFormat;
using bmx::kernels::detail::BlockProblem;

constexpr int kPass = 4;

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float scale_dot(const uint16_t* sw, const float* t, int64_t nb) {
  __m256 acc = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 8 <= nb; b += 8)
    acc = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sw + b))),
                          _mm256_loadu_ps(t + b), acc);
  float s = hsum(acc);
  for (; b < nb; ++b) s += _cvtsh_ss(sw[b]) * t[b];
  return s;
}

// The weight stream is prefetched this far ahead, as in the AVX-512 VNNI kernel (there: +10-20 % q8_0/q4_0 decode).
#ifndef BMX_BLOCK_PREFETCH
#define BMX_BLOCK_PREFETCH 2048
#endif
constexpr int kPrefetchBytes = BMX_BLOCK_PREFETCH;

template <BlockFormat F, int MB>
inline void rows_of_x(const BlockProblem& p, int64_t n, int64_t m0) {
  // One row of x (decode): four accumulators, so that the 4-cycle FMA latency of one chain does not set the pace
  // (it capped q4_0 at about half of llama.cpp's AVX2 rate on the 4B shape).
  constexpr int S = MB == 1 ? 4 : 1;
  constexpr int64_t kBlockBytes = F == BlockFormat::q8_0 ? 32 : 16;
  const int64_t nb = p.x.blocks, ldq = p.x.cols_padded;
  const int64_t row_bytes = F == BlockFormat::q8_0 ? ldq : ldq / 2;
  const uint8_t* wq = p.w.quants + n * row_bytes;
  const uint16_t* ws = p.w.scales + n * nb;
  const __m256i ones16 = _mm256_set1_epi16(1);
  __m256 acc[MB][S];
  for (int m = 0; m < MB; ++m)
    for (int s = 0; s < S; ++s) acc[m][s] = _mm256_setzero_ps();
  // sw * sx of the S blocks of one step for one x row, four at once (else a scalar f16 conversion, a multiply
  // and a broadcast per block and row).
  alignas(16) float scale[S == 4 ? 4 : 1];
  auto block = [&](int64_t b, int s, bool scaled) {
    __m256i wu, wsgn;  // unsigned bytes for vpmaddubsw, and (q8_0) the signed values whose sign x takes
    if constexpr (F == BlockFormat::q8_0) {
      wsgn = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wq + 32 * b)),
                              _mm256_set1_epi8(char(0x80)));
      wu = _mm256_sign_epi8(wsgn, wsgn);
    } else {
      const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(wq + 16 * b));
      const __m128i mask = _mm_set1_epi8(0x0F);
      wu = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), mask), _mm_and_si128(raw, mask));
      wsgn = wu;
    }
    const float sw = scaled ? 0.0f : _cvtsh_ss(ws[b]);
    for (int m = 0; m < MB; ++m) {
      __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.x.q + (m0 + m) * ldq + 32 * b));
      if constexpr (F == BlockFormat::q8_0) xv = _mm256_sign_epi8(xv, wsgn);
      const __m256i dot = _mm256_madd_epi16(_mm256_maddubs_epi16(wu, xv), ones16);
      const __m256 sv = scaled ? _mm256_broadcast_ss(scale + s) : _mm256_set1_ps(sw * p.x.scale[(m0 + m) * nb + b]);
      acc[m][s] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), sv, acc[m][s]);
    }
  };
  // q4_0 with one x row: two blocks per pass of 256-bit operations. Their 32 stored bytes hold elements 0-15 (low
  // nibbles) and 16-31 (high) of each block; x's two blocks are regrouped the same way, two lane swaps instead of
  // the per-block unpacking (about a third fewer instructions per weight, the bound of AVX2 q4_0 decoding).
  auto block_pair = [&](int64_t b, int s) {
    const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wq + 16 * b));
    const __m256i mask = _mm256_set1_epi8(0x0F);
    const __m256i lo = _mm256_and_si256(raw, mask), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), mask);
    const int8_t* xr = p.x.q + m0 * ldq + 32 * b;
    const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xr));
    const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xr + 32));
    // Nibble (<= 15) times x (|x| <= 127), two pairs summed twice: |sum| <= 4 * 15 * 127, no int16 saturation.
    const __m256i sums = _mm256_add_epi16(_mm256_maddubs_epi16(lo, _mm256_permute2x128_si256(x0, x1, 0x20)),
                                          _mm256_maddubs_epi16(hi, _mm256_permute2x128_si256(x0, x1, 0x31)));
    const __m256 sv = _mm256_set_m128(_mm_broadcast_ss(scale + s + 1), _mm_broadcast_ss(scale + s));
    acc[0][s] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(sums, ones16)), sv, acc[0][s]);
  };
  int64_t b = 0;
  for (; b + S <= nb; b += S) {
    if constexpr (kPrefetchBytes > 0)
      for (int64_t line = 0; line < S * kBlockBytes; line += 64)
        _mm_prefetch(reinterpret_cast<const char*>(wq) + kBlockBytes * b + line + kPrefetchBytes, _MM_HINT_T0);
    if constexpr (S == 4) {
      int64_t sw4;
      __builtin_memcpy(&sw4, ws + b, 8);
      _mm_store_ps(scale, _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi64_si128(sw4)), _mm_loadu_ps(p.x.scale + m0 * nb + b)));
    }
    if constexpr (F == BlockFormat::q4_0 && S == 4) {
      block_pair(b, 0);
      block_pair(b + 2, 2);
    } else {
#pragma GCC unroll 4
      for (int s = 0; s < S; ++s) block(b + s, s, S == 4);
    }
  }
  for (; b < nb; ++b) block(b, 0, false);
  for (int m = 0; m < MB; ++m) {
    __m256 a = acc[m][0];
    for (int s = 1; s < S; ++s) a = _mm256_add_ps(a, acc[m][s]);
    float v = hsum(a);
    if constexpr (F == BlockFormat::q4_0) v -= 8.0f * scale_dot(ws, p.x.offset_term + (m0 + m) * nb, nb);
    if (p.bias) v += p.bias[n];
    p.y[(m0 + m) * p.ldy + n] = v;
  }
}

struct Avx2 {
  static constexpr int kRowsPerPass = kPass;
  template <BlockFormat F, int MB>
  static void rows(const BlockProblem& p, int64_t n, int64_t m0) { rows_of_x<F, MB>(p, n, m0); }
};

}  // namespace

#pragma GCC pop_options

namespace bmx::kernels::detail {

BlockKernels avx2_block_kernels() {
  BlockKernels k;
  k.q8_0 = block_range<Avx2, BlockFormat::q8_0>;
  k.q4_0 = block_range<Avx2, BlockFormat::q4_0>;
  k.name = "avx2";
  return k;
}

}  // namespace bmx::kernels::detail

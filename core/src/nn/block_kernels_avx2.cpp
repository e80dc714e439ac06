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

// Block b of W for vpmaddubsw: unsigned bytes (wu) and, for q8_0, the signed values whose sign x takes (wsgn).
template <BlockFormat F>
inline void load_block(const uint8_t* wq, int64_t b, __m256i& wu, __m256i& wsgn) {
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
}

// One block's products with 32 bytes of x, summed into 8 int32 lanes.
template <BlockFormat F>
inline __m256i block_dot(__m256i wu, __m256i wsgn, const int8_t* x) {
  __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x));
  if constexpr (F == BlockFormat::q8_0) xv = _mm256_sign_epi8(xv, wsgn);
  return _mm256_madd_epi16(_mm256_maddubs_epi16(wu, xv), _mm256_set1_epi16(1));
}

// q4_0 blocks b and b + 1 with x's in one pass of 256-bit operations: lanes 0-3 hold block b's sums, 4-7 block
// b + 1's. Their 32 stored bytes hold elements 0-15 (low nibbles) and 16-31 (high) of each block; x's two blocks
// are regrouped the same way by two lane swaps, instead of unpacking each block's nibbles (a third fewer
// instructions per weight, which bound AVX2 q4_0 decoding).
inline __m256i q4_pair_dot(const uint8_t* wq, int64_t b, const int8_t* x) {
  const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wq + 16 * b));
  const __m256i mask = _mm256_set1_epi8(0x0F);
  const __m256i lo = _mm256_and_si256(raw, mask), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), mask);
  const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x));
  const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 32));
  // Nibble (<= 15) times x (|x| <= 127), two pairs summed twice: |sum| <= 4 * 15 * 127, no int16 saturation.
  const __m256i sums = _mm256_add_epi16(_mm256_maddubs_epi16(lo, _mm256_permute2x128_si256(x0, x1, 0x20)),
                                        _mm256_maddubs_epi16(hi, _mm256_permute2x128_si256(x0, x1, 0x31)));
  return _mm256_madd_epi16(sums, _mm256_set1_epi16(1));
}

// y[m0 + m, n] = W row n · x row m0 + m (+ bias) for the MB rows of x of one pass: W's blocks are read once.
template <BlockFormat F, int MB>
inline void rows_of_x(const BlockProblem& p, int64_t n, int64_t m0) {
  const int64_t nb = p.x.blocks, ldq = p.x.cols_padded;
  const int64_t row_bytes = F == BlockFormat::q8_0 ? ldq : ldq / 2;
  const uint8_t* wq = p.w.quants + n * row_bytes;
  const uint16_t* ws = p.w.scales + n * nb;
  __m256 acc[MB];
  for (int m = 0; m < MB; ++m) acc[m] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    __m256i wu, wsgn;
    load_block<F>(wq, b, wu, wsgn);
    const float sw = _cvtsh_ss(ws[b]);
    for (int m = 0; m < MB; ++m) {
      const __m256i dot = block_dot<F>(wu, wsgn, p.x.q + (m0 + m) * ldq + 32 * b);
      acc[m] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(sw * p.x.scale[(m0 + m) * nb + b]), acc[m]);
    }
  }
  for (int m = 0; m < MB; ++m) {
    float v = hsum(acc[m]);
    if constexpr (F == BlockFormat::q4_0) v -= 8.0f * scale_dot(ws, p.x.offset_term + (m0 + m) * nb, nb);
    if (p.bias) v += p.bias[n];
    p.y[(m0 + m) * p.ldy + n] = v;
  }
}

// The same for one row of x (decode), four blocks per step: four accumulators, so that the 4-cycle FMA latency
// of one chain does not set the pace (it capped q4_0 at about half of llama.cpp's AVX2 rate on the 4B shape);
// the weight stream prefetched; the four blocks' scale products made at once (else a scalar f16 conversion, a
// multiply and a broadcast per block).
template <BlockFormat F>
inline void one_row_of_x(const BlockProblem& p, int64_t n, int64_t m0) {
  constexpr int64_t kBlockBytes = F == BlockFormat::q8_0 ? 32 : 16;
  const int64_t nb = p.x.blocks, ldq = p.x.cols_padded;
  const int64_t row_bytes = F == BlockFormat::q8_0 ? ldq : ldq / 2;
  const uint8_t* wq = p.w.quants + n * row_bytes;
  const uint16_t* ws = p.w.scales + n * nb;
  const int8_t* xq = p.x.q + m0 * ldq;
  const float* xs = p.x.scale + m0 * nb;
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  alignas(16) float scale[4];
  int64_t b = 0;
  for (; b + 4 <= nb; b += 4) {
    if constexpr (kPrefetchBytes > 0)
      for (int64_t line = 0; line < 4 * kBlockBytes; line += 64)
        _mm_prefetch(reinterpret_cast<const char*>(wq) + kBlockBytes * b + line + kPrefetchBytes, _MM_HINT_T0);
    int64_t sw4;
    __builtin_memcpy(&sw4, ws + b, 8);
    _mm_store_ps(scale, _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi64_si128(sw4)), _mm_loadu_ps(xs + b)));
    if constexpr (F == BlockFormat::q4_0) {  // written out: as a loop, GCC kept acc on the stack
      const __m256 s01 = _mm256_set_m128(_mm_broadcast_ss(scale + 1), _mm_broadcast_ss(scale));
      const __m256 s23 = _mm256_set_m128(_mm_broadcast_ss(scale + 3), _mm_broadcast_ss(scale + 2));
      acc[0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(q4_pair_dot(wq, b, xq + 32 * b)), s01, acc[0]);
      acc[2] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(q4_pair_dot(wq, b + 2, xq + 32 * (b + 2))), s23, acc[2]);
    } else {
#pragma GCC unroll 4
      for (int s = 0; s < 4; ++s) {
        __m256i wu, wsgn;
        load_block<F>(wq, b + s, wu, wsgn);
        const __m256i dot = block_dot<F>(wu, wsgn, xq + 32 * (b + s));
        acc[s] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_broadcast_ss(scale + s), acc[s]);
      }
    }
  }
  for (; b < nb; ++b) {
    __m256i wu, wsgn;
    load_block<F>(wq, b, wu, wsgn);
    const __m256i dot = block_dot<F>(wu, wsgn, xq + 32 * b);
    acc[0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(_cvtsh_ss(ws[b]) * xs[b]), acc[0]);
  }
  float v = hsum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
  if constexpr (F == BlockFormat::q4_0) v -= 8.0f * scale_dot(ws, p.x.offset_term + m0 * nb, nb);
  if (p.bias) v += p.bias[n];
  p.y[m0 * p.ldy + n] = v;
}


// A tile of 16 W rows (BlockOrder::tiles) against MB rows of x, in two halves of 8 rows (the low and high 32
// bytes of each 64-byte group): each 32-byte load holds 4 elements of 8 rows and meets one 4-byte group of x
// broadcast, so a block costs one conversion and one scale multiply per 8 rows. q8_0 multiplies |value| with x
// taking value's sign, as above. q4_0's eight nibble products per row stay within int16 (8 * 2 * 15 * 127 =
// 30480), so they are summed there and widened once; the offset 8 is subtracted at the end.
template <BlockFormat F, int MB>
inline void tile_of_x(const BlockProblem& p, int64_t n, int64_t m0) {
  constexpr bool q8 = F == BlockFormat::q8_0;
  constexpr int kBlockBytes = q8 ? 512 : 256;  // one block of the tile
  // 4 KiB ahead into L2, as the AVX-512 tiles. bench kernels --isa avx2, 3 alternations: q4_0 from memory 60-71
  // against 56-61 GB/s without it; with W in cache it costs ~10 % (q8_0 106-110 against 117-123).
  constexpr int kTilePrefetch = 4096;
  const int64_t nb = p.x.blocks, ldq = p.x.cols_padded;
  const uint8_t* wt = p.w.quants + n * (q8 ? ldq : ldq / 2);
  const uint16_t* st = p.w.scales + n * nb;
  const __m256i ones = _mm256_set1_epi16(1), low = _mm256_set1_epi8(0x0F), flip = _mm256_set1_epi8(char(0x80));
  __m256 acc[MB][2], corr[MB][2];
  for (int m = 0; m < MB; ++m)
    for (int h = 0; h < 2; ++h) acc[m][h] = corr[m][h] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* wb = wt + b * kBlockBytes;
#pragma GCC unroll 8
    for (int l = 0; l < kBlockBytes; l += 64)
      _mm_prefetch(reinterpret_cast<const char*>(wb) + l + kTilePrefetch, _MM_HINT_T1);
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      const __m256 sw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(st + b * 16 + 8 * h)));
#pragma GCC unroll 2
      for (int m = 0; m < MB; ++m) {
        const int8_t* xb = p.x.q + (m0 + m) * ldq + 32 * b;
        auto xg = [xb](int g) {
          int32_t v;
          __builtin_memcpy(&v, xb + 4 * g, 4);
          return _mm256_set1_epi32(v);
        };
        __m256i dot;
        if constexpr (q8) {
          __m256i s[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
#pragma GCC unroll 8
          for (int g = 0; g < 8; ++g) {
            const __m256i v = _mm256_xor_si256(
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + 64 * g + 32 * h)), flip);  // signed values
            const __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(v, v), _mm256_sign_epi8(xg(g), v));
            s[g & 1] = _mm256_add_epi32(s[g & 1], _mm256_madd_epi16(pairs, ones));
          }
          dot = _mm256_add_epi32(s[0], s[1]);
        } else {
          __m256i s16 = _mm256_setzero_si256();
#pragma GCC unroll 4
          for (int q = 0; q < 4; ++q) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + 64 * q + 32 * h));
            s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(_mm256_and_si256(v, low), xg(q)));
            s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(v, 4), low), xg(q + 4)));
          }
          dot = _mm256_madd_epi16(s16, ones);
          corr[m][h] = _mm256_fmadd_ps(sw, _mm256_set1_ps(p.x.offset_term[(m0 + m) * nb + b]), corr[m][h]);
        }
        acc[m][h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(sw, _mm256_set1_ps(p.x.scale[(m0 + m) * nb + b])),
                                    acc[m][h]);
      }
    }
  }
  for (int m = 0; m < MB; ++m)
    for (int h = 0; h < 2; ++h) {
      __m256 v = q8 ? acc[m][h] : _mm256_fnmadd_ps(corr[m][h], _mm256_set1_ps(8.0f), acc[m][h]);
      if (p.bias) v = _mm256_add_ps(v, _mm256_loadu_ps(p.bias + n + 8 * h));
      _mm256_storeu_ps(p.y + (m0 + m) * p.ldy + n + 8 * h, v);
    }
}

struct Avx2 {
  static constexpr int kRowsPerPass = kPass;
  static constexpr int kTilePass = 2;  // rows of x per pass over a tile: 2 x rows x 2 halves x 2 sums = 8 registers
  template <BlockFormat F, int MB>
  static void tile(const BlockProblem& p, int64_t n, int64_t m0) { tile_of_x<F, MB>(p, n, m0); }
  template <BlockFormat F, int MB>
  static void rows(const BlockProblem& p, int64_t n, int64_t m0) {
    if constexpr (MB == 1) one_row_of_x<F>(p, n, m0);
    else rows_of_x<F, MB>(p, n, m0);
  }
};

}  // namespace

#pragma GCC pop_options

namespace bmx::kernels::detail {

BlockKernels avx2_block_kernels() {
  BlockKernels k;
  k.q8_0 = block_range<Avx2, BlockFormat::q8_0>;
  k.q4_0 = block_range<Avx2, BlockFormat::q4_0>;
  k.q8_0_tiles = tiles_range<Avx2, BlockFormat::q8_0>;
  k.q4_0_tiles = tiles_range<Avx2, BlockFormat::q4_0>;
  k.name = "avx2";
  return k;
}

}  // namespace bmx::kernels::detail

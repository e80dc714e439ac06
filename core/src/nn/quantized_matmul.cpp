#include "bmx/core/nn/quantized_matmul.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <mutex>
#include <vector>

#include "bmx/core/nn/kernels.h"
#include "bmx/core/util/thread_pool.h"
#include "quantized_matmul_impl.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define BMX_QMM_X86 1
#endif

namespace bmx::kernels {

namespace {

using detail::Int16Problem;

constexpr int kQMax = 8191;                    // 14 bits: 32 products of two such values sum below 2^31
constexpr int kChunk = detail::kInt16Chunk;    // pairs (32 products) summed in int32 before the float add
constexpr int kMR = detail::kInt16TileRows;    // rows of x per micro-tile
constexpr int kNR = detail::kInt16PanelRows;   // rows of W per panel (columns of y)

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// Scale and reciprocal for one row; the reciprocal is computed the same way on every path so that the rounded
// integers agree bit for bit.
struct RowScale {
  float scale, inv;
};
RowScale row_scale(float max_abs, bool finite) {
  if (!finite) return {std::numeric_limits<float>::quiet_NaN(), 0.f};  // the products come out NaN, as in float
  // A row this small (zero, or below 8191 / FLT_MAX, where 1 / step overflows) counts as zero: error < 3e-35.
  if (!(max_abs >= float(kQMax) / std::numeric_limits<float>::max())) return {0.f, 0.f};
  return {max_abs / float(kQMax), float(kQMax) / max_abs};
}

// Round half to even without a libm call (so that loops vectorise): for |x| < 2^22, adding and subtracting
// 1.5 * 2^23 leaves the nearest integer, ties to even -- what the AVX2 path's _mm256_round_ps gives.
// Non-finite rows have inv = 0 and give zeros (their scale is NaN).
inline int16_t quantize(float v, float inv) {
  if (inv == 0.f) return 0;
  const float x = std::clamp(v * inv, -float(kQMax), float(kQMax));
  constexpr float kMagic = 12582912.f;
  return int16_t((x + kMagic) - kMagic);
}

// One row rounded to int16 (q[0, K)); returns its scale.
float quantize_row_portable(const float* x, int64_t K, int16_t* q) {
  float m = 0.f;
  bool finite = true;
  for (int64_t k = 0; k < K; ++k) {
    const float a = std::fabs(x[k]);
    if (!(a <= std::numeric_limits<float>::max())) finite = false;
    m = std::max(m, a);
  }
  const RowScale s = row_scale(m, finite);
  for (int64_t k = 0; k < K; ++k) q[k] = quantize(x[k], s.inv);
  return s.scale;
}

#ifdef BMX_QMM_X86
// AVX2 + FMA region. Nothing in it may instantiate a std:: template: a copy compiled for AVX2 could be the one
// the linker keeps for the whole program.
#pragma GCC push_options
#pragma GCC target("avx2,fma")
float quantize_row_avx2(const float* x, int64_t K, int16_t* q) {
  const __m256 sign = _mm256_set1_ps(-0.f), big = _mm256_set1_ps(std::numeric_limits<float>::max());
  __m256 vmax = _mm256_setzero_ps(), bad = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= K; k += 8) {
    const __m256 a = _mm256_andnot_ps(sign, _mm256_loadu_ps(x + k));
    bad = _mm256_or_ps(bad, _mm256_cmp_ps(a, big, _CMP_NLE_UQ));
    vmax = _mm256_max_ps(vmax, a);
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, vmax);
  float m = 0.f;
  for (float v : lanes) m = v > m ? v : m;
  bool finite = _mm256_movemask_ps(bad) == 0;
  for (int64_t j = k; j < K; ++j) {
    const float a = std::fabs(x[j]);
    if (!(a <= std::numeric_limits<float>::max())) finite = false;
    m = a > m ? a : m;
  }
  const RowScale s = row_scale(m, finite);
  if (s.inv == 0.f) {
    for (int64_t j = 0; j < K; ++j) q[j] = 0;
    return s.scale;
  }
  const __m256 inv = _mm256_set1_ps(s.inv), hi = _mm256_set1_ps(float(kQMax)), lo = _mm256_set1_ps(-float(kQMax));
  auto round8 = [&](const float* p) {
    const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(p), inv);
    const __m256 r = _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    return _mm256_cvttps_epi32(_mm256_max_ps(lo, _mm256_min_ps(hi, r)));
  };
  k = 0;
  for (; k + 16 <= K; k += 16) {
    const __m256i packed = _mm256_packs_epi32(round8(x + k), round8(x + k + 8));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + k), _mm256_permute4x64_epi64(packed, 0xD8));
  }
  for (; k < K; ++k) q[k] = quantize(x[k], s.inv);
  return s.scale;
}
#pragma GCC pop_options
#endif

bool use_avx2();

int32_t pair(int16_t lo, int16_t hi) { return int32_t(uint32_t(uint16_t(lo)) | (uint32_t(uint16_t(hi)) << 16)); }

// One row rounded to int16 (q[0, K)) on the best path; returns its scale.
float quantize_row(const float* x, int64_t K, int16_t* q) {
#ifdef BMX_QMM_X86
  if (use_avx2()) return quantize_row_avx2(x, K, q);
#endif
  return quantize_row_portable(x, K, q);
}

// Row r of a matrix rounded into its slot of the [tiles][Kp/2][tile] int16-pair layout (tile = 6 rows for x,
// 16 for W), zero past K, and its scale. scratch: Kp values.
void quantize_into_tiles(const float* row, int64_t K, int64_t Kp, int64_t r, int tile, int32_t* packed, float* scale,
                         int16_t* scratch) {
  scale[r] = quantize_row(row, K, scratch);
  std::fill(scratch + K, scratch + Kp, int16_t(0));
  const int64_t pairs = Kp / 2;
  int32_t* dst = packed + (r / tile) * pairs * tile + r % tile;
  for (int64_t p = 0; p < pairs; ++p) dst[p * tile] = pair(scratch[2 * p], scratch[2 * p + 1]);
}

// y = acc * (sx * sw) + bias, stored or added.
inline float finish(float acc, float sx, float sw, float bias, float y, bool accumulate) {
  const float t = std::fma(acc, sx * sw, bias);
  return accumulate ? y + t : t;
}

void store_tile(const float (&acc)[kMR][kNR], const float* sx, const float* sw, const float* bias, float* y,
                int64_t ldy, int rows, int cols, bool accumulate) {
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      float& out = y[r * ldy + c];
      out = finish(acc[r][c], sx[r], sw[c], bias ? bias[c] : 0.f, out, accumulate);
    }
}

void tile_portable(const int32_t* a, const int32_t* w, int64_t pairs, float (&acc)[kMR][kNR]) {
  for (auto& row : acc) std::fill(std::begin(row), std::end(row), 0.f);
  for (int64_t p0 = 0; p0 < pairs; p0 += kChunk) {
    int32_t sum[kMR][kNR] = {};
    for (int64_t p = p0; p < p0 + kChunk; ++p)
      for (int r = 0; r < kMR; ++r) {
        const int32_t av = a[p * kMR + r];
        const int32_t a0 = int16_t(av & 0xffff), a1 = int16_t(uint32_t(av) >> 16);
        for (int c = 0; c < kNR; ++c) {
          const int32_t wv = w[p * kNR + c];
          sum[r][c] += a0 * int16_t(wv & 0xffff) + a1 * int16_t(uint32_t(wv) >> 16);
        }
      }
    for (int r = 0; r < kMR; ++r)
      for (int c = 0; c < kNR; ++c) acc[r][c] += float(sum[r][c]);
  }
}

#ifdef BMX_QMM_X86
#pragma GCC push_options
#pragma GCC target("avx2,fma")
// 6 x 16 micro-tile: 12 int32 accumulators (ymm4-15), 2 W registers, 1 broadcast and 1 product: all 16 ymm
// registers, which compilers do not manage to allocate without spilling, hence the assembly. Every 16 pairs
// the int32 sums are converted and added to the float tile (in L1).
void tile_avx2(const int32_t* a, const int32_t* w, int64_t pairs, float (&acc)[kMR][kNR]) {
  static_assert(kMR == 6 && kNR == 16 && kChunk == 16, "the assembly is written for 6 x 16 tiles, 16 pairs");
  for (auto& row : acc)
    for (float& v : row) v = 0.f;
  int64_t chunks = pairs / kChunk, count = 0;
  __asm__ volatile(
      "1:\n\t"
      "vpxor %%xmm4, %%xmm4, %%xmm4\n\t"
      "vpxor %%xmm5, %%xmm5, %%xmm5\n\t"
      "vpxor %%xmm6, %%xmm6, %%xmm6\n\t"
      "vpxor %%xmm7, %%xmm7, %%xmm7\n\t"
      "vpxor %%xmm8, %%xmm8, %%xmm8\n\t"
      "vpxor %%xmm9, %%xmm9, %%xmm9\n\t"
      "vpxor %%xmm10, %%xmm10, %%xmm10\n\t"
      "vpxor %%xmm11, %%xmm11, %%xmm11\n\t"
      "vpxor %%xmm12, %%xmm12, %%xmm12\n\t"
      "vpxor %%xmm13, %%xmm13, %%xmm13\n\t"
      "vpxor %%xmm14, %%xmm14, %%xmm14\n\t"
      "vpxor %%xmm15, %%xmm15, %%xmm15\n\t"
      "mov $16, %[count]\n\t"
      "2:\n\t"
      "vmovdqu (%[w]), %%ymm0\n\t"
      "vmovdqu 32(%[w]), %%ymm1\n\t"
      "vpbroadcastd 0(%[a]), %%ymm2\n\t"
      "vpmaddwd %%ymm0, %%ymm2, %%ymm3\n\t"
      "vpaddd %%ymm3, %%ymm4, %%ymm4\n\t"
      "vpmaddwd %%ymm1, %%ymm2, %%ymm2\n\t"
      "vpaddd %%ymm2, %%ymm5, %%ymm5\n\t"
      "vpbroadcastd 4(%[a]), %%ymm2\n\t"
      "vpmaddwd %%ymm0, %%ymm2, %%ymm3\n\t"
      "vpaddd %%ymm3, %%ymm6, %%ymm6\n\t"
      "vpmaddwd %%ymm1, %%ymm2, %%ymm2\n\t"
      "vpaddd %%ymm2, %%ymm7, %%ymm7\n\t"
      "vpbroadcastd 8(%[a]), %%ymm2\n\t"
      "vpmaddwd %%ymm0, %%ymm2, %%ymm3\n\t"
      "vpaddd %%ymm3, %%ymm8, %%ymm8\n\t"
      "vpmaddwd %%ymm1, %%ymm2, %%ymm2\n\t"
      "vpaddd %%ymm2, %%ymm9, %%ymm9\n\t"
      "vpbroadcastd 12(%[a]), %%ymm2\n\t"
      "vpmaddwd %%ymm0, %%ymm2, %%ymm3\n\t"
      "vpaddd %%ymm3, %%ymm10, %%ymm10\n\t"
      "vpmaddwd %%ymm1, %%ymm2, %%ymm2\n\t"
      "vpaddd %%ymm2, %%ymm11, %%ymm11\n\t"
      "vpbroadcastd 16(%[a]), %%ymm2\n\t"
      "vpmaddwd %%ymm0, %%ymm2, %%ymm3\n\t"
      "vpaddd %%ymm3, %%ymm12, %%ymm12\n\t"
      "vpmaddwd %%ymm1, %%ymm2, %%ymm2\n\t"
      "vpaddd %%ymm2, %%ymm13, %%ymm13\n\t"
      "vpbroadcastd 20(%[a]), %%ymm2\n\t"
      "vpmaddwd %%ymm0, %%ymm2, %%ymm3\n\t"
      "vpaddd %%ymm3, %%ymm14, %%ymm14\n\t"
      "vpmaddwd %%ymm1, %%ymm2, %%ymm2\n\t"
      "vpaddd %%ymm2, %%ymm15, %%ymm15\n\t"
      "add $24, %[a]\n\t"
      "add $64, %[w]\n\t"
      "dec %[count]\n\t"
      "jnz 2b\n\t"
      "vcvtdq2ps %%ymm4, %%ymm4\n\t"
      "vaddps 0(%[acc]), %%ymm4, %%ymm4\n\t"
      "vmovups %%ymm4, 0(%[acc])\n\t"
      "vcvtdq2ps %%ymm5, %%ymm5\n\t"
      "vaddps 32(%[acc]), %%ymm5, %%ymm5\n\t"
      "vmovups %%ymm5, 32(%[acc])\n\t"
      "vcvtdq2ps %%ymm6, %%ymm6\n\t"
      "vaddps 64(%[acc]), %%ymm6, %%ymm6\n\t"
      "vmovups %%ymm6, 64(%[acc])\n\t"
      "vcvtdq2ps %%ymm7, %%ymm7\n\t"
      "vaddps 96(%[acc]), %%ymm7, %%ymm7\n\t"
      "vmovups %%ymm7, 96(%[acc])\n\t"
      "vcvtdq2ps %%ymm8, %%ymm8\n\t"
      "vaddps 128(%[acc]), %%ymm8, %%ymm8\n\t"
      "vmovups %%ymm8, 128(%[acc])\n\t"
      "vcvtdq2ps %%ymm9, %%ymm9\n\t"
      "vaddps 160(%[acc]), %%ymm9, %%ymm9\n\t"
      "vmovups %%ymm9, 160(%[acc])\n\t"
      "vcvtdq2ps %%ymm10, %%ymm10\n\t"
      "vaddps 192(%[acc]), %%ymm10, %%ymm10\n\t"
      "vmovups %%ymm10, 192(%[acc])\n\t"
      "vcvtdq2ps %%ymm11, %%ymm11\n\t"
      "vaddps 224(%[acc]), %%ymm11, %%ymm11\n\t"
      "vmovups %%ymm11, 224(%[acc])\n\t"
      "vcvtdq2ps %%ymm12, %%ymm12\n\t"
      "vaddps 256(%[acc]), %%ymm12, %%ymm12\n\t"
      "vmovups %%ymm12, 256(%[acc])\n\t"
      "vcvtdq2ps %%ymm13, %%ymm13\n\t"
      "vaddps 288(%[acc]), %%ymm13, %%ymm13\n\t"
      "vmovups %%ymm13, 288(%[acc])\n\t"
      "vcvtdq2ps %%ymm14, %%ymm14\n\t"
      "vaddps 320(%[acc]), %%ymm14, %%ymm14\n\t"
      "vmovups %%ymm14, 320(%[acc])\n\t"
      "vcvtdq2ps %%ymm15, %%ymm15\n\t"
      "vaddps 352(%[acc]), %%ymm15, %%ymm15\n\t"
      "vmovups %%ymm15, 352(%[acc])\n\t"
      "dec %[chunks]\n\t"
      "jnz 1b\n\t"
      : [a] "+r"(a), [w] "+r"(w), [chunks] "+r"(chunks), [count] "+r"(count)
      : [acc] "r"(&acc[0][0])
      : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

void store_tile_avx2(const float (&acc)[kMR][kNR], const float* sx, const float* sw, const float* bias, float* y,
                     int64_t ldy, int rows, bool accumulate) {
  const __m256 w0 = _mm256_loadu_ps(sw), w1 = _mm256_loadu_ps(sw + 8);
  const __m256 b0 = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
  const __m256 b1 = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
  for (int r = 0; r < rows; ++r) {
    const __m256 x = _mm256_set1_ps(sx[r]);
    __m256 t0 = _mm256_fmadd_ps(_mm256_loadu_ps(acc[r]), _mm256_mul_ps(x, w0), b0);
    __m256 t1 = _mm256_fmadd_ps(_mm256_loadu_ps(acc[r] + 8), _mm256_mul_ps(x, w1), b1);
    float* out = y + r * ldy;
    if (accumulate) {
      t0 = _mm256_add_ps(_mm256_loadu_ps(out), t0);
      t1 = _mm256_add_ps(_mm256_loadu_ps(out + 8), t1);
    }
    _mm256_storeu_ps(out, t0);
    _mm256_storeu_ps(out + 8, t1);
  }
}
#pragma GCC pop_options

// Follows the kernels' instruction-set level, so that kernels::testing::force_isa(Isa::scalar) in tests covers
// the portable loops too.
bool use_avx2() { return active_isa() >= Isa::avx2; }

#else
bool use_avx2() { return false; }
#endif

enum class Level { portable, avx2, avx512_vnni };

const char* level_name(Level l) {
  switch (l) {
    case Level::portable: return "portable";
    case Level::avx2: return "avx2";
    case Level::avx512_vnni: return "avx512-vnni";
  }
  return "?";
}

// x tiles [t0, t1) against W panels [p0, p1), one 6 x 16 tile at a time: the portable loop or the AVX2 assembly.
void range_6x16(const Int16Problem& p, int64_t t0, int64_t t1, int64_t p0, int64_t p1, bool avx2) {
  for (int64_t panel = p0; panel < p1; ++panel) {
    const int64_t n0 = panel * kNR;
    const int cols = int(std::min<int64_t>(kNR, p.N - n0));
    const int32_t* wp = p.wq + panel * p.pairs * kNR;
    const float* sw = p.ws + n0;
    const float* b = p.bias ? p.bias + n0 : nullptr;
    alignas(32) float acc[kMR][kNR];
    for (int64_t t = t0; t < t1; ++t) {
      const int rows = int(std::min<int64_t>(kMR, p.M - t * kMR));
      const int32_t* ap = p.xq + t * p.pairs * kMR;
      float* out = p.y + t * kMR * p.ldy + n0;
#ifdef BMX_QMM_X86
      if (avx2) {
        tile_avx2(ap, wp, p.pairs, acc);
        if (cols == kNR) {
          store_tile_avx2(acc, p.xs + t * kMR, sw, b, out, p.ldy, rows, p.accumulate);
          continue;
        }
      } else {
        tile_portable(ap, wp, p.pairs, acc);
      }
#else
      tile_portable(ap, wp, p.pairs, acc);
#endif
      store_tile(acc, p.xs + t * kMR, sw, b, out, p.ldy, rows, cols, p.accumulate);
    }
  }
}

// The product at `level`, on the kernels' threads or (threaded = false) on the caller's alone.
void multiply(Level level, const float* x, int64_t ldx, const QuantizedMatrix& w, float* y, int64_t ldy, int64_t M,
              const float* bias, bool accumulate, bool threaded) {
  if (M <= 0 || w.rows <= 0) return;
  const int64_t K = w.cols, Kp = w.cols_padded, pairs = Kp / 2;
  const int64_t tiles = (M + kMR - 1) / kMR, panels = (w.rows + kNR - 1) / kNR;
  auto for_each = [threaded](int64_t n, const std::function<void(int64_t, int)>& fn) {
    if (threaded) {
      thread_pool().run(n, fn);
    } else {
      for (int64_t i = 0; i < n; ++i) fn(i, 0);
    }
  };
  thread_local std::vector<int32_t> xq_buffer;
  thread_local std::vector<float> xs_buffer;
  xq_buffer.resize(size_t(tiles * pairs * kMR));
  xs_buffer.assign(size_t(tiles * kMR), 0.f);
  int32_t* xq = xq_buffer.data();  // the caller's buffers: the workers' thread_local ones are others
  float* xs = xs_buffer.data();
  for_each(tiles, [&](int64_t t, int) {
    thread_local std::vector<int16_t> scratch;
    scratch.resize(size_t(Kp));
    const int64_t m1 = std::min(M, (t + 1) * kMR);
    for (int64_t m = t * kMR; m < m1; ++m) quantize_into_tiles(x + m * ldx, K, Kp, m, kMR, xq, xs, scratch.data());
    for (int64_t m = m1; m < (t + 1) * kMR; ++m)  // rows past M in the last tile
      for (int64_t p = 0; p < pairs; ++p) xq[t * pairs * kMR + p * kMR + m % kMR] = 0;
  });
  Int16Problem prob;
  prob.xq = xq;
  prob.xs = xs;
  prob.wq = w.packed.data();
  prob.ws = w.scale.data();
  prob.M = M;
  prob.N = w.rows;
  prob.pairs = pairs;
  prob.bias = bias;
  prob.y = y;
  prob.ldy = ldy;
  prob.accumulate = accumulate;
  // Tasks run x blocks of ~256 KiB (kept in L2) against panels of 16 W rows (two per task at the VNNI level,
  // whose micro-tile spans two), block after block.
  const int64_t block_tiles = std::clamp<int64_t>((256 << 10) / (Kp * 2 * kMR), 1, tiles);
  const int64_t blocks = (tiles + block_tiles - 1) / block_tiles;
  const int64_t group = level == Level::avx512_vnni ? 2 : 1, groups = (panels + group - 1) / group;
  for_each(blocks * groups, [&](int64_t task, int) {
    const int64_t block = task / groups, g = task % groups;
    const int64_t t0 = block * block_tiles, t1 = std::min(tiles, (block + 1) * block_tiles);
    const int64_t p0 = g * group, p1 = std::min(panels, p0 + group);
    if (level == Level::avx512_vnni) {
#ifdef BMX_QMM_X86
      detail::int16_range_avx512_vnni(prob, t0, t1, p0, p1);
#endif
    } else {
      range_6x16(prob, t0, t1, p0, p1, level == Level::avx2);
    }
  });
}

// Whether `level` gives the portable loop's bits on ragged problems: odd K (one chunk and several), N off the
// panel width on both sides of a two-panel micro-tile, M off the tile height, bias, accumulation.
bool level_agrees(Level level) {
  uint32_t state = 4242u;
  auto next = [&] {
    state = state * 1664525u + 1013904223u;
    return float(int32_t(state >> 8) % 2001 - 1000) / 1000.0f;
  };
  const int64_t shapes[][3] = {{1, 7, 3}, {5, 17, 33}, {7, 33, 65}, {13, 48, 100}, {20, 40, 257}};
  for (const auto& s : shapes) {
    const int64_t M = s[0], N = s[1], K = s[2];
    std::vector<float> x(size_t(M * K)), w(size_t(N * K)), bias(static_cast<size_t>(N));
    for (auto& v : x) v = next();
    for (auto& v : w) v = next();
    for (auto& v : bias) v = next();
    const QuantizedMatrix q = QuantizedMatrix::from_rows(w.data(), K, N, K);
    for (bool acc : {false, true}) {
      std::vector<float> want(size_t(M * N), 0.25f), got(want);
      multiply(Level::portable, x.data(), K, q, want.data(), N, M, acc ? nullptr : bias.data(), acc, false);
      multiply(level, x.data(), K, q, got.data(), N, M, acc ? nullptr : bias.data(), acc, false);
      if (std::memcmp(want.data(), got.data(), want.size() * sizeof(float)) != 0) return false;
    }
  }
  return true;
}

// The level for the kernels' current level (kernels::active_isa, which tests may force lower): AVX-512 VNNI where
// the kernels run AVX-512 and the CPU has VNNI, AVX2 where they run AVX2. Each SIMD level is checked against the
// portable loop once, on first use; one that disagrees is passed over for the next lower, with a line on stderr.
Level active_level() {
  static std::once_flag once;
  static bool agrees[3] = {true, true, true};
  const Isa isa = active_isa();
  std::call_once(once, [] {
    for (Level l : {Level::avx2, Level::avx512_vnni}) {
      if (l == Level::avx2 && !(detected_isa() >= Isa::avx2)) continue;
      if (l == Level::avx512_vnni && !cpu_has_avx512_vnni()) continue;
      agrees[int(l)] = level_agrees(l);
      if (!agrees[int(l)])
        std::fprintf(stderr, "bmx: kernels: the %s int16 level disagrees with the portable loop on this CPU; not used\n",
                     level_name(l));
    }
  });
  Level want = Level::portable;
  switch (isa) {
    case Isa::scalar: want = Level::portable; break;
    case Isa::avx2:
    case Isa::avx2_bf16_emulated: want = Level::avx2; break;
    case Isa::avx512:
    case Isa::avx512_bf16: want = cpu_has_avx512_vnni() ? Level::avx512_vnni : Level::avx2; break;
  }
  while (want != Level::portable && !agrees[int(want)]) want = Level(int(want) - 1);
  return want;
}

}  // namespace

QuantizedMatrix QuantizedMatrix::from_rows(const float* w, int64_t ldw, int64_t N, int64_t K) {
  QuantizedMatrix q;
  q.rows = N;
  q.cols = K;
  q.cols_padded = round_up(std::max<int64_t>(K, 1), 2 * kChunk);
  const int64_t panels = (N + kNR - 1) / kNR, pairs = q.cols_padded / 2;
  q.packed.assign(size_t(panels * pairs * kNR), 0);
  q.scale.assign(size_t(N), 0.f);
  thread_pool().run(panels, [&](int64_t panel, int) {  // a model's worth of matrices: worth the threads
    std::vector<int16_t> scratch(static_cast<size_t>(q.cols_padded));
    for (int64_t n = panel * kNR; n < std::min(N, (panel + 1) * kNR); ++n)
      quantize_into_tiles(w + n * ldw, K, q.cols_padded, n, kNR, q.packed.data(), q.scale.data(), scratch.data());
  });
  return q;
}

std::vector<float> QuantizedMatrix::dequantized() const {
  std::vector<float> out(size_t(rows * cols));
  const int64_t pairs = cols_padded / 2;
  for (int64_t n = 0; n < rows; ++n)
    for (int64_t k = 0; k < cols; ++k) {
      const int32_t v = packed[size_t((n / kNR) * pairs * kNR + (k / 2) * kNR + n % kNR)];
      const int16_t q = k % 2 ? int16_t(uint32_t(v) >> 16) : int16_t(v & 0xffff);
      out[size_t(n * cols + k)] = float(q) * scale[size_t(n)];
    }
  return out;
}

void quantized_matmul(const float* x, int64_t ldx, const QuantizedMatrix& w, float* y, int64_t ldy, int64_t M,
                      const float* bias, bool accumulate) {
  if (M <= 0 || w.rows <= 0) return;
  multiply(active_level(), x, ldx, w, y, ldy, M, bias, accumulate, true);
}

const char* quantized_matmul_level() { return level_name(active_level()); }

}  // namespace bmx::kernels

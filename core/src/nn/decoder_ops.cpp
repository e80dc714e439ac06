#include "decoder_ops.h"

#include <cmath>
#include <limits>

#include "bmx/core/nn/kernels.h"

namespace bmx::detail {

namespace {

// ---- portable versions

void rms_norm_scalar(const float* x, const float* w, int64_t n, float eps, float* y) {
  float ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += x[i] * x[i];
  const float r = 1.0f / std::sqrt(ss / float(n) + eps);
  for (int64_t i = 0; i < n; ++i) y[i] = (x[i] * r) * w[i];
}

void silu_mul_scalar(float* g, const float* u, int64_t n) {
  for (int64_t i = 0; i < n; ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

void add_scalar(float* h, const float* d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) h[i] += d[i];
}

void attend_scalar(const float* q, const float* K, const float* V, int64_t nk, int64_t D, float scale,
                   const uint8_t* visible, float* s, float* out) {
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < nk; ++j) {
    if (visible && !visible[j]) continue;
    float d = 0;
    for (int64_t c = 0; c < D; ++c) d += q[c] * K[j * D + c];
    s[j] = d * scale;
    if (s[j] > mx) mx = s[j];
  }
  for (int64_t c = 0; c < D; ++c) out[c] = 0;
  if (mx == -std::numeric_limits<float>::infinity()) return;
  float sum = 0;
  for (int64_t j = 0; j < nk; ++j) {
    if (visible && !visible[j]) continue;
    s[j] = std::exp(s[j] - mx);
    sum += s[j];
  }
  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < nk; ++j) {
    if (visible && !visible[j]) continue;
    const float p = s[j] * inv;
    for (int64_t c = 0; c < D; ++c) out[c] += p * V[j * D + c];
  }
}

void attend_rows_scalar(const float* q, int64_t ldq, int64_t rows, const float* Kt, int64_t ldkt, const float* V,
                        int64_t ldv, int64_t nk, int64_t D, float scale, const uint8_t* visible, float* s, float* out,
                        int64_t ldo) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* qr = q + r * ldq;
    float* o = out + r * ldo;
    float mx = -std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < nk; ++j) {
      float d = 0;
      for (int64_t c = 0; c < D; ++c) d += qr[c] * Kt[c * ldkt + j];
      s[j] = visible && !visible[j] ? -std::numeric_limits<float>::infinity() : d * scale;
      if (s[j] > mx) mx = s[j];
    }
    for (int64_t c = 0; c < D; ++c) o[c] = 0;
    if (mx == -std::numeric_limits<float>::infinity()) continue;
    float sum = 0;
    for (int64_t j = 0; j < nk; ++j) sum += (s[j] = std::exp(s[j] - mx));
    const float inv = 1.0f / sum;
    for (int64_t j = 0; j < nk; ++j)
      for (int64_t c = 0; c < D; ++c) o[c] += s[j] * V[j * ldv + c];
    for (int64_t c = 0; c < D; ++c) o[c] *= inv;
  }
}

}  // namespace

}  // namespace bmx::detail

// ---- AVX2 + FMA versions. Nothing in this region may instantiate a std:: template or define a non-static
// inline function: a copy compiled for AVX2 could be the one the linker keeps for the whole program.
#if defined(__x86_64__)
#include <immintrin.h>
#pragma GCC push_options
#pragma GCC target("avx2,fma")

namespace bmx::detail {
namespace {

inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// exp(x) for float32 lanes (Cephes polynomial, ~1 ulp); inputs below -87.3 give exactly 0.
inline __m256 exp8(__m256 x) {
  const __m256 hi = _mm256_set1_ps(88.3762626647949f), lo = _mm256_set1_ps(-87.3f);
  const __m256 underflow = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  x = _mm256_max_ps(_mm256_min_ps(x, hi), lo);
  __m256 fx = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
  __m256 y = _mm256_set1_ps(1.9875691500E-4f);
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507E-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073E-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894E-2f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459E-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201E-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
  y = _mm256_mul_ps(y, _mm256_castsi256_ps(e));
  return _mm256_andnot_ps(underflow, y);
}

void rms_norm_avx2(const float* x, const float* w, int64_t n, float eps, float* y) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8);
    __m256 v2 = _mm256_loadu_ps(x + i + 16), v3 = _mm256_loadu_ps(x + i + 24);
    a0 = _mm256_fmadd_ps(v0, v0, a0);
    a1 = _mm256_fmadd_ps(v1, v1, a1);
    a2 = _mm256_fmadd_ps(v2, v2, a2);
    a3 = _mm256_fmadd_ps(v3, v3, a3);
  }
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    a0 = _mm256_fmadd_ps(v, v, a0);
  }
  float ss = hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  for (; i < n; ++i) ss += x[i] * x[i];
  const float r = 1.0f / std::sqrt(ss / float(n) + eps);
  const __m256 rv = _mm256_set1_ps(r);
  i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), rv), _mm256_loadu_ps(w + i)));
  for (; i < n; ++i) y[i] = (x[i] * r) * w[i];
}

void silu_mul_avx2(float* g, const float* u, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 z = _mm256_loadu_ps(g + i);
    __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), z));
    _mm256_storeu_ps(g + i, _mm256_mul_ps(_mm256_div_ps(z, _mm256_add_ps(one, e)), _mm256_loadu_ps(u + i)));
  }
  for (; i < n; ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

void add_avx2(float* h, const float* d, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(h + i, _mm256_add_ps(_mm256_loadu_ps(h + i), _mm256_loadu_ps(d + i)));
  for (; i < n; ++i) h[i] += d[i];
}

// out[0:8·A] += sum_j p[j] · V[j, 0:8·A] (rows D apart), A accumulators kept in registers.
template <int A>
inline void pv_block(const float* p, const float* V, int64_t nk, int64_t D, const uint8_t* visible, float* out) {
  __m256 acc[A];
#pragma GCC unroll 8
  for (int a = 0; a < A; ++a) acc[a] = _mm256_setzero_ps();
  for (int64_t j = 0; j < nk; ++j) {
    if (visible && !visible[j]) continue;
    const __m256 pj = _mm256_set1_ps(p[j]);
    const float* v = V + j * D;
#pragma GCC unroll 8
    for (int a = 0; a < A; ++a) acc[a] = _mm256_fmadd_ps(pj, _mm256_loadu_ps(v + 8 * a), acc[a]);
  }
#pragma GCC unroll 8
  for (int a = 0; a < A; ++a) _mm256_storeu_ps(out + 8 * a, acc[a]);
}

void attend_avx2(const float* q, const float* K, const float* V, int64_t nk, int64_t D, float scale,
                 const uint8_t* visible, float* s, float* out) {
  const float neg_inf = -__builtin_inff();
  // Scores, four keys at a time so that each piece of q is loaded once for four products.
  int64_t j = 0;
  if (D % 8 == 0) {
    for (; j + 4 <= nk; j += 4) {
      const float* k0 = K + j * D;
      __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      for (int64_t c = 0; c < D; c += 8) {
        const __m256 qv = _mm256_loadu_ps(q + c);
        a0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + c), a0);
        a1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + D + c), a1);
        a2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + 2 * D + c), a2);
        a3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + 3 * D + c), a3);
      }
      s[j] = hsum8(a0) * scale;
      s[j + 1] = hsum8(a1) * scale;
      s[j + 2] = hsum8(a2) * scale;
      s[j + 3] = hsum8(a3) * scale;
    }
  }
  for (; j < nk; ++j) {
    float d = 0;
    for (int64_t c = 0; c < D; ++c) d += q[c] * K[j * D + c];
    s[j] = d * scale;
  }
  float mx = neg_inf;
  for (j = 0; j < nk; ++j) {
    if (visible && !visible[j]) s[j] = neg_inf;
    if (s[j] > mx) mx = s[j];
  }
  if (mx == neg_inf) {
    for (int64_t c = 0; c < D; ++c) out[c] = 0;
    return;
  }
  // Probabilities (hidden keys: exp(-inf) = 0 exactly).
  const __m256 mv = _mm256_set1_ps(mx);
  __m256 sv = _mm256_setzero_ps();
  for (j = 0; j + 8 <= nk; j += 8) {
    __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(s + j), mv));
    _mm256_storeu_ps(s + j, e);
    sv = _mm256_add_ps(sv, e);
  }
  float sum = hsum8(sv);
  for (; j < nk; ++j) {
    s[j] = s[j] == neg_inf ? 0.0f : std::exp(s[j] - mx);
    sum += s[j];
  }
  const float inv = 1.0f / sum;
  const __m256 iv = _mm256_set1_ps(inv);
  for (j = 0; j + 8 <= nk; j += 8) _mm256_storeu_ps(s + j, _mm256_mul_ps(_mm256_loadu_ps(s + j), iv));
  for (; j < nk; ++j) s[j] *= inv;
  // Weighted values, 64 (then 8) columns at a time held in registers across all keys.
  int64_t c = 0;
  for (; c + 64 <= D; c += 64) pv_block<8>(s, V + c, nk, D, visible, out + c);
  for (; c + 8 <= D; c += 8) pv_block<1>(s, V + c, nk, D, visible, out + c);
  for (; c < D; ++c) {
    float a = 0;
    for (j = 0; j < nk; ++j)
      if (!visible || visible[j]) a += s[j] * V[j * D + c];
    out[c] = a;
  }
}


// acc[r] = sum_i a[r·lda + i] · b[i·ldb + 0:16] for r < R, i < n: R rows times a 16-column strip (8 columns when
// !two), 2R accumulators in registers. Scores (q against transposed keys) and weighted values both have this form.
template <int R>
inline void rows_times_16(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t n, bool two,
                          __m256 (&acc)[R][2]) {
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (int64_t i = 0; i < n; ++i) {
    const __m256 b0 = _mm256_loadu_ps(b + i * ldb), b1 = two ? _mm256_loadu_ps(b + i * ldb + 8) : _mm256_setzero_ps();
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m256 x = _mm256_set1_ps(a[r * lda + i]);
      acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
    }
  }
}

// Scores of R query rows against 16 keys per step (keys along the lanes, from the transposed Kt), softmax per
// row, then the weighted values 16 columns at a time; R·2 accumulators in registers in both loops.
template <int R>
void attend_rows_tile(const float* q, int64_t ldq, const float* Kt, int64_t ldkt, const float* V, int64_t ldv,
                      int64_t nk, int64_t D, float scale, const uint8_t* visible, float* s, float* out, int64_t ldo) {
  const float neg_inf = -__builtin_inff();
  const __m256 sv = _mm256_set1_ps(scale);
  for (int64_t t = 0; t < nk; t += 16) {
    __m256 acc[R][2];
    rows_times_16<R>(q, ldq, Kt + t, ldkt, D, true, acc);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      _mm256_storeu_ps(s + r * ldkt + t, _mm256_mul_ps(acc[r][0], sv));
      _mm256_storeu_ps(s + r * ldkt + t + 8, _mm256_mul_ps(acc[r][1], sv));
    }
  }
  float inv[R];
  bool any[R];
  for (int r = 0; r < R; ++r) {
    float* sr = s + r * ldkt;
    float mx = neg_inf;
    for (int64_t j = 0; j < nk; ++j) {
      if (visible && !visible[j]) sr[j] = neg_inf;
      if (sr[j] > mx) mx = sr[j];
    }
    any[r] = mx != neg_inf;
    const __m256 mv = _mm256_set1_ps(any[r] ? mx : 0.f);
    __m256 sum = _mm256_setzero_ps();
    int64_t j = 0;
    for (; j + 8 <= nk; j += 8) {
      const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(sr + j), mv));
      _mm256_storeu_ps(sr + j, e);
      sum = _mm256_add_ps(sum, e);
    }
    float total = hsum8(sum);
    for (; j < nk; ++j) total += (sr[j] = sr[j] == neg_inf ? 0.0f : std::exp(sr[j] - mx));
    inv[r] = any[r] ? 1.0f / total : 0.0f;  // a row with no visible key gives zeros
  }
  for (int64_t c = 0; c < D; c += 16) {
    const bool two = c + 16 <= D;  // D is a multiple of 8
    __m256 acc[R][2];
    rows_times_16<R>(s, ldkt, V + c, ldv, nk, two, acc);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m256 iv = _mm256_set1_ps(inv[r]);
      _mm256_storeu_ps(out + r * ldo + c, _mm256_mul_ps(acc[r][0], iv));
      if (two) _mm256_storeu_ps(out + r * ldo + c + 8, _mm256_mul_ps(acc[r][1], iv));
    }
  }
}

void attend_rows_avx2(const float* q, int64_t ldq, int64_t rows, const float* Kt, int64_t ldkt, const float* V,
                      int64_t ldv, int64_t nk, int64_t D, float scale, const uint8_t* visible, float* s, float* out,
                      int64_t ldo) {
  if (D % 8 != 0) {
    attend_rows_scalar(q, ldq, rows, Kt, ldkt, V, ldv, nk, D, scale, visible, s, out, ldo);
    return;
  }
  switch (rows) {
    case 4: attend_rows_tile<4>(q, ldq, Kt, ldkt, V, ldv, nk, D, scale, visible, s, out, ldo); break;
    case 3: attend_rows_tile<3>(q, ldq, Kt, ldkt, V, ldv, nk, D, scale, visible, s, out, ldo); break;
    case 2: attend_rows_tile<2>(q, ldq, Kt, ldkt, V, ldv, nk, D, scale, visible, s, out, ldo); break;
    default: attend_rows_tile<1>(q, ldq, Kt, ldkt, V, ldv, nk, D, scale, visible, s, out, ldo); break;
  }
}

}  // namespace
}  // namespace bmx::detail

#pragma GCC pop_options
#endif

namespace bmx::detail {

const DecoderOps& decoder_ops() {
  static const DecoderOps scalar{rms_norm_scalar, silu_mul_scalar, add_scalar, attend_scalar, attend_rows_scalar};
#if defined(__x86_64__)
  static const DecoderOps avx2{rms_norm_avx2, silu_mul_avx2, add_avx2, attend_avx2, attend_rows_avx2};
  // Follows the kernels' level, so that forcing the scalar level in tests covers these loops too.
  if (kernels::active_isa() != kernels::Isa::scalar) return avx2;
#endif
  return scalar;
}

}  // namespace bmx::detail

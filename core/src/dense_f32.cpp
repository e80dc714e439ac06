#include "bmx/core/dense_f32.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>

namespace bmx {

DenseF32 DenseF32::from_linear(const float* weight, const float* bias, int out, int in) {
  DenseF32 d;
  d.in = in;
  d.out = out;
  d.wt.resize(std::size_t(in) * out);
  d.bias.assign(out, 0.f);
  for (int o = 0; o < out; ++o) {
    for (int i = 0; i < in; ++i) d.wt[std::size_t(i) * out + o] = weight[std::size_t(o) * in + i];
    if (bias) d.bias[o] = bias[o];
  }
  return d;
}

void DenseF32::fold_batch_norm(const float* gamma, const float* beta, const float* mean, const float* var,
                               double eps) {
  for (int o = 0; o < out; ++o) {
    double s = double(gamma[o]) / std::sqrt(double(var[o]) + eps);
    for (int i = 0; i < in; ++i) {
      float& w = wt[std::size_t(i) * out + o];
      w = float(double(w) * s);
    }
    bias[o] = float((double(bias[o]) - double(mean[o])) * s + double(beta[o]));
  }
}

namespace {

// Eight floats, unaligned, may alias float: GCC lowers it to one AVX register in the x86-64-v3 clone and to
// two SSE registers otherwise. Sums keep their order (one lane per output), so results do not depend on
// the instruction set except through FMA contraction.
typedef float v8 __attribute__((vector_size(32), aligned(4), may_alias));

#define load8(p) (*reinterpret_cast<const v8*>(p))
#define store8(p, v) (*reinterpret_cast<v8*>(p) = (v))
// Macros, not functions: a helper is vector-lowered for the default target before it is inlined into the
// x86-64-v3 clone, and the broadcast becomes eight inserts.
#define splat8(x) (v8{(x), (x), (x), (x), (x), (x), (x), (x)})

// Outputs 16 at a time for four rows: eight accumulators stay in registers while the weights stream.
__attribute__((target_clones("arch=x86-64-v3", "default")))
void dense_kernel(const float* __restrict x, std::size_t rows, int in, int out, const float* __restrict wt,
                  const float* __restrict bias, float* __restrict y, bool relu) {
  if (out % 16 != 0) {
    for (std::size_t r = 0; r < rows; ++r)
      for (int o = 0; o < out; ++o) {
        float acc = bias[o];
        for (int i = 0; i < in; ++i) acc += x[r * in + i] * wt[std::size_t(i) * out + o];
        y[r * out + o] = relu && acc < 0.f ? 0.f : acc;
      }
    return;
  }
  const v8 zero = splat8(0.f);
  std::size_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    const float* x0 = x + r * in;
    for (int o = 0; o < out; o += 16) {
      v8 b0 = load8(bias + o), b1 = load8(bias + o + 8);
      v8 a00 = b0, a01 = b1, a10 = b0, a11 = b1, a20 = b0, a21 = b1, a30 = b0, a31 = b1;
      for (int i = 0; i < in; ++i) {
        const float* w = wt + std::size_t(i) * out + o;
        v8 w0 = load8(w), w1 = load8(w + 8);
        v8 s0 = splat8(x0[i]), s1 = splat8(x0[in + i]), s2 = splat8(x0[2 * in + i]), s3 = splat8(x0[3 * in + i]);
        a00 += s0 * w0; a01 += s0 * w1;
        a10 += s1 * w0; a11 += s1 * w1;
        a20 += s2 * w0; a21 += s2 * w1;
        a30 += s3 * w0; a31 += s3 * w1;
      }
      if (relu) {
        a00 = a00 > zero ? a00 : zero; a01 = a01 > zero ? a01 : zero;
        a10 = a10 > zero ? a10 : zero; a11 = a11 > zero ? a11 : zero;
        a20 = a20 > zero ? a20 : zero; a21 = a21 > zero ? a21 : zero;
        a30 = a30 > zero ? a30 : zero; a31 = a31 > zero ? a31 : zero;
      }
      float* y0 = y + r * out + o;
      store8(y0, a00); store8(y0 + 8, a01);
      store8(y0 + out, a10); store8(y0 + out + 8, a11);
      store8(y0 + 2 * out, a20); store8(y0 + 2 * out + 8, a21);
      store8(y0 + 3 * out, a30); store8(y0 + 3 * out + 8, a31);
    }
  }
  for (; r < rows; ++r) {
    const float* x0 = x + r * in;
    for (int o = 0; o < out; o += 16) {
      v8 a0 = load8(bias + o), a1 = load8(bias + o + 8);
      for (int i = 0; i < in; ++i) {
        const float* w = wt + std::size_t(i) * out + o;
        v8 s = splat8(x0[i]);
        a0 += s * load8(w);
        a1 += s * load8(w + 8);
      }
      if (relu) {
        a0 = a0 > zero ? a0 : zero;
        a1 = a1 > zero ? a1 : zero;
      }
      store8(y + r * out + o, a0);
      store8(y + r * out + o + 8, a1);
    }
  }
}

// dots[k] = z . e_k for all k: eight blocks of eight codewords at a time (independent accumulators hide
// the FMA latency), each sum in dimension order.
__attribute__((target_clones("arch=x86-64-v3", "default")))
void dot_kernel(const float* __restrict z, int dim, int blocks, const float* __restrict blocked,
                float* __restrict dots) {
  const std::size_t stride = std::size_t(dim) * 8;
  int b = 0;
  for (; b + 8 <= blocks; b += 8) {
    const float* e = blocked + std::size_t(b) * stride;
    v8 a0 = splat8(0.f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (int d = 0; d < dim; ++d) {
      v8 s = splat8(z[d]);
      const float* ed = e + d * 8;
      a0 += s * load8(ed);
      a1 += s * load8(ed + stride);
      a2 += s * load8(ed + 2 * stride);
      a3 += s * load8(ed + 3 * stride);
      a4 += s * load8(ed + 4 * stride);
      a5 += s * load8(ed + 5 * stride);
      a6 += s * load8(ed + 6 * stride);
      a7 += s * load8(ed + 7 * stride);
    }
    float* out = dots + std::size_t(b) * 8;
    store8(out, a0); store8(out + 8, a1); store8(out + 16, a2); store8(out + 24, a3);
    store8(out + 32, a4); store8(out + 40, a5); store8(out + 48, a6); store8(out + 56, a7);
  }
  for (; b < blocks; ++b) {
    const float* e = blocked + std::size_t(b) * stride;
    v8 a = splat8(0.f);
    for (int d = 0; d < dim; ++d) a += splat8(z[d]) * load8(e + d * 8);
    store8(dots + std::size_t(b) * 8, a);
  }
}

// dots4[r * stride_out + k] = z_r . e_k for four rows z_r (row stride `dim`): each codeword load serves four
// rows, so the codebook streams from cache a quarter as often. Same sums, same order as dot_kernel.
__attribute__((target_clones("arch=x86-64-v3", "default")))
void dot_kernel4(const float* __restrict z, int dim, int blocks, const float* __restrict blocked,
                 float* __restrict dots, std::size_t stride_out) {
  const std::size_t stride = std::size_t(dim) * 8;
  const float *z0 = z, *z1 = z + dim, *z2 = z + 2 * dim, *z3 = z + 3 * dim;
  int b = 0;
  for (; b + 2 <= blocks; b += 2) {
    const float* e = blocked + std::size_t(b) * stride;
    v8 a00 = splat8(0.f), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
    for (int d = 0; d < dim; ++d) {
      v8 e0 = load8(e + d * 8), e1 = load8(e + stride + d * 8);
      v8 s0 = splat8(z0[d]), s1 = splat8(z1[d]), s2 = splat8(z2[d]), s3 = splat8(z3[d]);
      a00 += s0 * e0; a01 += s0 * e1;
      a10 += s1 * e0; a11 += s1 * e1;
      a20 += s2 * e0; a21 += s2 * e1;
      a30 += s3 * e0; a31 += s3 * e1;
    }
    float* out = dots + std::size_t(b) * 8;
    store8(out, a00); store8(out + 8, a01);
    store8(out + stride_out, a10); store8(out + stride_out + 8, a11);
    store8(out + 2 * stride_out, a20); store8(out + 2 * stride_out + 8, a21);
    store8(out + 3 * stride_out, a30); store8(out + 3 * stride_out + 8, a31);
  }
  for (; b < blocks; ++b) {
    const float* e = blocked + std::size_t(b) * stride;
    v8 a0 = splat8(0.f), a1 = a0, a2 = a0, a3 = a0;
    for (int d = 0; d < dim; ++d) {
      v8 ed = load8(e + d * 8);
      a0 += splat8(z0[d]) * ed; a1 += splat8(z1[d]) * ed; a2 += splat8(z2[d]) * ed; a3 += splat8(z3[d]) * ed;
    }
    float* out = dots + std::size_t(b) * 8;
    store8(out, a0); store8(out + stride_out, a1); store8(out + 2 * stride_out, a2); store8(out + 3 * stride_out, a3);
  }
}

}  // namespace

void DenseF32::forward(const float* x, std::size_t rows, float* y, bool relu) const {
  dense_kernel(x, rows, in, out, wt.data(), bias.data(), y, relu);
}

NearestF32::NearestF32(const float* codebook, int size_, int dim_) : dim(dim_), size(size_) {
  int blocks = (size + 7) / 8;
  blocked.assign(std::size_t(blocks) * dim * 8, 0.f);
  norms.assign(size, 0.f);
  for (int k = 0; k < size; ++k) {
    float n = 0.f;
    for (int d = 0; d < dim; ++d) {
      float e = codebook[std::size_t(k) * dim + d];
      blocked[(std::size_t(k / 8) * dim + d) * 8 + k % 8] = e;
      n += e * e;
    }
    norms[k] = n;
  }
}

namespace {

// The scan the vector path below must agree with: first index wins ties; a NaN row keeps index 0.
void scan_best_two(const float* dist, int size, int& i1, float& d1, int& i2, float& d2) {
  const float inf = std::numeric_limits<float>::infinity();
  i1 = 0;
  i2 = -1;
  d1 = inf;
  d2 = inf;
  for (int k = 0; k < size; ++k) {
    float dk = dist[k];
    if (k == 0) {
      d1 = dk;
    } else if (dk < d1) {
      d2 = d1;
      i2 = i1;
      d1 = dk;
      i1 = k;
    } else if (dk < d2 || i2 < 0) {
      d2 = dk;
      i2 = k;
    }
  }
}

// Four-wide (SSE, the baseline target): this part is not worth a clone.
typedef float v4 __attribute__((vector_size(16)));

float min_of(const float* x, std::size_t n) {  // n a multiple of 8, x 16-byte aligned
  v4 m0 = *reinterpret_cast<const v4*>(x), m1 = *reinterpret_cast<const v4*>(x + 4);
  for (std::size_t i = 8; i < n; i += 8) {
    v4 a = *reinterpret_cast<const v4*>(x + i), b = *reinterpret_cast<const v4*>(x + i + 4);
    m0 = a < m0 ? a : m0;
    m1 = b < m1 ? b : m1;
  }
  m0 = m1 < m0 ? m1 : m0;
  float r = m0[0];
  for (int j = 1; j < 4; ++j) r = m0[j] < r ? m0[j] : r;
  return r;
}

}  // namespace

void NearestF32::search(const float* z, std::size_t rows, int* best, float* best_distance, int* second,
                        float* second_distance) const {
  const int blocks = (size + 7) / 8;
  const std::size_t width = std::size_t(blocks) * 8;
  std::vector<float> dots(4 * width);
  std::vector<float> dist_buffer(width + 4);
  // 16-byte aligned view for the vector loops.
  float* dist = dist_buffer.data() + ((16 - reinterpret_cast<std::uintptr_t>(dist_buffer.data()) % 16) % 16) / sizeof(float);
  const float inf = std::numeric_limits<float>::infinity();
  for (std::size_t k = std::size_t(size); k < width; ++k) dist[k] = inf;
  for (std::size_t r0 = 0; r0 < rows; r0 += 4) {
    const std::size_t tile = rows - r0 < 4 ? rows - r0 : 4;
    if (tile == 4)
      dot_kernel4(z + r0 * dim, dim, blocks, blocked.data(), dots.data(), width);
    else
      for (std::size_t t = 0; t < tile; ++t) dot_kernel(z + (r0 + t) * dim, dim, blocks, blocked.data(), dots.data() + t * width);
    for (std::size_t t = 0; t < tile; ++t) {
      const std::size_t r = r0 + t;
      const float* zr = z + r * dim;
      const float* dr = dots.data() + t * width;
      float zz = 0.f;
      for (int d = 0; d < dim; ++d) zz += zr[d] * zr[d];
      for (int k = 0; k < size; ++k) dist[k] = zz + norms[k] - 2.f * dr[k];
      int i1, i2;
      float d1, d2;
      // Finite distances: the two smallest by vector minimum, then the first index holding each, which is
      // what the scan gives. Anything else (NaN, inf, one codeword) takes the scan itself.
      bool done = false;
      if (size >= 2 && std::isfinite(zz)) {
        d1 = min_of(dist, width);
        if (std::isfinite(d1)) {
          i1 = 0;
          while (dist[i1] != d1) ++i1;
          dist[i1] = inf;
          d2 = min_of(dist, width);
          dist[i1] = d1;
          if (std::isfinite(d2)) {
            i2 = 0;
            while (i2 == i1 || dist[i2] != d2) ++i2;
            done = true;
          }
        }
      }
      if (!done) scan_best_two(dist, size, i1, d1, i2, d2);
      best[r] = i1;
      if (best_distance) best_distance[r] = d1;
      if (second) second[r] = i2;
      if (second_distance) second_distance[r] = d2;
    }
  }
}

}  // namespace bmx

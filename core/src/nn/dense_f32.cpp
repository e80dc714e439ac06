#include "bmx/core/nn/dense_f32.h"

#include <algorithm>
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

// Macros, not functions: a helper is vector-lowered for the default target before it is inlined into the
// x86-64-v3 clone, and a broadcast becomes eight inserts.
#define load8(p) (*reinterpret_cast<const v8*>(p))
#define store8(p, v) (*reinterpret_cast<v8*>(p) = (v))
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

// Per block, the least of |y|^2 + |c_k|^2 - 2 y.c_k over its eight projected codewords (blocked
// [blocks][pdim][8]): a lower bound of the block's squared distances, up to rounding. Also returns the two
// blocks with the lowest bounds (b2 = -1 if there is one block).
typedef int vi8 __attribute__((vector_size(32)));
__attribute__((target_clones("arch=x86-64-v3", "default")))
void bound_kernel(const float* __restrict y, float yy, int pdim, int blocks, const float* __restrict blocked,
                  const float* __restrict norms, float* __restrict block_min, int* b1_out, int* b2_out) {
  const std::size_t step = std::size_t(pdim) * 8;
  auto hmin = [](v8 m) {
    v8 t = __builtin_shuffle(m, vi8{4, 5, 6, 7, 0, 1, 2, 3});
    m = t < m ? t : m;
    t = __builtin_shuffle(m, vi8{2, 3, 0, 1, 6, 7, 4, 5});
    m = t < m ? t : m;
    t = __builtin_shuffle(m, vi8{1, 0, 3, 2, 5, 4, 7, 6});
    m = t < m ? t : m;
    return m[0];
  };
  int b = 0;
  for (; b + 4 <= blocks; b += 4) {  // four independent sums in flight
    const float* c = blocked + std::size_t(b) * step;
    v8 a0 = splat8(0.f), a1 = a0, a2 = a0, a3 = a0;
    for (int d = 0; d < pdim; ++d) {
      v8 s = splat8(y[d]);
      a0 += s * load8(c + d * 8);
      a1 += s * load8(c + step + d * 8);
      a2 += s * load8(c + 2 * step + d * 8);
      a3 += s * load8(c + 3 * step + d * 8);
    }
    v8 q = splat8(yy);
    block_min[b] = hmin(q + load8(norms + b * 8) - (a0 + a0));
    block_min[b + 1] = hmin(q + load8(norms + b * 8 + 8) - (a1 + a1));
    block_min[b + 2] = hmin(q + load8(norms + b * 8 + 16) - (a2 + a2));
    block_min[b + 3] = hmin(q + load8(norms + b * 8 + 24) - (a3 + a3));
  }
  for (; b < blocks; ++b) {
    const float* c = blocked + std::size_t(b) * step;
    v8 a = splat8(0.f);
    for (int d = 0; d < pdim; ++d) a += splat8(y[d]) * load8(c + d * 8);
    block_min[b] = hmin(splat8(yy) + load8(norms + b * 8) - (a + a));
  }
  int b1 = 0, b2 = -1;
  float m1 = block_min[0], m2 = 0.f;
  for (b = 1; b < blocks; ++b) {
    float v = block_min[b];
    if (v < m1) {
      m2 = m1;
      b2 = b1;
      m1 = v;
      b1 = b;
    } else if (b2 < 0 || v < m2) {
      m2 = v;
      b2 = b;
    }
  }
  *b1_out = b1;
  *b2_out = b2;
}

// y = the projection of z on eight directions (basis_t [dim][8]), with four partial sums: only bounds use it.
__attribute__((target_clones("arch=x86-64-v3", "default")))
void project8(const float* __restrict z, int dim, const float* __restrict basis_t, float* __restrict y) {
  v8 a0 = splat8(0.f), a1 = a0, a2 = a0, a3 = a0;
  int d = 0;
  for (; d + 4 <= dim; d += 4) {
    a0 += splat8(z[d]) * load8(basis_t + d * 8);
    a1 += splat8(z[d + 1]) * load8(basis_t + (d + 1) * 8);
    a2 += splat8(z[d + 2]) * load8(basis_t + (d + 2) * 8);
    a3 += splat8(z[d + 3]) * load8(basis_t + (d + 3) * 8);
  }
  for (; d < dim; ++d) a0 += splat8(z[d]) * load8(basis_t + d * 8);
  store8(y, (a0 + a1) + (a2 + a3));
}

// z . e_k for the eight codewords of each listed block: per codeword a sum in dimension order (the same
// operations whatever the list), up to four blocks interleaved to hide the latency of the sums.
__attribute__((target_clones("arch=x86-64-v3", "default")))
void dot_blocks(const float* __restrict z, int dim, const float* __restrict blocked, const int* ids, int n,
                float* __restrict dots) {
  const std::size_t stride = std::size_t(dim) * 8;
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const float *e0 = blocked + ids[i] * stride, *e1 = blocked + ids[i + 1] * stride,
                *e2 = blocked + ids[i + 2] * stride, *e3 = blocked + ids[i + 3] * stride;
    v8 a0 = splat8(0.f), a1 = a0, a2 = a0, a3 = a0;
    for (int d = 0; d < dim; ++d) {
      v8 s = splat8(z[d]);
      a0 += s * load8(e0 + d * 8);
      a1 += s * load8(e1 + d * 8);
      a2 += s * load8(e2 + d * 8);
      a3 += s * load8(e3 + d * 8);
    }
    store8(dots + ids[i] * 8, a0);
    store8(dots + ids[i + 1] * 8, a1);
    store8(dots + ids[i + 2] * 8, a2);
    store8(dots + ids[i + 3] * 8, a3);
  }
  for (; i + 2 <= n; i += 2) {
    const float *e0 = blocked + ids[i] * stride, *e1 = blocked + ids[i + 1] * stride;
    v8 a0 = splat8(0.f), a1 = a0;
    for (int d = 0; d < dim; ++d) {
      v8 s = splat8(z[d]);
      a0 += s * load8(e0 + d * 8);
      a1 += s * load8(e1 + d * 8);
    }
    store8(dots + ids[i] * 8, a0);
    store8(dots + ids[i + 1] * 8, a1);
  }
  for (; i < n; ++i) {
    const float* e = blocked + ids[i] * stride;
    v8 a = splat8(0.f);
    for (int d = 0; d < dim; ++d) a += splat8(z[d]) * load8(e + d * 8);
    store8(dots + ids[i] * 8, a);
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
    max_norm = std::max(max_norm, n);
  }

  // Projection onto the codebook's main directions (subspace iteration on its covariance, in double).
  // Any orthonormal basis gives valid bounds; a good one makes them tight.
  proj_dim = dim > 16 ? 8 : 0;
  if (proj_dim == 0 || size < 16) {
    proj_dim = 0;
    return;
  }
  std::vector<double> mean(dim, 0.0), cov(std::size_t(dim) * dim, 0.0);
  for (int k = 0; k < size; ++k)
    for (int d = 0; d < dim; ++d) mean[d] += codebook[std::size_t(k) * dim + d] / size;
  for (int k = 0; k < size; ++k)
    for (int i = 0; i < dim; ++i) {
      double ci = codebook[std::size_t(k) * dim + i] - mean[i];
      for (int j = 0; j < dim; ++j) cov[std::size_t(i) * dim + j] += ci * (codebook[std::size_t(k) * dim + j] - mean[j]);
    }
  std::vector<double> q(std::size_t(proj_dim) * dim), t(q.size());
  std::uint32_t seed = 12345;
  for (double& v : q) {
    seed = seed * 1664525u + 1013904223u;
    v = double(seed >> 8) / double(1u << 24) - 0.5;
  }
  auto orthonormalise = [&](std::vector<double>& m) {
    for (int r = 0; r < proj_dim; ++r) {
      double* v = &m[std::size_t(r) * dim];
      for (int p = 0; p < r; ++p) {
        const double* u = &m[std::size_t(p) * dim];
        double dot = 0.0;
        for (int d = 0; d < dim; ++d) dot += v[d] * u[d];
        for (int d = 0; d < dim; ++d) v[d] -= dot * u[d];
      }
      double len = 0.0;
      for (int d = 0; d < dim; ++d) len += v[d] * v[d];
      len = std::sqrt(len);
      for (int d = 0; d < dim; ++d) v[d] = len > 0 ? v[d] / len : (d == r ? 1.0 : 0.0);
    }
  };
  orthonormalise(q);
  for (int it = 0; it < 60; ++it) {
    for (int r = 0; r < proj_dim; ++r)
      for (int i = 0; i < dim; ++i) {
        double acc = 0.0;
        for (int j = 0; j < dim; ++j) acc += cov[std::size_t(i) * dim + j] * q[std::size_t(r) * dim + j];
        t[std::size_t(r) * dim + i] = acc;
      }
    q.swap(t);
    orthonormalise(q);
    orthonormalise(q);  // twice: orthonormal to rounding even when rows are nearly dependent
  }
  basis.assign(std::size_t(dim) * proj_dim, 0.f);
  for (int r = 0; r < proj_dim; ++r)
    for (int d = 0; d < dim; ++d) basis[std::size_t(d) * proj_dim + r] = float(q[std::size_t(r) * dim + d]);
  proj_blocked.assign(std::size_t(blocks) * proj_dim * 8, 0.f);
  proj_norms.assign(std::size_t(blocks) * 8, std::numeric_limits<float>::infinity());
  for (int k = 0; k < size; ++k) {
    float n = 0.f;
    for (int r = 0; r < proj_dim; ++r) {
      double acc = 0.0;
      for (int d = 0; d < dim; ++d) acc += q[std::size_t(r) * dim + d] * codebook[std::size_t(k) * dim + d];
      float c = float(acc);
      proj_blocked[(std::size_t(k / 8) * proj_dim + r) * 8 + k % 8] = c;
      n += c * c;
    }
    proj_norms[k] = n;
  }
}

namespace {

// The scan every path agrees with, fed codewords in index order: first index wins ties; a NaN row keeps
// the first index offered.
struct BestTwo {
  int i1 = 0, i2 = -1;
  float d1 = std::numeric_limits<float>::infinity(), d2 = std::numeric_limits<float>::infinity();
  bool started = false;
  void offer(int k, float dk) {
    if (!started) {
      d1 = dk;
      i1 = k;
      started = true;
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
};

// A plain function: summed in a register (inside search the lambda's capture would keep it in memory).
__attribute__((noinline)) float squared_norm(const float* z, int dim) {
  float zz = 0.f;
  for (int d = 0; d < dim; ++d) zz += z[d] * z[d];
  return zz;
}

}  // namespace

void NearestF32::search(const float* z, std::size_t rows, int* best, float* best_distance, int* second,
                        float* second_distance) const {
  const int blocks = (size + 7) / 8;
  const std::size_t width = std::size_t(blocks) * 8;
  const float inf = std::numeric_limits<float>::infinity();
  // Scratch reused across calls (per thread): kilobyte-sized allocations per molecule cost more than the
  // search itself once malloc starts consolidating.
  struct Scratch {
    std::vector<float> dots, dist, block_min, y;
    std::vector<int> computed, pending;
  };
  thread_local Scratch scratch;
  // Local names: each use of a thread_local in PIC code is a TLS look-up.
  std::vector<float>&dots = scratch.dots, &dist = scratch.dist, &block_min = scratch.block_min, &y = scratch.y;
  std::vector<int>&computed = scratch.computed, &pending = scratch.pending;
  dots.resize(width);
  dist.assign(width, inf);
  block_min.resize(static_cast<std::size_t>(blocks));
  y.resize(8);
  computed.clear();
  pending.clear();
  for (std::size_t r = 0; r < rows; ++r) {
    const float* zr = z + r * dim;
    const float zz = squared_norm(zr, dim);
    // Exact distances of the listed blocks, by the expression every path uses.
    auto exact = [&, zz](const int* ids, int n) {
      dot_blocks(zr, dim, blocked.data(), ids, n, dots.data());
      for (int i = 0; i < n; ++i) {
        const int b = ids[i];
        for (int k = b * 8; k < std::min(size, b * 8 + 8); ++k) dist[k] = zz + norms[k] - 2.f * dots[k];
      }
      computed.insert(computed.end(), ids, ids + n);
    };
    for (int b : computed)
      for (int k = b * 8; k < b * 8 + 8; ++k) dist[k] = inf;
    computed.clear();
    BestTwo pick;
    bool found = false;
    if (proj_dim > 0 && std::isfinite(zz)) {
      // Pruned search. With P the orthogonal projection on the basis, |P(z - e_k)|^2 <= |z - e_k|^2, and
      // the least of these bounds over a block bounds the block. Distances are computed exactly for the two
      // blocks with the lowest bounds, then for every block whose bound is within `slack` of the
      // second-best distance so far. A codeword left out is farther than that second best even counting
      // float rounding (slack: 1e-3 of the magnitudes, over a hundred times the worst rounding of 64-term
      // float sums), so the best two are among those computed, with the values and ties of a full scan.
      project8(zr, dim, basis.data(), y.data());
      float yy = 0.f;
      for (int p = 0; p < 8; ++p) yy += y[p] * y[p];
      int first_two[2];
      bound_kernel(y.data(), yy, proj_dim, blocks, proj_blocked.data(), proj_norms.data(), block_min.data(),
                   &first_two[0], &first_two[1]);
      const int b1 = first_two[0], b2 = first_two[1];
      exact(first_two, b2 >= 0 ? 2 : 1);
      float first = inf, threshold = inf;
      for (int b : computed)
        for (int k = b * 8; k < std::min(size, b * 8 + 8); ++k) {
          if (dist[k] < first) {
            threshold = first;
            first = dist[k];
          } else if (dist[k] < threshold) {
            threshold = dist[k];
          }
        }
      const float limit = threshold + 1e-3f * (zz + max_norm + 1.f);
      if (std::isfinite(limit)) {
        pending.clear();
        for (int b = 0; b < blocks; ++b)
          if (b != b1 && b != b2 && !(block_min[b] > limit)) pending.push_back(b);
        exact(pending.data(), int(pending.size()));
        // The scan over the computed codewords in index order: the others are farther than two of them.
        std::sort(computed.begin(), computed.end());
        bool finite = true;
        for (int b : computed)
          for (int k = b * 8; k < std::min(size, b * 8 + 8); ++k) {
            finite = finite && std::isfinite(dist[k]);
            pick.offer(k, dist[k]);
          }
        found = finite && pick.i2 >= 0;
      }
    }
    if (!found) {
      computed.clear();
      pending.resize(static_cast<std::size_t>(blocks));
      for (int b = 0; b < blocks; ++b) pending[b] = b;
      exact(pending.data(), blocks);
      pick = BestTwo();
      for (int k = 0; k < size; ++k) pick.offer(k, dist[k]);
    }
    best[r] = pick.i1;
    if (best_distance) best_distance[r] = pick.d1;
    if (second) second[r] = pick.i2;
    if (second_distance) second_distance[r] = pick.d2;
  }
}

void NearestF32::search_exhaustive(const float* z, std::size_t rows, int* best, float* best_distance, int* second,
                                   float* second_distance) const {
  NearestF32 plain = *this;
  plain.proj_dim = 0;
  plain.search(z, rows, best, best_distance, second, second_distance);
}

}  // namespace bmx

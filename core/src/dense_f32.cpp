#include "bmx/core/dense_f32.h"

#include <cmath>
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

// Four rows at a time share each weight load.
__attribute__((target_clones("arch=x86-64-v3", "default")))
void dense_kernel(const float* x, std::size_t rows, int in, int out, const float* wt, const float* bias,
                  float* y, bool relu) {
  std::size_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    const float* x0 = x + r * in;
    float* y0 = y + r * out;
    float* y1 = y0 + out;
    float* y2 = y1 + out;
    float* y3 = y2 + out;
    for (int o = 0; o < out; ++o) y0[o] = y1[o] = y2[o] = y3[o] = bias[o];
    for (int i = 0; i < in; ++i) {
      const float* w = wt + std::size_t(i) * out;
      float a0 = x0[i], a1 = x0[in + i], a2 = x0[2 * in + i], a3 = x0[3 * in + i];
      for (int o = 0; o < out; ++o) {
        y0[o] += a0 * w[o];
        y1[o] += a1 * w[o];
        y2[o] += a2 * w[o];
        y3[o] += a3 * w[o];
      }
    }
  }
  for (; r < rows; ++r) {
    const float* x0 = x + r * in;
    float* y0 = y + r * out;
    for (int o = 0; o < out; ++o) y0[o] = bias[o];
    for (int i = 0; i < in; ++i) {
      const float* w = wt + std::size_t(i) * out;
      float a0 = x0[i];
      for (int o = 0; o < out; ++o) y0[o] += a0 * w[o];
    }
  }
  if (relu)
    for (std::size_t k = 0; k < rows * std::size_t(out); ++k) y[k] = y[k] > 0.f ? y[k] : 0.f;
}

// dots[k] = z . e_k for all k, eight codewords per block.
__attribute__((target_clones("arch=x86-64-v3", "default")))
void dot_kernel(const float* z, int dim, int blocks, const float* blocked, float* dots) {
  for (int b = 0; b < blocks; ++b) {
    const float* e = blocked + std::size_t(b) * dim * 8;
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int d = 0; d < dim; ++d) {
      float zd = z[d];
      for (int j = 0; j < 8; ++j) acc[j] += zd * e[d * 8 + j];
    }
    for (int j = 0; j < 8; ++j) dots[b * 8 + j] = acc[j];
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

void NearestF32::search(const float* z, std::size_t rows, int* best, float* best_distance, int* second,
                        float* second_distance) const {
  int blocks = (size + 7) / 8;
  std::vector<float> dots(std::size_t(blocks) * 8);
  for (std::size_t r = 0; r < rows; ++r) {
    const float* zr = z + r * dim;
    float zz = 0.f;
    for (int d = 0; d < dim; ++d) zz += zr[d] * zr[d];
    dot_kernel(zr, dim, blocks, blocked.data(), dots.data());
    const float inf = std::numeric_limits<float>::infinity();
    int i1 = 0, i2 = -1;
    float d1 = inf, d2 = inf;
    bool first = true;
    for (int k = 0; k < size; ++k) {
      float dk = zz + norms[k] - 2.f * dots[k];
      if (first) {  // NaN rows keep index 0
        d1 = dk;
        i1 = 0;
        first = false;
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
    best[r] = i1;
    if (best_distance) best_distance[r] = d1;
    if (second) second[r] = i2;
    if (second_distance) second_distance[r] = d2;
  }
}

}  // namespace bmx

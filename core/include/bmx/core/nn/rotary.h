// Rotary position embedding on raw rows: the one implementation behind nn::apply_rotary (tensors, GCP-VQVAE)
// and the Qwen3 decoder's token loop. Angles are position · theta^(-2i/dims) in double; the cos/sin tables
// are then rounded to the row type, as transformers and x-transformers do.
#pragma once
#include <cmath>
#include <cstdint>

namespace bmx {

// cos/sin [n, rotary_dims/2] for positions[0..n).
template <typename T>
void rotary_tables(const int64_t* positions, int64_t n, int64_t rotary_dims, double theta, T* cos_out,
                   T* sin_out) {
  const int64_t half = rotary_dims / 2;
  for (int64_t i = 0; i < half; ++i) {
    const double inv_freq = 1.0 / std::pow(theta, double(2 * i) / double(rotary_dims));
    for (int64_t r = 0; r < n; ++r) {
      const double a = double(positions[r]) * inv_freq;
      cos_out[r * half + i] = T(std::cos(a));
      sin_out[r * half + i] = T(std::sin(a));
    }
  }
}

// Rotates the first rotary_dims values of one row in place with one position's cos/sin. Pairs are
// (x[i], x[i + half]) ("rotate half": Llama/Qwen) or, with adjacent_pairs, (x[2i], x[2i + 1]) (GPT-J,
// x-transformers); the values after rotary_dims pass through.
template <typename T>
void rotate_row(T* x, const T* cos, const T* sin, int64_t rotary_dims, bool adjacent_pairs) {
  const int64_t half = rotary_dims / 2;
  const int64_t step = adjacent_pairs ? 2 : 1, partner = adjacent_pairs ? 1 : half;
  for (int64_t i = 0; i < half; ++i) {
    T* p = x + i * step;
    const T x1 = p[0], x2 = p[partner];
    p[0] = x1 * cos[i] - x2 * sin[i];
    p[partner] = x2 * cos[i] + x1 * sin[i];
  }
}

}  // namespace bmx

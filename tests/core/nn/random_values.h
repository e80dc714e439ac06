// Random test inputs shared by the core/nn suites.
#pragma once
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace bmx::test {

// n values of N(0, sigma^2) from a fixed seed: the same inputs on every run.
inline std::vector<float> gaussian(std::size_t n, std::uint32_t seed, float sigma = 1.f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.f, sigma);
  std::vector<float> v(n);
  for (float& x : v) x = g(rng);
  return v;
}

}  // namespace bmx::test

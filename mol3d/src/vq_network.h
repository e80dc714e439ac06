// The MolStrucTok VQ-VAE in eval mode (spec molstructok.md §5) as float32 loops: encoder MLP with BatchNorm
// folded into the linears, nearest-codeword quantizer, and the multi-head decoder evaluated once for every
// code at load time (decoding is then a table look-up).
#pragma once
#include <array>
#include <string>
#include <vector>

#include "bmx/core/nn/dense_f32.h"

namespace bmx::mol3d {

struct CodeChoice {
  int code = 0, second = -1;
  float distance = 0.f, second_distance = 0.f;
};

class VqNetwork {
 public:
  explicit VqNetwork(const std::string& checkpoint);  // throws InputError naming the file and tensor

  int codebook_size() const { return quantizer_.size; }
  // Raw descriptors (r, theta, |phi|, sign) per atom -> nearest code per atom.
  std::vector<CodeChoice> encode(const std::vector<std::array<double, 4>>& descriptors) const;
  // Decoder output for a code: r (Å), theta, |phi| (radians) as float32 values, and sign in {-1, 0, 1}.
  const std::array<float, 4>& decode(int code) const { return table_[code]; }

 private:
  DenseF32 enc_[3];
  NearestF32 quantizer_;
  std::vector<std::array<float, 4>> table_;
};

}  // namespace bmx::mol3d

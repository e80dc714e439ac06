// The MolStrucTok VQ-VAE in eval mode (spec molstructok.md §5) as float32 loops: encoder MLP with BatchNorm
// folded into the linears, nearest-codeword quantizer, and the multi-head decoder evaluated once for every
// code at load time (decoding is then a table look-up).
#pragma once
#include <string>
#include <vector>

#include "bmx/core/nn/dense_f32.h"
#include "bmx/mol3d/internal_coords.h"

namespace bmx::mol3d {

// The nearest code of one atom's latent vector, and the next nearest (how close the choice was).
struct CodeChoice {
  int code = 0, runner_up = -1;
  float distance = 0.f, runner_up_distance = 0.f;  // squared latent distances
};

class VqNetwork {
 public:
  explicit VqNetwork(const std::string& checkpoint);  // throws InputError naming the file and tensor

  int codebook_size() const { return quantizer_.size; }
  // Raw descriptors per atom -> nearest code per atom.
  std::vector<CodeChoice> encode(const std::vector<AtomDescriptor>& descriptors) const;
  // Decoder output for a code: distance (Å), polar angle and |azimuth| (radians) as the network computes them
  // in float32 (held widened to double, exactly), and the azimuth's sign in {-1, 0, 1}.
  const AtomDescriptor& decode(int code) const { return decoded_[code]; }

 private:
  DenseF32 encoder_[3];
  NearestF32 quantizer_;
  std::vector<AtomDescriptor> decoded_;  // per code: the decoder evaluated once at load time
};

}  // namespace bmx::mol3d

// What GCP-VQVAE makes of a chain and of tokens (gcp_vqvae.h): plain data, without the network's headers.
#pragma once
#include <array>
#include <vector>

#include "bmx/prot3d/backbone.h"

namespace bmx::prot3d {

struct Encoding {
  std::vector<int> tokens;          // one per tokenized residue, in chain order
  std::vector<int> positions;       // residue index (into BackboneChain::residues) of each token
  std::vector<float> margins;       // distance to the 2nd-nearest code minus distance to the nearest
  int windows = 1;                  // transformer windows used (1: the whole chain at once)
  bool truncated = false;           // residues beyond max_length() were left without a token (options.truncate)
};

struct Decoding {
  // N, CA, C per token (Å), positions 0..n-1; the pose is arbitrary (SE(3)-invariant training).
  std::vector<std::array<Vec3, 3>> n_ca_c;
};

}  // namespace bmx::prot3d

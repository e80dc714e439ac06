// Test hooks of prot3d: the intermediate values of an encode, compared with the reference's in the tests.
#pragma once
#include <ATen/core/Tensor.h>

#include "bmx/prot3d/gcp_vqvae.h"

namespace bmx::prot3d::testing {

// Intermediate values of one encode, for tests and debugging (model dtype; shapes as in the test vectors).
struct EncodeTrace {
  at::Tensor h, chi;                 // [L, 49], [L, 2, 3]
  at::Tensor edge_index;             // int64 [2, E]: row 0 = source j, row 1 = centre i
  at::Tensor edge_e, edge_xi;        // [E, 1], [E, 1, 3]
  at::Tensor node_embedding;         // [L, 128] GCPNet output
  at::Tensor encoder_out;            // [min(L, max), D] transformer output (first window when windowed)
  at::Tensor quantizer_input;        // [min(L, max), d_vq] (first window when windowed)
};

// encode() that fills `trace` as it goes.
Encoding encode_traced(const GcpVqvae& model, const BackboneChain& chain, const EncodeOptions& options,
                       EncodeTrace& trace);

}  // namespace bmx::prot3d::testing

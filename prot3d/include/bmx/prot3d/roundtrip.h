// How faithfully a protein chain survives encode -> decode: the numbers a user checks before trusting the
// tokenizer on their structures. The decoded pose is arbitrary, so CAs are compared after superposition.
#pragma once
#include <cstddef>

#include "bmx/prot3d/backbone.h"
#include "bmx/prot3d/gcp_vqvae.h"

namespace bmx::prot3d {

struct RoundTripMetrics {
  std::size_t tokens = 0;  // tokenized residues: the CAs compared
  std::size_t pieces = 1;  // decoder calls: the tokens of a windowed chain longer than max_length() are decoded in
                           // consecutive pieces, each superposed on its own residues
  double ca_rmsd = 0.0;    // Å after superposition; the RMS of the pieces' RMSDs
  double tm_score = 0.0;   // against the input's CAs; the residue-weighted mean of the pieces'
};

// Encodes the chain, decodes its tokens and compares. Throws what encode and decode throw (EncodeError for a chain
// longer than max_length() without options.window).
RoundTripMetrics round_trip(const GcpVqvae& model, const BackboneChain& chain, const EncodeOptions& options = {},
                            DecodeArithmetic arithmetic = DecodeArithmetic::float32);

}  // namespace bmx::prot3d

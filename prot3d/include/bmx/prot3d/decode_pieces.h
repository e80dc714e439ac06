// Decoding more tokens than the decoder takes (the records of `bmx prot encode --window`): the tokens are decoded
// in overlapping pieces of at most max_length(), each piece superposed (Kabsch, on the N, CA and C atoms of the
// residues it shares with the chain so far) onto the chain built from the pieces before it; in each overlap the
// first half keeps the earlier piece's atoms and the second half takes the later piece's.
#pragma once
#include <vector>

#include "bmx/prot3d/gcp_vqvae.h"

namespace bmx::prot3d {

struct PiecewiseDecoding {
  Decoding decoding;
  int pieces = 1;
  double overlap_rmsd = 0.0;  // largest RMSD (Å) of an overlap after superposition: how well the pieces agree
};

// overlap: residues shared by neighbouring pieces, in [1, max_length()); tokens of at most max_length() are
// decoded in one piece, as model.decode.
PiecewiseDecoding decode_in_pieces(const GcpVqvae& model, const std::vector<int>& tokens, int overlap = 128,
                                   DecodeArithmetic arithmetic = DecodeArithmetic::float32);

}  // namespace bmx::prot3d

// A protein chain's backbone as GCP-VQVAE sees it after preprocessing (spec gcp_vqvae.md §1): one entry per
// residue position, N/CA/C coordinates, and which positions are real (tokenized) and which were imputed.
#pragma once
#include <array>
#include <string>
#include <vector>

#include "bmx/core/geom/vec3.h"
#include "bmx/prot3d/residue_id.h"

namespace bmx::prot3d {

using Vec3 = bmx::Vec3;

struct Residue {
  std::string name;      // three-letter code as read (e.g. "ALA"); for an imputed position the HETATM residue that
                         // sat there (e.g. "MSE"), or empty for a numbering gap
  char one_letter = 'X'; // sequence letter used by the model (spec §1 steps 4 and 8: only the 20 standard + X)
  ResidueId id;          // author number + insertion code (inserted gap residues continue the numbering of the
                         // residue before, without insertion code)
  bool observed = true;  // false: imputed (gap, missing backbone atom, HETATM hole): gets no token
};

struct BackboneChain {
  std::string id;     // structure id (file stem or entry id)
  std::string chain;  // chain name as in the file (auth_asym_id for mmCIF); may be empty (blank PDB chain id)
  std::vector<Residue> residues;
  // Per residue: N, CA, C (Å) in the file's frame. Positions that are not observed hold the imputed coordinates of
  // spec §1 step 9 (so the model input is complete); observed atoms are the file's values rounded to float32
  // (except the N after an imputed residue, which step 9.4 moves).
  std::vector<std::array<Vec3, 3>> coords;
  // Per residue: the carbonyl O, imputed like the others. The model does not use it, but the reference recentres on
  // the mean of all N/CA/C/O atoms; writers use it for observed residues. Empty when unknown (e.g. decoded chains).
  std::vector<Vec3> oxygen;

  std::string sequence() const;                // one-letter codes of all residues
  std::size_t size() const { return residues.size(); }
  std::vector<int> observed_positions() const; // indices of observed residues (the tokenized ones, in order)
  std::string observed_sequence() const;       // one-letter codes of observed residues only
};

// Coordinates a structure cannot have, as a problem to report (empty when there is none): a coordinate that is not
// finite or lies beyond ±kMaxCoordinate Å, or every point within kCollapsedTolerance Å of one place (all atoms at
// one point: superposition and TM-score are then meaningless, and the encoder gives every residue one code).
// Shared by the structure reader and the encoder so that every path refuses the same coordinates.
constexpr double kMaxCoordinate = 1e5;
constexpr double kCollapsedTolerance = 0.01;
bool plausible_coordinate(const Vec3& p);
// `points` with NaN entries (missing atoms) skipped; "" when fewer than two points remain.
std::string collapsed_points_problem(const std::vector<Vec3>& points);

// "A" for a named chain, "_" for a blank chain id (as in messages and --chain).
std::string chain_label(const std::string& chain);

}  // namespace bmx::prot3d

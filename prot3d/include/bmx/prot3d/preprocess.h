// GCP-VQVAE preprocessing of one chain (spec gcp_vqvae.md §1 steps 5-9): numbering gaps become placeholder
// residues, partial residues are blanked, the chain is accepted or rejected, and blanked positions are imputed.
// Chains are processed one at a time: each gets its own gap rules, imputation and (later) its own graph.
#pragma once
#include <string>
#include <vector>

#include "bmx/prot3d/backbone.h"

namespace bmx::prot3d {

// One ATOM residue of a chain as read from the file (spec §1 steps 3-4), in file order.
struct RawResidue {
  std::string name;  // three-letter code
  ResidueId id;
  std::array<Vec3, 4> atoms;  // N, CA, C, O as float32 values; NaN where the atom is missing
};

// A HETATM residue of the chain, remembered so that the hole it leaves can be named in the output.
struct HetResidue {
  std::string name;
  int number = 0;  // author residue number (a hole is matched by number alone)
};

// Whether a chain gives tokens, and if not which of the reference pipeline's filters (spec §1 step 7) refused it.
enum class ChainStatus {
  ok,
  no_atom_residues,         // preprocess_chain: no residue given (read_protein_chains says not_protein)
  length_out_of_range,      // length after gap filling outside [min_len, max_len] (the reference calls it "length")
  missing_ratio_exceeded,   // too many positions without CA
  missing_block_exceeded,   // too long a run of positions without CA
  bad_coordinates,          // read_protein_chains: a coordinate that is not finite or beyond ±1e5 Å, or all backbone
                            // atoms at one point (degenerate geometry): refused, naming the residue
  not_protein,              // read_protein_chains: no amino-acid chain in ATOM records (nucleic acid, water,
                            // ligands, amino acids only as HETATM): reported, but not a protein that failed
};

struct ChainLimits {
  int min_len = 0;        // the BioMatrix wrapper's defaults
  int max_len = 1280;     // <= 0: no upper limit
  double max_missing_ratio = 0.2;
  int max_missing_block = 15;
};

struct PreprocessedChain {
  ChainStatus status = ChainStatus::ok;
  BackboneChain backbone;  // filled when status is ok
  int n_missing_ca = 0;    // positions without CA after gap filling
  int longest_missing_block = 0;
  int unimputable = -1;    // status bad_coordinates: the first position whose N/CA/C imputation gave no finite point
};

// Residue letter of spec §1 step 4 after the clean-up of step 8: the 20 standard amino acids, anything else 'X'.
char one_letter_code(const std::string& name);

// Steps 5-9 for one chain. `het` (optional) names the HETATM residues of the chain, to label the holes they leave.
PreprocessedChain preprocess_chain(const std::vector<RawResidue>& residues, const ChainLimits& limits = {},
                                   const std::vector<HetResidue>& het = {});

// Step 9 alone: fills the NaN atoms of an L x 4 (N, CA, C, O) array in place and returns, per residue, whether it
// was complete (valid). Double precision; upstream's float32 arithmetic differs by up to ~1e-3 Å on imputed atoms.
std::vector<bool> impute_backbone(std::vector<std::array<Vec3, 4>>& x);

}  // namespace bmx::prot3d

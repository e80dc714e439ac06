// How faithfully a molecule survived encode -> decode (-> refine): the numbers a user checks before trusting
// the tokenizer. The decoded molecule's atom k is the input's atom atom_order[k] (MolStrucTok's canonical
// order), which is how the two are paired.
#pragma once
#include <GraphMol/ROMol.h>

#include <vector>

namespace bmx::mol3d {

struct RoundTripMetrics {
  double heavy_rmsd = 0.0;      // Å, heavy atoms, after optimal superposition
  double all_rmsd = 0.0;        // Å, every atom incl. H
  double bond_dev_mean = 0.0;   // Å, mean |bond length decoded - input| over all bonds of the input
  double bond_dev_max = 0.0;    // Å
  int stereo_centres = 0;       // tetrahedral centres and stereo double bonds of the input (perceived from 3D)
  int stereo_kept = 0;          // of those, the same CIP label / E-Z in the decoded molecule
  bool same_graph = true;       // decoded bonds pair with input bonds one to one (same orders)
};

// Throws InputError when atom counts differ or a molecule has no conformer. `decoded_as_tagged`: take the
// decoded molecule's stereo from its tags as they are (a molecule read back from a written SD file: what a
// reader of that file sees, e.g. "either" double bonds as unkept) instead of perceiving it from 3D.
RoundTripMetrics compare_round_trip(const RDKit::ROMol& input, const RDKit::ROMol& decoded,
                                    const std::vector<int>& atom_order, bool decoded_as_tagged = false);

}  // namespace bmx::mol3d

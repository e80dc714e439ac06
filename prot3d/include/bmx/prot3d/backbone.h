// A protein chain's backbone as GCP-VQVAE sees it after preprocessing (spec gcp_vqvae.md §1): one entry per
// residue position, N/CA/C coordinates, and which positions are real (tokenized) and which were imputed.
#pragma once
#include <array>
#include <string>
#include <vector>

namespace bmx::prot3d {

struct Residue {
  std::string name;      // three-letter code as read (e.g. "ALA", "MSE"); empty for a gap filled by imputation
  char one_letter = 'X'; // sequence letter used by the model
  int seq_num = 0;       // author numbering
  char icode = ' ';      // insertion code
  bool observed = true;  // false: imputed (gap, missing backbone atom, HETATM hole): gets no token
};

struct BackboneChain {
  std::string id;     // structure id (file stem or entry id)
  std::string chain;  // chain name
  std::vector<Residue> residues;
  std::vector<std::array<std::array<double, 3>, 3>> coords;  // per residue: N, CA, C (Å)
  std::string sequence() const;  // one-letter codes of all residues
};

}  // namespace bmx::prot3d

// Backbone chains to PDB or mmCIF files through gemmi. Residue names come from the residues' names or, failing
// that, their one-letter codes (X is UNK); chain ids and author numbering are kept. Missing carbonyl O (and, on
// request, CB) atoms are placed by ideal geometry so that DSSP and viewers accept the file. Coordinates that are
// not finite are refused: NaN is never written.
#pragma once
#include <string>
#include <vector>

#include "bmx/prot3d/backbone.h"
#include "bmx/prot3d/structure_format.h"

namespace bmx::prot3d {

struct WriteOptions {
  StructureFormat format = StructureFormat::from_extension;
  bool add_oxygen = true;     // O of every residue: the chain's own O where known, else ideal geometry
  bool add_cb = false;        // ideal CB on every residue except glycine
  bool observed_only = false; // leave out imputed positions
  std::string title;          // written as a TITLE / _struct.title when not empty
};

// Writes all chains into one model. Throws InputError on non-finite coordinates or a duplicate chain name.
void write_backbones(const std::string& path, const std::vector<BackboneChain>& chains, const WriteOptions& options = {});
std::string backbones_to_string(const std::vector<BackboneChain>& chains, StructureFormat format,
                                const WriteOptions& options = {});

// Three-letter residue name for a one-letter code (the 20 standard; B ASX, Z GLX, U SEC, O PYL; else UNK).
std::string three_letter_code(char one_letter);

// Ideal-geometry atoms from N, CA, C: the carbonyl O (from the next residue's N when there is one, else trans to N)
// and the CB of an L-amino acid.
Vec3 ideal_oxygen(const Vec3& n, const Vec3& ca, const Vec3& c, const Vec3* next_n);
Vec3 ideal_cb(const Vec3& n, const Vec3& ca, const Vec3& c);

}  // namespace bmx::prot3d

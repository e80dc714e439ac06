// MolStrucTok: a molecule with 3D coordinates <-> a string of `[SELFIES-symbol code]` tokens, one VQ code
// (0..511) per atom (spec: shared/specs/molstructok.md). Token-for-token compatible with the BioMatrix
// reference on everything the reference accepts, and defined where it is not:
// - molecules with fewer than 5 atoms (water, CO2, single ions) encode and decode;
// - multi-fragment molecules (salts) keep their fragments: the token string carries SELFIES' '.' between
//   fragments ("[C 3][C 0][O 9].[Na+1 5]"); the first atom of a later fragment is placed relative to the
//   atom written before it;
// - collinear or coincident frame atoms get a deterministic frame instead of NaN;
// - impossible token strings are one-line InputErrors naming the problem and the token position.
// A MolStrucTok object is immutable after construction: encode/decode may run concurrently from threads.
#pragma once
#include <GraphMol/RWMol.h>

#include <memory>
#include <string>
#include <vector>

#include "bmx/mol3d/fragments.h"
#include "bmx/mol3d/input_limits.h"
#include "bmx/mol3d/internal_coords.h"

namespace bmx::mol3d {

class VqNetwork;

// The checkpoint bmx uses when none is given: $BMX_MOLSTRUCTOK, then molstructok_vqvae.bin in
// <executable dir>/../share/bmx, the install data dir, the source tree's data/, and $BMX_DATA_DIR.
// Throws UnsupportedError listing every place it looked.
std::string default_checkpoint();

struct Encoding {
  std::string smiles;      // canonical Kekulé non-isomeric SMILES of the input (RDKit)
  std::string selfies;     // SELFIES of `smiles`
  std::string struct_sfi;  // "[H 3][C 0][=N 9]..." ('.' between fragments)
  std::string tokens;      // <|mol_3d_start|> struct_sfi <|mol_3d_end|>
  std::vector<int> atom_order;  // atom_order[k] = input atom index of token atom k
  std::vector<int> codes;       // per atom, in token order
  std::vector<ReferenceAtoms> reference_atoms;
  std::vector<AtomDescriptor> descriptors;  // measured, float64
  std::vector<float> code_distance;  // squared latent distance to the chosen code
  std::vector<float> code_margin;    // runner-up distance minus chosen distance (small: fragile code)
  int num_fragments = 1;
};

struct Decoding {
  std::unique_ptr<RDKit::RWMol> mol;  // atoms in token order, one 3D conformer (flagged 3D)
  std::string selfies;                // the SELFIES the tokens spell
  std::vector<int> codes;
  std::vector<ReferenceAtoms> reference_atoms;
  std::vector<AtomDescriptor> descriptors;  // decoded from the codes
  bool sanitized = true;  // false: RDKit sanitization failed (kept as parsed, like the reference)
};

class MolStrucTok {
 public:
  explicit MolStrucTok(const std::string& checkpoint = default_checkpoint());
  ~MolStrucTok();
  MolStrucTok(MolStrucTok&&) noexcept;
  MolStrucTok& operator=(MolStrucTok&&) noexcept;

  // `mol`: hydrogens as explicit atoms (the model was trained so), one conformer with 3D coordinates.
  // Throws InputError: no atoms, no conformer, a 2D conformer (all z = 0), a molecule SELFIES cannot
  // express (e.g. N with 5 bonds), non-finite coordinates.
  Encoding encode(const RDKit::ROMol& mol) const;

  // Bare struct_sfi or the wrapped form. Throws InputError (one line, token position) for strings that do
  // not spell a molecule whose atoms line up with the codes, and for more than max_atoms atoms (<= 0: no
  // limit; input_limits.h). Later fragments are moved off the earlier ones (separate_fragments).
  Decoding decode_detail(const std::string& tokens, int max_atoms = kDefaultMaxAtoms) const;
  std::unique_ptr<RDKit::RWMol> decode(const std::string& tokens) const { return decode_detail(tokens).mol; }

  // The network alone (for checks and tools): codes of raw descriptors, the decoded descriptor of a code
  // (InputError outside 0..codebook_size()-1).
  std::vector<int> codes_of(const std::vector<AtomDescriptor>& descriptors) const;
  AtomDescriptor descriptor_of(int code) const;
  int codebook_size() const;
  const std::string& checkpoint() const { return checkpoint_; }

 private:
  std::string checkpoint_;
  std::unique_ptr<VqNetwork> net_;
};

}  // namespace bmx::mol3d

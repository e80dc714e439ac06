#include "task_inputs.h"

#include <cstdio>

#include "bmx/core/util/error.h"
#include "bmx/mol3d/molecule_io.h"
#include "bmx/mol3d/molstructok.h"
#include "bmx/prot3d/gcp_vqvae.h"
#include "bmx/prot3d/structure_reader.h"

namespace bmx::app {

// --structure FILE -> GCP-VQVAE codes of its first protein chain (or --chain) and their residue letters.
InputValue structure_input(const std::string& path, const std::string& chain, const prot3d::GcpVqvae& gcp) {
  prot3d::ReadOptions ro;
  ro.chain = chain;
  const prot3d::StructureChains sc = prot3d::read_protein_chains(path, ro);
  std::string reasons;
  for (const prot3d::ChainResult& c : sc.chains) {
    if (c.status != prot3d::ChainStatus::ok) {
      reasons += "; chain " + prot3d::chain_label(c.chain) + ": " + c.message;
      continue;
    }
    const prot3d::Encoding e = gcp.encode(c.backbone);
    InputValue v;
    v.kind = InputKind::protein_structure;
    v.structure = e.tokens;
    for (int p : e.positions) v.sequence += c.backbone.residues[p].one_letter;
    return v;
  }
  throw InputError(path + ": no protein chain to tokenize" + reasons);
}

// --molecule FILE -> MolStrucTok tokens of its first molecule.
InputValue molecule_input(const std::string& path, const mol3d::MolStrucTok& molstructok, bool note_extra) {
  std::vector<mol3d::MolRecord> recs = mol3d::read_molecules(path);
  if (recs.empty()) throw InputError(path + ": no molecule");
  if (!recs[0].ok()) throw InputError(recs[0].error);
  if (recs.size() > 1 && note_extra) std::fprintf(stderr, "bmx run: %s: %zu molecules, using the first\n", path.c_str(), recs.size());
  InputValue v;
  v.kind = InputKind::molecule_3d;
  v.text = molstructok.encode(*recs[0].mol).struct_sfi;
  return v;
}

}  // namespace bmx::app

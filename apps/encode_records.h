// What `bmx mol encode|decode` and `bmx prot encode` make of one record, shared by the command line and the Python
// module (apps/python/) so that both write the same JSON line and the same SD record for the same input; and the
// --shard I/N rule of both encode commands (and of bmx.dask's partitions' order).
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bmx/forcefield/refine.h"
#include "bmx/mol3d/molecule_io.h"
#include "bmx/mol3d/molstructok.h"
#include "bmx/mol3d/sdf_writer.h"
#include "bmx/prot3d/structure_reader.h"
#include "bmx/prot3d/token_record.h"

namespace bmx::app {

// The JSON line of `bmx mol encode` for one record: name, file, record, smiles, selfies, struct_sfi, codes, tokens,
// num_atoms, atom_order, hydrogens_added (fragments, notes when there are some).
nlohmann::ordered_json mol_encode_json(const mol3d::MolRecord& record, const mol3d::Encoding& encoding);

// One token string decoded as `bmx mol decode` does: hydrogens the tokens lack added with 3D coordinates, the
// input atom of each output atom (`atom_order` from a JSON line of encode, may be empty), refinement unless
// `refine` is empty, and the SD record with bmx's fields. Throws InputError (without the place; callers add it).
struct MolDecodeRecord {
  std::string record;  // SDF text, "$$$$" included
  std::string note;    // what was done that the user should hear of ("" when nothing), one or more lines
  bool refined = false, unconverged = false;
};
MolDecodeRecord mol_decode_record(const mol3d::MolStrucTok& model, const std::string& tokens, const std::string& name,
                                  const std::string& where, const std::vector<int>& atom_order, int max_atoms,
                                  const std::optional<forcefield::RefineOptions>& refine);

// bmx's refinement SD fields (bmx_refinement, bmx_ff_atom_types, the energies before and after).
void add_refine_fields(const forcefield::RefineResult& result, mol3d::SdFields& fields);
// The note for a record whose coordinates do not fit V2000's columns (written as V3000 instead); "" when they fit.
std::string v3000_note(const RDKit::ROMol& mol, const std::string& where);

// The record `bmx prot encode` writes for an accepted chain of `path`: its tokens, the file, the HETATM amino
// acids beyond the graph's ends as untokenized positions, the reader's notes.
prot3d::TokenRecord prot_chain_record(const std::string& path, const prot3d::ChainResult& chain,
                                      const prot3d::Encoding& encoding);

// --shard I/N: the inputs with index I, I+N, I+2N, ... (0 <= I < N) in the order given, so that N jobs of a job
// array cover every input exactly once. An empty spec keeps every input. InputError for a malformed spec.
std::vector<std::string> shard_inputs(const std::vector<std::string>& inputs, const std::string& spec);

}  // namespace bmx::app

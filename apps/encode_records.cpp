#include "encode_records.h"

#include <GraphMol/MolOps.h>

#include <cstdio>

#include "bmx/core/util/error.h"
#include "bmx/mol3d/fragments.h"
#include "bmx/mol3d/input_limits.h"

namespace bmx::app {

nlohmann::ordered_json mol_encode_json(const mol3d::MolRecord& r, const mol3d::Encoding& e) {
  nlohmann::ordered_json j;
  j["name"] = r.name;
  j["file"] = r.file;
  j["record"] = r.index;
  j["smiles"] = e.smiles;
  j["selfies"] = e.selfies;
  j["struct_sfi"] = e.struct_sfi;
  j["codes"] = e.codes;
  j["tokens"] = e.tokens;
  j["num_atoms"] = e.codes.size();
  j["atom_order"] = e.atom_order;
  j["hydrogens_added"] = r.hydrogens_added;
  if (e.num_fragments > 1) j["fragments"] = e.num_fragments;
  if (!r.notes.empty()) j["notes"] = r.notes;
  return j;
}

void add_refine_fields(const forcefield::RefineResult& rr, mol3d::SdFields& fields) {
  fields.emplace_back("bmx_refinement", forcefield::describe(rr));
  if (!rr.atom_types.empty()) fields.emplace_back("bmx_ff_atom_types", forcefield::atom_types_line(rr));
  if (rr.status != forcefield::RefineStatus::no_parameters) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.4f", rr.energy_before);
    fields.emplace_back("bmx_energy_before", buf);
    std::snprintf(buf, sizeof buf, "%.4f", rr.energy_after);
    fields.emplace_back("bmx_energy_after", buf);
  }
}

std::string v3000_note(const RDKit::ROMol& mol, const std::string& where) {
  if (mol3d::fits_v2000(mol)) return {};
  return where + ": coordinates wider than V2000's columns (beyond -9999.9999..99999.9999 Å); written as V3000";
}

MolDecodeRecord mol_decode_record(const mol3d::MolStrucTok& model, const std::string& tokens, const std::string& name,
                                  const std::string& where, const std::vector<int>& atom_order, int max_atoms,
                                  const std::optional<forcefield::RefineOptions>& refine) {
  MolDecodeRecord res;
  if (tokens.empty()) throw InputError("no tokens");
  auto d = model.decode_detail(tokens, max_atoms);
  mol3d::SdFields fields{{"bmx_tokens", tokens}};
  // Tokens without their hydrogens ('[C 1][C 2]') spell a molecule the model never makes: completed with
  // hydrogens at 3D positions, as encode does with such input, and said so (the note and an SD field).
  int implicit_h = 0;
  if (d.sanitized)
    for (const auto* a : d.mol->atoms()) implicit_h += int(a->getNumImplicitHs());
  if (implicit_h > 0) {
    if (std::string p = mol3d::atom_count_problem(d.mol->getNumAtoms() + implicit_h, max_atoms); !p.empty())
      throw InputError(p + " with the " + std::to_string(implicit_h) + " hydrogens the tokens lack");
    RDKit::MolOps::addHs(*d.mol, /*explicitOnly=*/false, /*addCoords=*/true);
    mol3d::separate_fragments(*d.mol);  // the new H may reach into another fragment
    res.note = where + " (" + name + "): the tokens carry no hydrogens for " + std::to_string(implicit_h) +
               " H; added with 3D coordinates";
    fields.emplace_back("bmx_hydrogens_added", std::to_string(implicit_h));
  }
  // The input atom (0-based, as in the JSON line) of each output atom, -1 for a hydrogen added here.
  if (!atom_order.empty() && atom_order.size() == d.codes.size()) {
    std::string order;
    for (unsigned k = 0; k < d.mol->getNumAtoms(); ++k)
      order += (k ? " " : "") + std::to_string(k < atom_order.size() ? atom_order[k] : -1);
    fields.emplace_back("atom_order", order);
  }
  if (refine) {
    auto rr = forcefield::refine(*d.mol, *refine);
    res.refined = rr.status != forcefield::RefineStatus::no_parameters;
    res.unconverged = rr.status == forcefield::RefineStatus::not_converged;
    add_refine_fields(rr, fields);
  } else {
    fields.emplace_back("bmx_refinement", "not refined");
  }
  if (std::string n = v3000_note(*d.mol, where + " (" + name + ")"); !n.empty())
    res.note += (res.note.empty() ? "" : "\n") + n;
  res.record = mol3d::sdf_record(*d.mol, name, fields, where);
  return res;
}

prot3d::TokenRecord prot_chain_record(const std::string& path, const prot3d::ChainResult& chain,
                                      const prot3d::Encoding& encoding) {
  prot3d::TokenRecord record = prot3d::token_record(chain.backbone, encoding);
  record.file = path;
  // HETATM amino acids beyond the graph's ends get no token either: every position without one is listed.
  std::vector<prot3d::UntokenizedPosition> outside;
  for (const auto& [id, name] : chain.het_before) outside.push_back({id, name});
  record.untokenized.insert(record.untokenized.begin(), outside.begin(), outside.end());
  for (const auto& [id, name] : chain.het_after) record.untokenized.push_back({id, name});
  record.notes = chain.notes;
  return record;
}

std::vector<std::string> shard_inputs(const std::vector<std::string>& inputs, const std::string& spec) {
  if (spec.empty()) return inputs;
  const auto bad = [&spec] {
    return InputError("--shard " + spec + ": expected I/N with 0 <= I < N (e.g. --shard $SLURM_ARRAY_TASK_ID/10)");
  };
  const std::size_t slash = spec.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == spec.size()) throw bad();
  long i = 0, n = 0;
  try {
    std::size_t used_i = 0, used_n = 0;
    i = std::stol(spec.substr(0, slash), &used_i);
    n = std::stol(spec.substr(slash + 1), &used_n);
    if (used_i != slash || used_n != spec.size() - slash - 1) throw bad();
  } catch (const std::logic_error&) {
    throw bad();
  }
  if (n < 1 || i < 0 || i >= n) throw bad();
  std::vector<std::string> picked;
  for (std::size_t k = std::size_t(i); k < inputs.size(); k += std::size_t(n)) picked.push_back(inputs[k]);
  return picked;
}

}  // namespace bmx::app

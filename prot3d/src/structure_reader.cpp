// File -> per-chain raw residues (spec §1 steps 1-4) -> preprocess_chain. Reading follows the reference: the whole
// text through gemmi's PDB reader, or its mmCIF reader for .cif/.mmcif; first model; ATOM residues only.
#include "bmx/prot3d/structure_reader.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

#include <gemmi/cif.hpp>
#include <gemmi/mmcif.hpp>
#include <gemmi/pdb.hpp>
#include <gemmi/resinfo.hpp>

#include "bmx/core/io/gzip_file.h"
#include "bmx/core/util/error.h"

namespace bmx::prot3d {
namespace {

bool ends_with_ci(const std::string& s, const std::string& suffix) {
  if (s.size() < suffix.size()) return false;
  for (std::size_t i = 0; i < suffix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[s.size() - suffix.size() + i])) != suffix[i]) return false;
  return true;
}

std::string strip_gz(const std::string& path) { return ends_with_ci(path, ".gz") ? path.substr(0, path.size() - 3) : path; }

// A coordinate of an ATOM residue that no structure has (not finite, beyond ±1e5 Å): the problem naming residue
// and atom, else "". gemmi's values are checked before the float32 rounding, which would turn 1e300 into inf.
std::string bad_coordinate(const gemmi::Residue& r) {
  for (const gemmi::Atom& a : r.atoms) {
    const Vec3 p{a.pos.x, a.pos.y, a.pos.z};
    if (plausible_coordinate(p)) continue;
    char xyz[128];
    std::snprintf(xyz, sizeof xyz, "(%g, %g, %g)", p[0], p[1], p[2]);
    const ResidueId id{r.seqid.num.value, r.seqid.icode ? r.seqid.icode : ' '};
    return "residue " + to_string(id) + " " + r.name + " atom " + a.name + ": coordinate " + xyz +
           (std::isfinite(p[0]) && std::isfinite(p[1]) && std::isfinite(p[2]) ? " lies beyond ±100000 Å"
                                                                               : " is not a finite number");
  }
  return {};
}

bool looks_like_mmcif(const std::string& text) {
  std::size_t i = 0;
  while (i < text.size()) {  // skip blank lines and # comments
    if (std::isspace(static_cast<unsigned char>(text[i]))) { ++i; continue; }
    if (text[i] == '#') { i = text.find('\n', i); if (i == std::string::npos) return false; continue; }
    break;
  }
  return text.compare(i, 5, "data_") == 0;
}

gemmi::Structure parse(const std::string& path, const std::string& text, StructureFormat format) {
  const std::string base = strip_gz(path);
  if (ends_with_ci(base, ".bcif") || (!text.empty() && (static_cast<unsigned char>(text[0]) & 0xf0) == 0x80))
    fail_input(path, "BinaryCIF (MessagePack) is not supported: convert it to mmCIF or PDB first");
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) fail_input(path, "empty file");
  bool cif = format == StructureFormat::mmcif;
  if (format == StructureFormat::from_extension)
    cif = ends_with_ci(base, ".cif") || ends_with_ci(base, ".mmcif") || looks_like_mmcif(text);
  try {
    if (cif) {
      gemmi::cif::Document doc = gemmi::cif::read_memory(text.data(), text.size(), path.c_str());
      if (doc.blocks.empty()) fail_input(path, "mmCIF file without a data block");
      return gemmi::make_structure_from_block(doc.blocks.at(0));
    }
    return gemmi::read_pdb_from_memory(text.data(), text.size(), path);
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    std::string msg = e.what();
    std::replace(msg.begin(), msg.end(), '\n', ' ');
    fail_input(path, std::string(cif ? "mmCIF" : "PDB") + " parse error: " + msg);
  }
}

double max_occupancy(const gemmi::Residue& r) {
  double m = -1e30;
  for (const gemmi::Atom& a : r.atoms) m = std::max(m, static_cast<double>(a.occ));
  return m;
}

bool has_altloc(const gemmi::Residue& r) {
  for (const gemmi::Atom& a : r.atoms)
    if (a.altloc) return true;
  return false;
}

// Highest-occupancy alternative of an atom name (the first wins a tie), as float32 values; NaN when absent.
Vec3 pick_atom(const gemmi::Residue& r, const char* name) {
  const gemmi::Atom* best = nullptr;
  float best_occ = -1e30f;
  for (const gemmi::Atom& a : r.atoms)
    if (a.name == name && a.occ > best_occ) {
      best = &a;
      best_occ = a.occ;
    }
  if (!best) return {std::nan(""), std::nan(""), std::nan("")};
  return {static_cast<double>(static_cast<float>(best->pos.x)), static_cast<double>(static_cast<float>(best->pos.y)),
          static_cast<double>(static_cast<float>(best->pos.z))};
}

bool is_amino_acid_name(const std::string& name) { return gemmi::find_tabulated_residue(name).is_amino_acid(); }
bool is_nucleic_name(const std::string& name) { return gemmi::find_tabulated_residue(name).is_nucleic_acid(); }
bool is_water_name(const std::string& name) {
  return gemmi::find_tabulated_residue(name).is_water();
}
bool has_backbone(const gemmi::Residue& r) {
  bool n = false, ca = false, c = false;
  for (const gemmi::Atom& a : r.atoms) {
    n |= a.name == "N";
    ca |= a.name == "CA";
    c |= a.name == "C";
  }
  return n && ca && c;
}

// ATOM residue in the reference's sense. Files that do not say (mmCIF without group_PDB) count amino acids.
bool is_atom_record(const gemmi::Residue& r) {
  if (r.het_flag == 'A') return true;
  if (r.het_flag == 'H') return false;
  return is_amino_acid_name(r.name) || has_backbone(r);
}

std::string join(const std::set<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ",") + n;
  return s;
}

bool disjoint_atoms(const gemmi::Residue& a, const gemmi::Residue& b) {
  for (const gemmi::Atom& x : a.atoms)
    for (const gemmi::Atom& y : b.atoms)
      if (x.name == y.name) return false;
  return true;
}

// The residues of one chain name (all blocks of that name, file order), with microheterogeneity resolved.
std::vector<gemmi::Residue> chain_residues(const gemmi::Model& model, const std::string& name) {
  std::vector<gemmi::Residue> out;
  for (const gemmi::Chain& ch : model.chains) {
    if (ch.name != name) continue;
    for (const gemmi::Residue& r : ch.residues) {
      if (!out.empty()) {
        gemmi::Residue& p = out.back();
        // Two residue names at one number with altlocs (a point mutation): keep the one whose atoms have the
        // highest occupancy, the later one on a tie (spec §1 step 3; Biopython keeps the last name read).
        if (p.seqid == r.seqid && p.name != r.name && p.het_flag == r.het_flag && (has_altloc(p) || has_altloc(r))) {
          if (max_occupancy(r) >= max_occupancy(p)) p = r;
          continue;
        }
        // One residue cut into pieces that gemmi tells apart by the segment columns, which PDBQT and PQR files
        // fill with charges: join the pieces (they never share an atom name).
        if (p.seqid == r.seqid && p.name == r.name && p.het_flag == r.het_flag && p.segment != r.segment &&
            disjoint_atoms(p, r)) {
          p.atoms.insert(p.atoms.end(), r.atoms.begin(), r.atoms.end());
          continue;
        }
      }
      out.push_back(r);
    }
  }
  return out;
}

ChainResult process_chain(const gemmi::Model& model, const std::string& name, const ChainLimits& limits) {
  ChainResult cr;
  cr.chain = name;
  std::vector<RawResidue> raw;
  std::vector<HetResidue> het;
  std::set<std::string> het_aa_names;
  int n_het_aa = 0, n_water = 0, n_nucleic = 0, n_all = 0, n_aa_atom = 0, n_bb = 0, n_ca = 0;
  for (const gemmi::Residue& res : chain_residues(model, name)) {
    const gemmi::Residue* r = &res;
    ++n_all;
    const bool water = is_water_name(r->name);
    n_water += water;
    n_nucleic += is_nucleic_name(r->name);
    if (!is_atom_record(*r)) {
      if (!water && (is_amino_acid_name(r->name) || has_backbone(*r))) {
        ++n_het_aa;
        het_aa_names.insert(r->name);
        het.push_back({r->name, r->seqid.num.value});
      }
      continue;
    }
    if (std::string problem = bad_coordinate(*r); !problem.empty()) {
      cr.status = ChainStatus::bad_coordinates;
      cr.message = problem;
      return cr;
    }
    RawResidue rr;
    rr.name = r->name;
    rr.id = {r->seqid.num.value, r->seqid.icode ? r->seqid.icode : ' '};
    rr.atoms = {pick_atom(*r, "N"), pick_atom(*r, "CA"), pick_atom(*r, "C"), pick_atom(*r, "O")};
    n_aa_atom += is_amino_acid_name(r->name);
    n_bb += has_backbone(*r);
    n_ca += !std::isnan(rr.atoms[1][0]);
    raw.push_back(rr);
  }
  std::vector<Vec3> backbone_atoms;
  for (const RawResidue& rr : raw) backbone_atoms.insert(backbone_atoms.end(), rr.atoms.begin(), rr.atoms.begin() + 3);
  if (std::string problem = collapsed_points_problem(backbone_atoms); !problem.empty()) {
    cr.status = ChainStatus::bad_coordinates;
    cr.message = problem;
    return cr;
  }
  PreprocessedChain pc = preprocess_chain(raw, limits, het);
  cr.status = pc.status;
  const int L = static_cast<int>(pc.backbone.residues.size());
  if (pc.status == ChainStatus::ok) {
    cr.backbone = std::move(pc.backbone);
    int imputed = 0;
    for (const Residue& r : cr.backbone.residues) imputed += !r.observed;
    if (L > 0)
      for (const HetResidue& h : het) {
        if (h.number < cr.backbone.residues.front().id.number) cr.het_before.push_back({ResidueId{h.number, ' '}, h.name});
        else if (h.number > cr.backbone.residues.back().id.number) cr.het_after.push_back({ResidueId{h.number, ' '}, h.name});
      }
    if (n_het_aa)
      cr.notes.push_back(std::to_string(n_het_aa) + " amino acid(s) stored as HETATM (" + join(het_aa_names) +
                         ") get no token, as in the reference pipeline");
    if (imputed)
      cr.notes.push_back(std::to_string(imputed) + " of " + std::to_string(L) +
                         " positions imputed (numbering gaps, HETATM residues, missing backbone atoms): no token");
    return cr;
  }
  if (pc.status == ChainStatus::bad_coordinates) {
    const ResidueId& id = pc.backbone.residues[std::size_t(pc.unimputable)].id;
    cr.message = "residue " + std::to_string(id.number) + (id.icode != ' ' ? std::string(1, id.icode) : std::string()) +
                 ": its missing backbone atoms cannot be placed from its neighbours (degenerate geometry)";
    return cr;
  }
  // Say why in the user's terms rather than the reference's filter names where the cause is plain. Chains with
  // no amino-acid chain in ATOM records are not_protein: nothing a protein tokenizer failed at.
  const bool not_protein = raw.empty() || (n_aa_atom == 0 && n_bb == 0 && (n_nucleic > 0 || n_water == n_all || n_ca == 0));
  if (not_protein) cr.status = ChainStatus::not_protein;
  if (raw.empty()) {
    if (n_all > 0 && n_water == n_all) cr.message = "water only";
    else if (n_nucleic > 0) cr.message = "nucleic acid";
    else if (n_het_aa > 0) cr.message = "only HETATM amino acids (" + join(het_aa_names) +
                                          "), which the reference pipeline drops";
    else cr.message = "no amino-acid residues (ligand/other)";
  } else if (n_aa_atom == 0 && n_bb == 0 && n_nucleic > 0) {
    cr.message = "nucleic acid";
  } else if (n_aa_atom == 0 && n_bb == 0 && n_water == n_all) {
    cr.message = "water only";
  } else if (n_aa_atom == 0 && n_bb == 0 && n_ca == 0) {
    cr.message = "no amino-acid residues (ligand/other)";
  } else if (n_bb == 0 && n_ca > 0 && pc.status != ChainStatus::length_out_of_range) {
    cr.message = n_ca * 2 >= static_cast<int>(raw.size()) ? "CA-only trace, no N/C" : "no residue has N, CA and C";
  } else if (n_bb == 0 && pc.status != ChainStatus::length_out_of_range) {
    cr.message = "no residue has N, CA and C";
  } else if (pc.status == ChainStatus::length_out_of_range) {
    cr.message = "length " + std::to_string(L) + " outside " + std::to_string(limits.min_len) + ".." +
                 std::to_string(limits.max_len) + " (after gap filling)";
  } else if (pc.status == ChainStatus::missing_ratio_exceeded) {
    cr.message = std::to_string(pc.n_missing_ca) + " of " + std::to_string(L) +
                 " positions without backbone (more than 20%: missing_ratio_exceeded)";
  } else {
    cr.message = std::to_string(pc.longest_missing_block) +
                 " consecutive positions without backbone (more than 15: missing_block_exceeded)";
  }
  return cr;
}

}  // namespace

int StructureChains::n_ok() const {
  int n = 0;
  for (const ChainResult& c : chains) n += c.status == ChainStatus::ok;
  return n;
}

std::string structure_id(const std::string& path) {
  std::string base = strip_gz(path);
  const std::size_t slash = base.find_last_of('/');
  if (slash != std::string::npos) base = base.substr(slash + 1);
  const std::size_t dot = base.find_last_of('.');
  if (dot != std::string::npos && dot > 0) base = base.substr(0, dot);
  return base;
}

StructureChains read_protein_chains(const std::string& path, const ReadOptions& options) {
  StructureChains out;
  out.path = path;
  out.id = structure_id(path);
  const std::string text = read_text_file(path);
  gemmi::Structure st = parse(path, text, options.format);
  out.n_models = static_cast<int>(st.models.size());
  if (st.models.empty()) fail_input(path, "no model with atoms (no coordinates, or columns gemmi cannot read)");
  const gemmi::Model& model = st.models[0];
  std::vector<std::string> names;
  for (const gemmi::Chain& ch : model.chains)
    if (std::find(names.begin(), names.end(), ch.name) == names.end()) names.push_back(ch.name);
  bool any_atom = false;
  for (const gemmi::Chain& ch : model.chains)
    for (const gemmi::Residue& r : ch.residues) any_atom |= !r.atoms.empty();
  if (!any_atom) fail_input(path, "no atoms in the first model");
  if (!options.chain.empty()) {
    auto it = std::find_if(names.begin(), names.end(),
                           [&](const std::string& n) { return n == options.chain || chain_label(n) == options.chain; });
    if (it == names.end()) {
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : ", ") + chain_label(n);
      fail_input(path, "no chain " + options.chain + " (chains: " + list + ")");
    }
    names = {*it};
  }
  for (const std::string& name : names) {
    ChainResult cr = process_chain(model, name, options.limits);
    cr.backbone.id = out.id;
    cr.backbone.chain = name;
    out.chains.push_back(std::move(cr));
  }
  return out;
}

}  // namespace bmx::prot3d

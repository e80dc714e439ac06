#include "bmx/forcefield/refine.h"

#include <ForceField/ForceField.h>
#include <ForceField/UFF/Params.h>
#include <GraphMol/ForceFieldHelpers/MMFF/AtomTyper.h>
#include <GraphMol/ForceFieldHelpers/MMFF/Builder.h>
#include <GraphMol/ForceFieldHelpers/UFF/AtomTyper.h>
#include <GraphMol/ForceFieldHelpers/UFF/Builder.h>
#include <GraphMol/MolOps.h>
#include <RDGeneral/RDLog.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "bmx/core/util/error.h"
#include "mmff_flat.h"

namespace bmx::forcefield {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Atoms MMFF could not type, as "Se7 Si3" (1-based), for the message.
std::string untyped_atoms(RDKit::ROMol& mol, RDKit::MMFF::MMFFMolProperties& props) {
  std::string out;
  int shown = 0;
  for (const auto* a : mol.atoms()) {
    if (props.getMMFFAtomType(a->getIdx()) != 0) continue;
    if (shown++ < 4) out += (out.empty() ? "" : " ") + a->getSymbol() + std::to_string(a->getIdx() + 1);
  }
  if (shown > 4) out += " ...";
  return out;
}

// UFF labels encode hybridisation and oxidation state, and RDKit's typer asks for labels UFF does not have
// for unusual cases (aromatic Se is "Se2", UFF only knows "Se3+2"). Such atoms get the element's nearest
// UFF type: the same hybridisation digit first, then sp3, sp2, resonant, sp, higher ones.
const ForceFields::UFF::AtomicParams* generic_uff_params(const RDKit::Atom* atom, std::string& label_used) {
  const auto* table = ForceFields::UFF::ParamCollection::getParams();
  std::string sym = atom->getSymbol();
  std::string base = sym.size() == 1 ? sym + "_" : sym;
  std::string wanted = RDKit::UFF::Tools::getAtomLabel(atom);
  std::string digits;
  if (wanted.size() > 2 && wanted.compare(0, 2, base) == 0) digits += wanted[2];
  digits += "32R1645";
  for (char d : digits)
    for (const char* charge : {"", "+2", "+3", "+4", "+1", "+5", "+6"}) {
      std::string label = base + d + charge;
      if (const auto* p = (*table)(label)) {
        label_used = label;
        return p;
      }
    }
  return nullptr;
}

// Builds the force field `ff` for the molecule, or nullptr (with `why`) when it has no parameters; `types` gets
// each atom's force-field type.
std::unique_ptr<ForceFields::ForceField> build(RDKit::ROMol& mol, ForceField ff, const RefineOptions& o,
                                               std::string& why, std::vector<std::string>& types) {
  types.clear();
  // With one fragment there is nothing to ignore, and RDKit's builders would split the molecule into
  // fragment copies twice to find that out.
  bool ignore_interfrag = o.ignore_interfrag_interactions;
  if (ignore_interfrag) {
    std::vector<int> fragment;
    if (RDKit::MolOps::getMolFrags(mol, fragment) <= 1) ignore_interfrag = false;
  }
  if (ff == ForceField::uff) {
    auto [params, all] = RDKit::UFF::getAtomTypes(mol);
    // RDKit's getAtomTypes looks each atom's getAtomLabel up in the parameter table: that label is its type.
    for (const auto* a : mol.atoms()) types.push_back(RDKit::UFF::Tools::getAtomLabel(a));
    if (!all) {
      std::string generic, missing;
      for (const auto* a : mol.atoms()) {
        if (params[a->getIdx()]) continue;
        std::string label;
        params[a->getIdx()] = generic_uff_params(a, label);
        std::string where = a->getSymbol() + std::to_string(a->getIdx() + 1);
        if (params[a->getIdx()]) {
          generic += " " + where + "=" + label + " (RDKit: " + types[a->getIdx()] + ", no parameters)";
          types[a->getIdx()] = label;
        } else {
          missing += " " + where;
        }
      }
      if (!missing.empty()) {
        why = "UFF: no parameters for" + missing;
        types.clear();
        return nullptr;
      }
      why = "UFF generic types" + generic;
    }
    return std::unique_ptr<ForceFields::ForceField>(
        RDKit::UFF::constructForceField(mol, params, o.nonbonded_thresh, o.conf_id, ignore_interfrag));
  }
  RDKit::MMFF::MMFFMolProperties props(mol, ff == ForceField::mmff94s ? "MMFF94s" : "MMFF94");
  if (!props.isValid()) {
    std::string atoms = untyped_atoms(mol, props);
    why = std::string(name(ff)) + ": no parameters" + (atoms.empty() ? "" : " for " + atoms);
    return nullptr;
  }
  for (const auto* a : mol.atoms()) types.push_back(std::to_string(int(props.getMMFFAtomType(a->getIdx()))));
  return std::unique_ptr<ForceFields::ForceField>(
      RDKit::MMFF::constructForceField(mol, &props, o.nonbonded_thresh, o.conf_id, ignore_interfrag));
}

std::string name_of(const RDKit::ROMol& mol) {
  std::string name;
  mol.getPropIfPresent(RDKit::common_properties::_Name, name);
  return name;
}

// The molecule is one refinement can be asked for: within the atom limit (the set-up and BFGS grow with the
// square of the atoms) and coordinates a force field can start from (atoms at one point give NaN gradients and a
// "converged" NaN energy). Close atoms of a decoded molecule are left to the force field to pull apart.
void check_input(const RDKit::ROMol& mol, const RefineOptions& o) {
  if (mol.getNumConformers() == 0) fail_input(name_of(mol), "molecule has no coordinates to refine");
  if (std::string p = mol3d::atom_count_problem(mol.getNumAtoms(), o.max_atoms); !p.empty())
    fail_input(name_of(mol), p + "; not refined");
  if (std::string p = mol3d::coordinate_problem(mol, o.conf_id); !p.empty())
    fail_input(name_of(mol), "degenerate geometry: " + p + "; not refined");
}

// Nothing non-finite leaves refine(): a minimisation that diverged is an error, not a result.
void check_output(const RDKit::ROMol& mol, const RefineResult& r, int conf_id) {
  bool finite = std::isfinite(r.energy_before) && std::isfinite(r.energy_after);
  for (const auto& p : mol.getConformer(conf_id).getPositions())
    finite = finite && std::isfinite(p.x) && std::isfinite(p.y) && std::isfinite(p.z);
  if (!finite)
    fail_input(name_of(mol), std::string(name(r.force_field)) + " refinement gave non-finite energies or coordinates");
}

}  // namespace

const char* name(ForceField ff) {
  switch (ff) {
    case ForceField::mmff94: return "MMFF94";
    case ForceField::mmff94s: return "MMFF94s";
    case ForceField::uff: return "UFF";
  }
  return "?";
}

const char* name(RefineStatus status) {
  switch (status) {
    case RefineStatus::converged: return "converged";
    case RefineStatus::not_converged: return "not_converged";
    case RefineStatus::no_parameters: return "no_parameters";
  }
  return "?";
}

ForceField parse_force_field(const std::string& text) {
  std::string t;
  for (char c : text) t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t == "mmff94" || t == "mmff") return ForceField::mmff94;
  if (t == "mmff94s") return ForceField::mmff94s;
  if (t == "uff") return ForceField::uff;
  throw InputError("unknown force field '" + text + "' (expected mmff94, mmff94s or uff)");
}

double energy(RDKit::ROMol& mol, ForceField force_field, const RefineOptions& options) {
  check_input(mol, options);
  std::string why;
  std::vector<std::string> types;
  auto ff = build(mol, force_field, options, why, types);
  if (!ff) return kNaN;
  ff->initialize();
  return ff->calcEnergy();
}

RefineResult refine(RDKit::ROMol& mol, const RefineOptions& options) {
  check_input(mol, options);
  RefineResult result;
  result.force_field = options.force_field;
  std::string why;
  auto ff = build(mol, options.force_field, options, why, result.atom_types);
  if (!ff && options.force_field != ForceField::uff && options.uff_fallback) {
    std::string uff_why;
    ff = build(mol, ForceField::uff, options, uff_why, result.atom_types);
    if (ff) {
      result.force_field = ForceField::uff;
      why += "; UFF used" + (uff_why.empty() ? std::string() : " (" + uff_why + ")");
    } else {
      why += "; " + uff_why;
    }
  }
  result.message = why;
  if (!ff) {
    result.status = RefineStatus::no_parameters;
    result.energy_before = result.energy_after = kNaN;
    return result;
  }
  const unsigned max_iters = static_cast<unsigned>(std::max(options.max_iters, 0));  // -1 must not mean 4e9
  // MMFF: RDKit's terms, minimised over flat arrays with RDKit's arithmetic (mmff_flat.h).
  MmffTerms terms;
  if (result.force_field != ForceField::uff && mmff_terms(*ff, terms)) {
    auto& points = ff->positions();
    std::vector<double> pos(3 * points.size());
    for (std::size_t i = 0; i < points.size(); ++i)
      for (int k = 0; k < 3; ++k) pos[3 * i + k] = (*points[i])[k];
    // RDKit's contribs (one heap object per pair, several times the flat arrays) are not needed any more: freed
    // before BFGS allocates its (3N)^2 inverse Hessian, so the two never add up.
    ff.reset();
    result.energy_before = mmff_energy(terms, pos.data());
    int rc = mmff_minimize(terms, pos.data(), max_iters);
    RDKit::Conformer& conf = mol.getConformer(options.conf_id);
    for (unsigned i = 0; i < mol.getNumAtoms(); ++i)
      conf.setAtomPos(i, RDGeom::Point3D(pos[3 * i], pos[3 * i + 1], pos[3 * i + 2]));
    result.energy_after = mmff_energy(terms, pos.data());
    result.status = rc == 0 ? RefineStatus::converged : RefineStatus::not_converged;
    check_output(mol, result, options.conf_id);
    return result;
  }
  // The same steps as RDKit's ForceFieldsHelper::OptimizeMolecule (what MMFFOptimizeMolecule runs), with
  // the starting energy taken in between.
  ff->initialize();
  result.energy_before = ff->calcEnergy();
  int rc = ff->minimize(max_iters);
  result.energy_after = ff->calcEnergy();
  result.status = rc == 0 ? RefineStatus::converged : RefineStatus::not_converged;
  check_output(mol, result, options.conf_id);
  return result;
}

std::string atom_types_line(const RefineResult& result) {
  std::string s;
  for (const auto& t : result.atom_types) s += (s.empty() ? "" : " ") + t;
  return s;
}

std::string describe(const RefineResult& result) {
  std::string s = std::string(name(result.force_field)) + " " + name(result.status);
  return result.message.empty() ? s : s + " (" + result.message + ")";
}

}  // namespace bmx::forcefield

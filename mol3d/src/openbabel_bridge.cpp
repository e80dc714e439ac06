#include "openbabel_bridge.h"

#include <GraphMol/MolOps.h>
#include <GraphMol/PeriodicTable.h>
#include <openbabel/atom.h>
#include <openbabel/bond.h>
#include <openbabel/mol.h>
#include <openbabel/obconversion.h>
#include <openbabel/oberror.h>

#include <algorithm>
#include <mutex>
#include <sstream>

#include "bmx/core/util/error.h"

namespace bmx::mol3d {
namespace {

void quiet_openbabel() {
  static std::once_flag once;
  std::call_once(once, [] { OpenBabel::obErrorLog.StopLogging(); });
}

// Smallest neutral valence of the element that is >= `valence`, or -1 when none (hypervalent or metal).
int closing_valence(int z, int valence) {
  const auto& list = RDKit::PeriodicTable::getTable()->getValenceList(z);
  for (int v : list)
    if (v >= valence) return v;
  return -1;
}

// Order in which under-bonded atoms take a negative charge: the most electronegative first.
int anion_rank(int z) {
  switch (z) {
    case 8: return 0;
    case 16: case 34: return 1;
    case 9: case 17: case 35: case 53: return 2;
    case 7: return 3;
    case 6: return 4;
    default: return -1;
  }
}

bool is_alkali(int z) { return z == 3 || z == 11 || z == 19 || z == 37 || z == 55; }

}  // namespace

std::unique_ptr<RDKit::RWMol> perceive_bonds(const BareAtoms& atoms, std::optional<int> total_charge,
                                             const std::string& where, std::vector<std::string>& notes) {
  quiet_openbabel();
  const int n = static_cast<int>(atoms.atomic_numbers.size());
  OpenBabel::OBMol ob;
  ob.BeginModify();
  for (int i = 0; i < n; ++i) {
    OpenBabel::OBAtom* a = ob.NewAtom();
    a->SetAtomicNum(atoms.atomic_numbers[i]);
    a->SetVector(atoms.positions[i].x, atoms.positions[i].y, atoms.positions[i].z);
  }
  ob.EndModify();
  ob.ConnectTheDots();
  ob.PerceiveBondOrders();

  auto mol = std::make_unique<RDKit::RWMol>();
  auto* conf = new RDKit::Conformer(n);
  for (int i = 0; i < n; ++i) {
    auto* atom = new RDKit::Atom(atoms.atomic_numbers[i]);
    atom->setNoImplicit(true);  // bare coordinates: every atom present is all there is
    mol->addAtom(atom, false, true);
    conf->setAtomPos(i, atoms.positions[i]);
  }
  conf->set3D(true);
  mol->addConformer(conf, true);
  std::vector<int> valence(n, 0);
  for (auto it = ob.BeginBonds(); it != ob.EndBonds(); ++it) {
    OpenBabel::OBBond* b = *it;
    int i = b->GetBeginAtomIdx() - 1, j = b->GetEndAtomIdx() - 1, order = b->GetBondOrder();
    auto type = order == 2 ? RDKit::Bond::DOUBLE : order == 3 ? RDKit::Bond::TRIPLE : RDKit::Bond::SINGLE;
    if (order < 1 || order > 3) order = 1;
    mol->addBond(i, j, type);
    valence[i] += order;
    valence[j] += order;
  }

  // Cations that need no charge information: ammonium-like atoms with one bond too many, alkali ions.
  int charge = 0;
  std::vector<int> deficit(n, 0);
  std::vector<int> anion_candidates;
  for (int i = 0; i < n; ++i) {
    int z = atoms.atomic_numbers[i], v = valence[i];
    RDKit::Atom* atom = mol->getAtomWithIdx(i);
    if (((z == 7 || z == 15) && v == 4) || ((z == 8 || z == 16) && v == 3)) {
      atom->setFormalCharge(1);
      ++charge;
    } else if (is_alkali(z) && v == 0) {
      atom->setFormalCharge(1);
      ++charge;
    } else if (int close = closing_valence(z, v); close > v) {
      deficit[i] = close - v;
      if (deficit[i] == 1 && anion_rank(z) >= 0) anion_candidates.push_back(i);
    }
  }
  std::stable_sort(anion_candidates.begin(), anion_candidates.end(), [&](int a, int b) {
    return anion_rank(atoms.atomic_numbers[a]) < anion_rank(atoms.atomic_numbers[b]);
  });
  int anions_wanted = total_charge ? std::max(0, charge - *total_charge) : -1;
  std::vector<std::string> assigned;
  for (int i : anion_candidates) {
    bool take = anions_wanted < 0 ? atoms.atomic_numbers[i] != 6 : anions_wanted > 0;
    if (!take) continue;
    mol->getAtomWithIdx(i)->setFormalCharge(-1);
    deficit[i] = 0;
    --charge;
    if (anions_wanted > 0) --anions_wanted;
  }
  int radicals = 0;
  for (int i = 0; i < n; ++i) {
    RDKit::Atom* atom = mol->getAtomWithIdx(i);
    if (atom->getFormalCharge() != 0)
      assigned.push_back(atom->getSymbol() + std::to_string(i + 1) + (atom->getFormalCharge() > 0 ? "+" : "-"));
    if (deficit[i] > 0) {
      atom->setNumRadicalElectrons(deficit[i]);
      radicals += deficit[i];
    }
  }
  notes.push_back("bonds perceived from coordinates (Open Babel)");
  if (!assigned.empty()) {
    std::string s = "formal charges from valence";
    if (total_charge) s += " (total charge " + std::to_string(*total_charge) + " from the comment line)";
    s += ":";
    for (const auto& a : assigned) s += " " + a;
    notes.push_back(s);
  }
  if (total_charge && charge != *total_charge)
    notes.push_back("total charge " + std::to_string(charge) + " differs from the comment line's " +
                    std::to_string(*total_charge));
  if (radicals > 0) notes.push_back(std::to_string(radicals) + " radical electron(s) left on under-bonded atoms");
  try {
    RDKit::MolOps::sanitizeMol(*mol);
  } catch (const std::exception& e) {
    fail_input(where, std::string("perceived bonds do not sanitize: ") + e.what());
  }
  return mol;
}

bool openbabel_reads(const std::string& format) {
  quiet_openbabel();
  OpenBabel::OBConversion conv;
  return conv.SetInFormat(format.c_str());
}

struct OpenBabelRecords::Impl {
  OpenBabel::OBConversion in, out;
  std::istream* stream = nullptr;
  bool first = true;
};

OpenBabelRecords::OpenBabelRecords(std::istream& in, const std::string& format) : impl_(new Impl) {
  quiet_openbabel();
  if (!impl_->in.SetInFormat(format.c_str())) throw UnsupportedError("Open Babel has no input format '" + format + "'");
  impl_->out.SetOutFormat("mol");
  impl_->stream = &in;
}

OpenBabelRecords::~OpenBabelRecords() = default;

bool OpenBabelRecords::next(std::string& molblock, std::string& name, int& atoms, std::string& error) {
  molblock.clear();
  error.clear();
  OpenBabel::OBMol ob;
  bool ok = impl_->first ? impl_->in.Read(&ob, impl_->stream) : impl_->in.Read(&ob);
  impl_->first = false;
  if (!ok) return false;
  name = ob.GetTitle();
  atoms = static_cast<int>(ob.NumAtoms());
  molblock = impl_->out.WriteString(&ob);
  if (molblock.empty()) error = "Open Babel could not convert the record";
  return true;
}

std::string openbabel_to_molblock(const std::string& text, const std::string& format, std::string& error) {
  quiet_openbabel();
  OpenBabel::OBConversion conv;
  if (!conv.SetInAndOutFormats(format.c_str(), "mol")) {
    error = "Open Babel has no format '" + format + "'";
    return {};
  }
  OpenBabel::OBMol ob;
  if (!conv.ReadString(&ob, text)) {
    error = "Open Babel cannot read it either";
    return {};
  }
  if (ob.NumAtoms() == 0) {
    error = "no atoms";
    return {};
  }
  return conv.WriteString(&ob);
}

}  // namespace bmx::mol3d

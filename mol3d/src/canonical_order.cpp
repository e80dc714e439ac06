#include "bmx/mol3d/canonical_order.h"

#include <GraphMol/Canon.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/RWMol.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>
#include <GraphMol/new_canon.h>
#include <RDGeneral/versions.h>

#include <algorithm>
#include <string_view>
#include <utility>

#include "bmx/core/util/error.h"
#include "bmx/mol3d/testing.h"

namespace bmx::mol3d {

namespace {

RDKit::SmilesWriteParams writer_params() {
  RDKit::SmilesWriteParams params;
  params.doIsomericSmiles = false;
  params.doKekule = true;
  params.canonical = true;
  return params;
}

// MolToSmiles itself; it stores the output order on the molecule as a computed property.
CanonicalOrder via_mol_to_smiles(const RDKit::ROMol& mol) {
  CanonicalOrder out;
  out.smiles = RDKit::MolToSmiles(mol, writer_params());
  std::vector<unsigned int> order;
  bool found = false;
  try {
    found = mol.getPropIfPresent(RDKit::common_properties::_smilesAtomOutputOrder, order);
  } catch (const std::exception&) {  // stored as vector<int> by some RDKit versions
    std::vector<int> signed_order;
    found = mol.getPropIfPresent(RDKit::common_properties::_smilesAtomOutputOrder, signed_order);
    order.assign(signed_order.begin(), signed_order.end());
  }
  if (!found || order.size() != mol.getNumAtoms())
    throw InputError("RDKit did not report the SMILES atom output order");
  out.atom_order.assign(order.begin(), order.end());
  return out;
}

// One fragment? (MolOps::getMolFrags runs a boost DFS with allocations: a tenth of the time saved here.)
bool connected(const RDKit::ROMol& mol) {
  const unsigned int n = mol.getNumAtoms();
  std::vector<unsigned int> root(n);
  for (unsigned int i = 0; i < n; ++i) root[i] = i;
  auto find = [&](unsigned int a) {
    while (root[a] != a) a = root[a] = root[root[a]];
    return a;
  };
  unsigned int parts = n;
  for (const RDKit::Bond* b : mol.bonds()) {
    unsigned int x = find(b->getBeginAtomIdx()), y = find(b->getEndAtomIdx());
    if (x != y) {
      root[x] = y;
      --parts;
    }
  }
  return parts == 1;
}

// MolToSmiles (RDKit 2022.09) for one connected molecule, step by step with the same RDKit functions, minus
// the work whose results a canonical, Kekulé, non-isomeric SMILES never reads:
// - the copy skips conformers and molecule properties (getMolFrags copies everything);
// - stereo perception (assignStereochemistry, CIP ranks: ~20% of MolToSmiles) is skipped: it only sets chiral
//   codes, CIP labels and double-bond directions, which the writer prints only for isomeric SMILES. What the
//   traversal reads of it is the ring information, and only whether a bond is in a ring; fastFindRings gives
//   the same membership as the SSSR canonicalizeFragment would otherwise compute (every ring bond lies on a
//   ring of any cycle basis);
// - Kekulize is called only when something is aromatic: otherwise it only recomputes implicit valences that
//   updatePropertyCache has just computed.
// Molecules where molecule properties change the output (_doIsoSmiles, _canonicalRankingNumbers) go through
// MolToSmiles itself, as do multi-fragment ones.
bool direct(const RDKit::ROMol& mol, CanonicalOrder& out) {
  // The steps are those of RDKit 2022.09's MolToSmiles; another RDKit takes MolToSmiles itself.
  static const bool same_rdkit = std::string_view(RDKit::rdkitVersion).substr(0, 7) == "2022.09";
  const unsigned int n = mol.getNumAtoms();
  if (!same_rdkit || n == 0 || mol.hasProp(RDKit::common_properties::_doIsoSmiles) || mol.hasProp("_canonicalRankingNumbers"))
    return false;
  if (!connected(mol)) return false;

  RDKit::RWMol tmol(mol, /*quickCopy=*/true);
  for (RDKit::Atom* atom : tmol.atoms()) atom->updatePropertyCache(false);
  std::vector<unsigned int> ranks(n);
  RDKit::Canon::rankMolAtoms(tmol, ranks, /*breakTies=*/true, /*includeChirality=*/false, /*includeIsotopes=*/false);

  bool aromatic = false;
  for (const RDKit::Bond* bond : tmol.bonds()) aromatic = aromatic || bond->getIsAromatic();
  for (const RDKit::Atom* atom : tmol.atoms()) aromatic = aromatic || RDKit::isAromaticAtom(*atom);
  if (aromatic) RDKit::MolOps::Kekulize(tmol);
  tmol.setProp(RDKit::common_properties::_StereochemDone, 1, true);
  if (!tmol.getRingInfo()->isInitialized()) RDKit::MolOps::fastFindRings(tmol);

  int start = -1;
  unsigned int lowest = n + 1;
  for (unsigned int i = 0; i < n; ++i)
    if (ranks[i] < lowest) {
      lowest = ranks[i];
      start = int(i);
    }
  std::vector<RDKit::Canon::AtomColors> colors(n, RDKit::Canon::WHITE_NODE);
  RDKit::Canon::MolStack stack;
  stack.reserve(n + tmol.getNumBonds());
  RDKit::Canon::canonicalizeFragment(tmol, start, colors, ranks, stack);

  // SmilesWrite::FragmentSmilesConstruct's loop, ring-closure digits included.
  std::string& s = out.smiles;
  s.reserve(2 * n);
  out.atom_order.reserve(n);
  std::vector<std::pair<int, int>> open;  // ring number -> digit, for the rings open now (a handful)
  std::vector<int> to_erase;
  const RDKit::Bond* bond = nullptr;
  for (const RDKit::Canon::MolStackElem& e : stack) {
    switch (e.type) {
      case RDKit::Canon::MOL_STACK_ATOM:
        for (int r : to_erase) {
          auto it = std::find_if(open.begin(), open.end(), [r](const auto& o) { return o.first == r; });
          if (it != open.end()) open.erase(it);
        }
        to_erase.clear();
        s += RDKit::SmilesWrite::GetAtomSmiles(e.obj.atom, true, bond, false, false);
        out.atom_order.push_back(int(e.obj.atom->getIdx()));
        break;
      case RDKit::Canon::MOL_STACK_BOND:
        bond = e.obj.bond;
        s += RDKit::SmilesWrite::GetBondSmiles(bond, e.number, true, false);
        break;
      case RDKit::Canon::MOL_STACK_RING: {
        int digit;
        auto it = std::find_if(open.begin(), open.end(), [&](const auto& o) { return o.first == e.number; });
        if (it != open.end()) {
          digit = it->second;
          to_erase.push_back(e.number);
        } else {
          digit = 1;
          for (bool taken = true; taken;) {
            taken = false;
            for (const auto& [ring, d] : open)
              if (d == digit) {
                taken = true;
                ++digit;
                break;
              }
          }
          open.emplace_back(e.number, digit);
        }
        if (digit < 10) {
          s += char('0' + digit);
        } else if (digit < 100) {
          s += '%';
          s += std::to_string(digit);
        } else {
          s += "%(" + std::to_string(digit) + ")";
        }
        break;
      }
      case RDKit::Canon::MOL_STACK_BRANCH_OPEN:
        s += '(';
        break;
      case RDKit::Canon::MOL_STACK_BRANCH_CLOSE:
        s += ')';
        break;
      default:
        break;
    }
  }
  if (out.atom_order.size() != n) throw InputError("RDKit's canonical traversal did not reach every atom");
  return true;
}

}  // namespace

CanonicalOrder canonical_order(const RDKit::ROMol& mol) {
  try {
    CanonicalOrder out;
    if (direct(mol, out)) return out;
    return via_mol_to_smiles(mol);
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    throw InputError(std::string("cannot write canonical SMILES: ") + e.what());
  }
}

CanonicalOrder testing::canonical_order_via_mol_to_smiles(const RDKit::ROMol& mol) {
  try {
    return via_mol_to_smiles(mol);
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    throw InputError(std::string("cannot write canonical SMILES: ") + e.what());
  }
}

}  // namespace bmx::mol3d

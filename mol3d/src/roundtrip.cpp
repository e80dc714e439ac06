#include "bmx/mol3d/roundtrip.h"

#include <GraphMol/Chirality.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/RWMol.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "bmx/core/util/error.h"
#include "bmx/core/geom/superpose.h"

namespace bmx::mol3d {
namespace {

Vec3 position(const RDKit::Conformer& c, unsigned i) {
  const auto& p = c.getAtomPos(i);
  return {p.x, p.y, p.z};
}

double distance(const RDKit::Conformer& c, unsigned a, unsigned b) {
  return (c.getAtomPos(a) - c.getAtomPos(b)).length();
}

// Stereo labels perceived from the 3D coordinates, on a copy (the caller's molecule is left alone).
struct StereoLabels {
  std::vector<std::string> atom;  // CIP code per atom ("" when not a centre)
  std::vector<int> bond;          // per bond: 0 none, 1 E/trans, 2 Z/cis
};

StereoLabels perceive(const RDKit::ROMol& mol, bool from_3d = true) {
  RDKit::RWMol copy(mol);
  try {
    if (from_3d)
      RDKit::MolOps::assignStereochemistryFrom3D(copy, -1, /*replaceExistingTags=*/true);
    else
      RDKit::MolOps::assignStereochemistry(copy, /*cleanIt=*/true, /*force=*/true);
  } catch (const std::exception&) {
    // Perception failing (odd valences in a decoded molecule) means no stereo information to compare.
  }
  StereoLabels s;
  for (const auto* a : copy.atoms()) {
    std::string cip;
    a->getPropIfPresent(RDKit::common_properties::_CIPCode, cip);
    s.atom.push_back(cip);
  }
  for (const auto* b : copy.bonds()) {
    auto st = b->getStereo();
    s.bond.push_back(st == RDKit::Bond::STEREOE || st == RDKit::Bond::STEREOTRANS ? 1
                     : st == RDKit::Bond::STEREOZ || st == RDKit::Bond::STEREOCIS ? 2 : 0);
  }
  return s;
}

}  // namespace

RoundTripMetrics compare_round_trip(const RDKit::ROMol& input, const RDKit::ROMol& decoded,
                                    const std::vector<int>& atom_order, bool decoded_as_tagged) {
  const unsigned n = input.getNumAtoms();
  if (decoded.getNumAtoms() != n || atom_order.size() != n)
    throw InputError("round trip: input has " + std::to_string(n) + " atoms, decoded molecule " +
                     std::to_string(decoded.getNumAtoms()));
  if (!input.getNumConformers() || !decoded.getNumConformers())
    throw InputError("round trip: a molecule has no coordinates");
  const auto& ci = input.getConformer();
  const auto& cd = decoded.getConformer();
  std::vector<int> to_decoded(n, -1);  // input atom -> decoded atom
  for (unsigned k = 0; k < n; ++k) to_decoded.at(atom_order[k]) = static_cast<int>(k);

  RoundTripMetrics m;
  std::vector<Vec3> heavy_in, heavy_dec, all_in, all_dec;
  for (unsigned k = 0; k < n; ++k) {
    unsigned i = atom_order[k];
    all_in.push_back(position(ci, i));
    all_dec.push_back(position(cd, k));
    if (input.getAtomWithIdx(i)->getAtomicNum() > 1) {
      heavy_in.push_back(all_in.back());
      heavy_dec.push_back(all_dec.back());
    }
  }
  m.all_rmsd = superposed_rmsd(all_dec, all_in);
  m.heavy_rmsd = heavy_in.empty() ? m.all_rmsd : superposed_rmsd(heavy_dec, heavy_in);

  double sum = 0.0;
  for (const auto* b : input.bonds()) {
    int a = to_decoded[b->getBeginAtomIdx()], c = to_decoded[b->getEndAtomIdx()];
    double dev = std::abs(distance(ci, b->getBeginAtomIdx(), b->getEndAtomIdx()) - distance(cd, a, c));
    sum += dev;
    m.bond_dev_max = std::max(m.bond_dev_max, dev);
    const auto* db = decoded.getBondBetweenAtoms(a, c);
    if (!db || db->getBondTypeAsDouble() != b->getBondTypeAsDouble()) m.same_graph = false;
  }
  if (decoded.getNumBonds() != input.getNumBonds()) m.same_graph = false;
  m.bond_dev_mean = input.getNumBonds() ? sum / input.getNumBonds() : 0.0;

  StereoLabels si = perceive(input), sd = perceive(decoded, !decoded_as_tagged);
  for (unsigned i = 0; i < n; ++i) {
    if (si.atom[i].empty()) continue;
    ++m.stereo_centres;
    if (sd.atom[to_decoded[i]] == si.atom[i]) ++m.stereo_kept;
  }
  for (const auto* b : input.bonds()) {
    int label = si.bond[b->getIdx()];
    if (!label) continue;
    ++m.stereo_centres;
    const auto* db = decoded.getBondBetweenAtoms(to_decoded[b->getBeginAtomIdx()], to_decoded[b->getEndAtomIdx()]);
    if (db && sd.bond[db->getIdx()] == label) ++m.stereo_kept;
  }
  return m;
}

}  // namespace bmx::mol3d

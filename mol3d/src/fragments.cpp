#include "bmx/mol3d/fragments.h"

#include <GraphMol/Conformer.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/PeriodicTable.h>

#include <algorithm>
#include <vector>

namespace bmx::mol3d {

void separate_fragments(RDKit::ROMol& mol, double margin) {
  std::vector<int> fragment_of;
  const unsigned fragments = RDKit::MolOps::getMolFrags(mol, fragment_of);
  if (fragments < 2 || mol.getNumConformers() == 0) return;
  RDKit::Conformer& conf = mol.getConformer();
  const unsigned n = mol.getNumAtoms();
  const auto* table = RDKit::PeriodicTable::getTable();
  std::vector<double> radius(n);
  for (unsigned i = 0; i < n; ++i) radius[i] = table->getRcovalent(mol.getAtomWithIdx(i)->getAtomicNum());
  // Fragments in the order of their first atom (token order); each is moved off those placed before it.
  std::vector<int> order;
  std::vector<bool> seen(fragments, false);
  for (unsigned i = 0; i < n; ++i)
    if (!seen[fragment_of[i]]) {
      seen[fragment_of[i]] = true;
      order.push_back(fragment_of[i]);
    }
  std::vector<unsigned> placed;
  for (int f : order) {
    std::vector<unsigned> atoms;
    for (unsigned i = 0; i < n; ++i)
      if (fragment_of[i] == f) atoms.push_back(i);
    if (!placed.empty()) {
      // Away from the atoms placed so far: along the line between the centroids (or +x when they coincide),
      // by the largest shortfall each round; each round gains at least 0.05 Å on every pair that falls short.
      RDGeom::Point3D from, to;
      for (unsigned i : placed) from += conf.getAtomPos(i);
      for (unsigned i : atoms) to += conf.getAtomPos(i);
      from /= double(placed.size());
      to /= double(atoms.size());
      RDGeom::Point3D dir = to - from;
      if (dir.length() < 1e-6) dir = RDGeom::Point3D(1, 0, 0);
      dir.normalize();
      for (int round = 0; round < 100000; ++round) {
        double shortfall = 0;
        for (unsigned a : atoms)
          for (unsigned b : placed) {
            const double need = radius[a] + radius[b] + margin;
            shortfall = std::max(shortfall, need - (conf.getAtomPos(a) - conf.getAtomPos(b)).length());
          }
        if (shortfall <= 0) break;
        const RDGeom::Point3D step = dir * std::max(shortfall, 0.05);
        for (unsigned a : atoms) conf.setAtomPos(a, conf.getAtomPos(a) + step);
      }
    }
    placed.insert(placed.end(), atoms.begin(), atoms.end());
  }
}

}  // namespace bmx::mol3d

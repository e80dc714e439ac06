#include "bmx/mol3d/input_limits.h"

#include <GraphMol/Conformer.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <tuple>

namespace bmx::mol3d {

std::string atom_count_problem(std::size_t atoms, int max_atoms) {
  if (max_atoms <= 0 || atoms <= std::size_t(max_atoms)) return {};
  return std::to_string(atoms) + " atoms, more than the limit of " + std::to_string(max_atoms) +
         " (--max-atoms raises it)";
}

std::string coordinate_problem(const std::vector<RDGeom::Point3D>& x) {
  const std::size_t n = x.size();
  char buf[160];
  for (std::size_t i = 0; i < n; ++i)
    for (double v : {x[i].x, x[i].y, x[i].z}) {
      if (!std::isfinite(v)) return "atom " + std::to_string(i + 1) + " has a non-finite coordinate";
      if (std::abs(v) > kMaxCoordinate) {
        std::snprintf(buf, sizeof buf, "atom %zu has a coordinate of %g Å (beyond ±%g Å)", i + 1, v, kMaxCoordinate);
        return buf;
      }
    }
  if (n < 2) return {};
  bool one_point = true;
  for (std::size_t i = 1; i < n && one_point; ++i) one_point = (x[i] - x[0]).length() < kMinAtomDistance;
  if (one_point) return "all " + std::to_string(n) + " atoms at one point";
  return {};
}

std::string geometry_problem(const std::vector<RDGeom::Point3D>& x) {
  if (std::string p = coordinate_problem(x); !p.empty()) return p;
  const std::size_t n = x.size();
  char buf[160];
  // Coincident atoms: binned on a grid of kMinAtomDistance cells, a pair that close lies in the same or a
  // neighbouring cell, found by binary search in the sorted cell list (no comparison of every pair).
  using Cell = std::tuple<std::int64_t, std::int64_t, std::int64_t>;
  auto cell_of = [&](std::size_t i) {
    return Cell{std::int64_t(std::floor(x[i].x / kMinAtomDistance)), std::int64_t(std::floor(x[i].y / kMinAtomDistance)),
                std::int64_t(std::floor(x[i].z / kMinAtomDistance))};
  };
  std::vector<std::pair<Cell, std::size_t>> cells(n);
  for (std::size_t i = 0; i < n; ++i) cells[i] = {cell_of(i), i};
  std::sort(cells.begin(), cells.end());
  for (std::size_t i = 0; i < n; ++i) {
    const auto [cx, cy, cz] = cell_of(i);
    for (std::int64_t dx = -1; dx <= 1; ++dx)
      for (std::int64_t dy = -1; dy <= 1; ++dy)
        for (std::int64_t dz = -1; dz <= 1; ++dz) {
          const Cell c{cx + dx, cy + dy, cz + dz};
          for (auto it = std::lower_bound(cells.begin(), cells.end(), std::make_pair(c, std::size_t(0)));
               it != cells.end() && it->first == c; ++it) {
            const std::size_t j = it->second;
            if (j <= i) continue;
            const double d = (x[i] - x[j]).length();
            if (d < kMinAtomDistance) {
              std::snprintf(buf, sizeof buf, "atoms %zu and %zu coincide (%.3f Å apart)", i + 1, j + 1, d);
              return buf;
            }
          }
        }
  }
  return {};
}

std::string coordinate_problem(const RDKit::ROMol& mol, int conf_id) {
  if (mol.getNumConformers() == 0) return "no coordinates";
  return coordinate_problem(mol.getConformer(conf_id).getPositions());
}

std::string geometry_problem(const RDKit::ROMol& mol, int conf_id) {
  if (mol.getNumConformers() == 0) return "no coordinates";
  const RDKit::Conformer& conf = mol.getConformer(conf_id);
  std::string problem = geometry_problem(conf.getPositions());
  if (!problem.empty()) return problem;
  for (const auto* b : mol.bonds()) {
    const unsigned i = std::min(b->getBeginAtomIdx(), b->getEndAtomIdx()), j = std::max(b->getBeginAtomIdx(), b->getEndAtomIdx());
    const double d = (conf.getAtomPos(i) - conf.getAtomPos(j)).length();
    if (d < kMinBondLength) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "bonded atoms %u and %u are %.3f Å apart (a bond is at least %g Å)", i + 1, j + 1,
                    d, kMinBondLength);
      return buf;
    }
  }
  return {};
}

}  // namespace bmx::mol3d

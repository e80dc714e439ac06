#include "bmx/prot3d/backbone.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace bmx::prot3d {

std::string BackboneChain::sequence() const {
  std::string s;
  s.reserve(residues.size());
  for (const Residue& r : residues) s += r.one_letter;
  return s;
}

std::vector<int> BackboneChain::observed_positions() const {
  std::vector<int> p;
  for (std::size_t i = 0; i < residues.size(); ++i)
    if (residues[i].observed) p.push_back(static_cast<int>(i));
  return p;
}

std::string BackboneChain::observed_sequence() const {
  std::string s;
  for (const Residue& r : residues)
    if (r.observed) s += r.one_letter;
  return s;
}

bool plausible_coordinate(const Vec3& p) {
  for (double x : p)
    if (!std::isfinite(x) || std::fabs(x) > kMaxCoordinate) return false;
  return true;
}

std::string collapsed_points_problem(const std::vector<Vec3>& points) {
  const Vec3* first = nullptr;
  std::size_t n = 0;
  double far = 0;
  for (const Vec3& p : points) {
    if (std::isnan(p[0]) || std::isnan(p[1]) || std::isnan(p[2])) continue;
    if (!first) first = &p;
    ++n;
    far = std::max(far, std::sqrt((p[0] - (*first)[0]) * (p[0] - (*first)[0]) + (p[1] - (*first)[1]) * (p[1] - (*first)[1]) +
                                  (p[2] - (*first)[2]) * (p[2] - (*first)[2])));
  }
  if (n < 2 || far > kCollapsedTolerance) return {};
  char at[96];
  std::snprintf(at, sizeof at, "(%.3f, %.3f, %.3f)", (*first)[0], (*first)[1], (*first)[2]);
  return "all " + std::to_string(n) + " backbone atoms lie at one point " + at + ": degenerate coordinates";
}

std::string chain_label(const std::string& chain) { return chain.empty() || chain == " " ? "_" : chain; }

}  // namespace bmx::prot3d

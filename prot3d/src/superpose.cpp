#include "bmx/prot3d/superpose.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <gemmi/qcp.hpp>

namespace bmx::prot3d {
namespace {

std::vector<gemmi::Position> to_positions(const std::vector<Vec3>& v) {
  std::vector<gemmi::Position> p;
  p.reserve(v.size());
  for (const Vec3& x : v) p.emplace_back(x[0], x[1], x[2]);
  return p;
}

void check_sizes(const std::vector<Vec3>& a, const std::vector<Vec3>& b) {
  if (a.size() != b.size() || a.empty())
    throw std::invalid_argument("superposition needs two non-empty position lists of equal length");
}

}  // namespace

double superposed_rmsd(const std::vector<Vec3>& model, const std::vector<Vec3>& reference) {
  check_sizes(model, reference);
  const auto m = to_positions(model), r = to_positions(reference);
  return gemmi::calculate_rmsd_of_superposed_positions(r.data(), m.data(), m.size(), nullptr);
}

double tm_score(const std::vector<Vec3>& model, const std::vector<Vec3>& reference) {
  check_sizes(model, reference);
  const auto m = to_positions(model), r = to_positions(reference);
  const int L = static_cast<int>(m.size());
  const double d0 = L > 21 ? std::max(0.5, 1.24 * std::cbrt(L - 15.0) - 1.8) : 0.5;
  const double d0_search = std::clamp(d0, 4.5, 8.0);
  std::vector<double> d(L);
  std::vector<gemmi::Position> sm, sr;

  // Superposes on the residues `sel`, scores all residues; fills d with the distances.
  auto score_on = [&](const std::vector<int>& sel) {
    sm.clear();
    sr.clear();
    for (int i : sel) {
      sm.push_back(m[i]);
      sr.push_back(r[i]);
    }
    const gemmi::SupResult s = gemmi::superpose_positions(sr.data(), sm.data(), sm.size(), nullptr);
    double tm = 0;
    for (int i = 0; i < L; ++i) {
      d[i] = s.transform.apply(m[i]).dist(r[i]);
      tm += 1.0 / (1.0 + (d[i] / d0) * (d[i] / d0));
    }
    return tm / L;
  };

  double best = 0;
  const int min_frag = std::min(L, 4);
  for (int frag = L; frag >= min_frag; frag /= 2) {
    const int step = std::max(1, frag / 4);
    for (int start = 0; start + frag <= L; start += step) {
      std::vector<int> sel(frag);
      for (int k = 0; k < frag; ++k) sel[k] = start + k;
      best = std::max(best, score_on(sel));
      // Refine: superpose on the residues that came within the search radius, until the set stops changing.
      for (int iter = 0; iter < 20; ++iter) {
        std::vector<int> next;
        for (double cut = d0_search; next.size() < 3 && static_cast<int>(next.size()) < L; cut += 0.5) {
          next.clear();
          for (int i = 0; i < L; ++i)
            if (d[i] < cut) next.push_back(i);
          if (cut > 100) break;
        }
        if (next.size() < 3 || next == sel) break;
        sel = next;
        best = std::max(best, score_on(sel));
      }
      if (frag == L) break;
    }
    if (frag == min_frag) break;
  }
  return best;
}

}  // namespace bmx::prot3d

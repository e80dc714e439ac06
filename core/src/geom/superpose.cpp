#include "bmx/core/geom/superpose.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace bmx {
namespace {

using Points = Eigen::Matrix<double, Eigen::Dynamic, 3>;

Points to_points(const std::vector<Vec3>& v) {
  Points p(v.size(), 3);
  for (size_t i = 0; i < v.size(); ++i) p.row(i) << v[i][0], v[i][1], v[i][2];
  return p;
}

void check_sizes(const std::vector<Vec3>& a, const std::vector<Vec3>& b, const char* what) {
  if (a.size() != b.size() || a.empty())
    throw std::invalid_argument(std::string(what) + ": point sets differ in size or are empty");
}

// `a` moved by the proper rotation + translation that best fits its rows `sel` onto the same rows of `b`.
Points superposed(const Points& a, const Points& b, const std::vector<int>& sel) {
  Eigen::RowVector3d ca = Eigen::RowVector3d::Zero(), cb = Eigen::RowVector3d::Zero();
  for (int i : sel) {
    ca += a.row(i);
    cb += b.row(i);
  }
  ca /= double(sel.size());
  cb /= double(sel.size());
  Eigen::Matrix3d h = Eigen::Matrix3d::Zero();
  for (int i : sel) h += (a.row(i) - ca).transpose() * (b.row(i) - cb);
  Eigen::JacobiSVD<Eigen::Matrix3d> svd(h, Eigen::ComputeFullU | Eigen::ComputeFullV);
  Eigen::Matrix3d d = Eigen::Matrix3d::Identity();
  if ((svd.matrixV() * svd.matrixU().transpose()).determinant() < 0) d(2, 2) = -1;
  const Eigen::Matrix3d r = svd.matrixV() * d * svd.matrixU().transpose();
  return ((a.rowwise() - ca) * r.transpose()).rowwise() + cb;
}

std::vector<int> all_rows(int n) {
  std::vector<int> sel(n);
  for (int i = 0; i < n; ++i) sel[i] = i;
  return sel;
}

}  // namespace

double superposed_rmsd(const std::vector<Vec3>& mobile, const std::vector<Vec3>& target) {
  check_sizes(mobile, target, "superposed_rmsd");
  const Points a = to_points(mobile), b = to_points(target);
  return std::sqrt((superposed(a, b, all_rows(int(a.rows()))) - b).rowwise().squaredNorm().mean());
}

double tm_score(const std::vector<Vec3>& model, const std::vector<Vec3>& target) {
  check_sizes(model, target, "tm_score");
  const Points m = to_points(model), t = to_points(target);
  const int L = static_cast<int>(m.rows());
  const double d0 = L > 21 ? std::max(0.5, 1.24 * std::cbrt(L - 15.0) - 1.8) : 0.5;
  const double d0_search = std::clamp(d0, 4.5, 8.0);
  Eigen::VectorXd d(L);
  // Superposes on the residues `sel`, scores all of them; leaves their distances in d.
  auto score_on = [&](const std::vector<int>& sel) {
    d = (superposed(m, t, sel) - t).rowwise().norm();
    return (1.0 / (1.0 + (d.array() / d0).square())).sum() / L;
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
            if (d(i) < cut) next.push_back(i);
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

}  // namespace bmx

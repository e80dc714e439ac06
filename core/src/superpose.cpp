#include "bmx/core/superpose.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace bmx {
namespace {

using Points = Eigen::Matrix<double, Eigen::Dynamic, 3>;

Points to_points(const std::vector<Vec3>& v) {
  Points p(v.size(), 3);
  for (size_t i = 0; i < v.size(); ++i) p.row(i) << v[i][0], v[i][1], v[i][2];
  return p;
}

// Rotation R (proper) minimising |R (a - ca) - (b - cb)| over the rows selected by `w` (weights 0/1).
Eigen::Matrix3d kabsch(const Points& a, const Points& b, const Eigen::VectorXd& w, Eigen::RowVector3d& ca,
                       Eigen::RowVector3d& cb) {
  double sw = w.sum();
  ca = (w.transpose() * a) / sw;
  cb = (w.transpose() * b) / sw;
  Eigen::Matrix3d h = (a.rowwise() - ca).transpose() * w.asDiagonal() * (b.rowwise() - cb);
  Eigen::JacobiSVD<Eigen::Matrix3d> svd(h, Eigen::ComputeFullU | Eigen::ComputeFullV);
  Eigen::Matrix3d d = Eigen::Matrix3d::Identity();
  if ((svd.matrixV() * svd.matrixU().transpose()).determinant() < 0) d(2, 2) = -1;
  return svd.matrixV() * d * svd.matrixU().transpose();
}

}  // namespace

Superposition superpose(const std::vector<Vec3>& mobile, const std::vector<Vec3>& target) {
  if (mobile.size() != target.size() || mobile.empty())
    throw std::invalid_argument("superpose: point sets differ in size or are empty");
  Points a = to_points(mobile), b = to_points(target);
  Eigen::RowVector3d ca, cb;
  Eigen::Matrix3d r = kabsch(a, b, Eigen::VectorXd::Ones(a.rows()), ca, cb);
  Points moved = ((a.rowwise() - ca) * r.transpose()).rowwise() + cb;
  Superposition s;
  s.rmsd = std::sqrt((moved - b).rowwise().squaredNorm().mean());
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) s.rotation[i * 3 + j] = r(i, j);
    s.mobile_centroid[i] = ca(i);
    s.target_centroid[i] = cb(i);
  }
  return s;
}

double tm_score(const std::vector<Vec3>& model, const std::vector<Vec3>& target) {
  if (model.size() != target.size() || model.empty())
    throw std::invalid_argument("tm_score: point sets differ in size or are empty");
  const int n = static_cast<int>(model.size());
  const double d0 = n > 21 ? 1.24 * std::cbrt(n - 15.0) - 1.8 : 0.5;
  Points a = to_points(model), b = to_points(target);
  double best = 0.0;
  auto score_of = [&](const Eigen::VectorXd& w, Eigen::VectorXd* dist) {
    Eigen::RowVector3d ca, cb;
    Eigen::Matrix3d r = kabsch(a, b, w, ca, cb);
    Points moved = ((a.rowwise() - ca) * r.transpose()).rowwise() + cb;
    *dist = (moved - b).rowwise().norm();
    return (1.0 / (1.0 + (dist->array() / d0).square())).sum() / n;
  };
  // Seeds: fragments of several lengths; each is refined by iterating on the residues within d0-based cutoffs.
  for (int len : {n, std::max(4, n / 2), std::max(4, n / 4), 4}) {
    if (len > n) continue;
    int step = std::max(1, len / 2);
    for (int start = 0; start + len <= n; start += step) {
      Eigen::VectorXd w = Eigen::VectorXd::Zero(n);
      w.segment(start, len).setOnes();
      Eigen::VectorXd dist;
      for (int it = 0; it < 20; ++it) {
        double s = score_of(w, &dist);
        best = std::max(best, s);
        Eigen::VectorXd next = Eigen::VectorXd::Zero(n);
        for (double cut = d0; next.sum() < 3 && cut < 100; cut += 0.5)
          for (int i = 0; i < n; ++i) next(i) = dist(i) < cut ? 1.0 : 0.0;
        if (next == w) break;
        w = next;
      }
    }
  }
  return best;
}

}  // namespace bmx

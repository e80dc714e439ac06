// GCPNet input features (spec §2): node scalars/vectors, the CA k-NN graph and its edge features. Computed in
// float64 from the filled backbone (the angles are cheap and this keeps them exact), then cast.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "gcp_internal.h"

namespace bmx::prot3d {

namespace {

using V3 = Vec3;
using namespace bmx::vec3;
// x / max(|x|, 1e-12) (torch F.normalize)
V3 fnormalize(const V3& a) { return scale(a, 1.0 / std::max(norm(a), 1e-12)); }
// x / |x| with 0/0 -> 0
V3 unit_or_zero(const V3& a) {
  const double n = norm(a);
  V3 u{a[0] / n, a[1] / n, a[2] / n};
  for (double& c : u)
    if (std::isnan(c)) c = 0.0;
  return u;
}

// graphein dihedral: n1, n2 deliberately not normalised.
double dihedral(const V3& a, const V3& b, const V3& c, const V3& d) {
  const double eps = 1e-7;
  const V3 bc = fnormalize(sub(b, c));
  const V3 n1 = cross(fnormalize(sub(a, b)), bc);
  const V3 n2 = cross(bc, fnormalize(sub(c, d)));
  double x = std::clamp(dot(n1, n2), -1 + eps, 1 - eps);
  if (std::abs(x) < eps) x = eps;
  const double y = dot(cross(n1, bc), n2);
  return std::atan2(y, x);
}

double finite_or_zero(double v) { return std::isfinite(v) ? v : 0.0; }

int onehot_index(char letter) {
  static const std::string alphabet = "ABCDEFGHIJKLMNPQRSTVWXYZ";  // graphein STANDARD_AMINO_ACIDS
  static const std::string standard = "ACDEFGHIKLMNPQRSTVWY";
  if (standard.find(letter) == std::string::npos) letter = 'X';  // §1 step 8: U, O, B, Z and unknowns are X
  return static_cast<int>(alphabet.find(letter));
}

}  // namespace

GcpFeatures gcp_features(const BackboneChain& chain, int k, at::ScalarType dtype) {
  const int64_t L = static_cast<int64_t>(chain.coords.size());
  std::vector<V3> N(L), CA(L), C(L);
  for (int64_t i = 0; i < L; ++i) {
    N[i] = chain.coords[i][0];
    CA[i] = chain.coords[i][1];
    C[i] = chain.coords[i][2];
  }
  auto f64 = at::TensorOptions().dtype(at::kDouble);
  at::Tensor h = at::zeros({L, 49}, f64);
  double* hp = h.data_ptr<double>();
  std::vector<double> alpha(L, 0.0), kappa(L, 0.0), phi(L, 0.0), psi(L, 0.0), omega(L, 0.0);
  for (int64_t i = 1; i + 2 < L; ++i) alpha[i] = dihedral(CA[i - 1], CA[i], CA[i + 1], CA[i + 2]);
  for (int64_t i = 2; i + 2 < L; ++i) {
    const V3 ba = sub(CA[i], CA[i + 2]), bc = sub(CA[i], CA[i - 2]);
    kappa[i] = M_PI - std::acos(dot(ba, bc) / (norm(ba) * norm(bc)));  // no clamping (upstream); NaN -> 0 below
  }
  for (int64_t i = 0; i < L; ++i) {
    if (i >= 1) phi[i] = dihedral(C[i - 1], N[i], CA[i], C[i]);
    if (i + 1 < L) {
      psi[i] = dihedral(N[i], CA[i], C[i], N[i + 1]);
      omega[i] = dihedral(CA[i], C[i], N[i + 1], CA[i + 1]);
    }
  }
  for (int64_t i = 0; i < L; ++i) {
    double* r = hp + i * 49;
    for (int f = 0; f < 8; ++f) {
      const double freq = std::pow(1e-4, f / 7.0);
      r[f] = std::sin(double(i) * freq);
      r[8 + f] = std::cos(double(i) * freq);
    }
    const char letter = i < static_cast<int64_t>(chain.residues.size()) ? chain.residues[i].one_letter : 'X';
    r[16 + onehot_index(letter)] = 1.0;
    const double ang[5] = {alpha[i], kappa[i], phi[i], psi[i], omega[i]};
    for (int a = 0; a < 5; ++a) {
      r[39 + 2 * a] = finite_or_zero(std::cos(ang[a]));
      r[40 + 2 * a] = finite_or_zero(std::sin(ang[a]));
    }
  }
  at::Tensor chi = at::zeros({L, 2, 3}, f64);
  double* cp = chi.data_ptr<double>();
  for (int64_t i = 0; i < L; ++i) {
    if (i + 1 < L) {
      const V3 u = unit_or_zero(sub(CA[i + 1], CA[i]));
      std::copy(u.begin(), u.end(), cp + i * 6);
    }
    if (i >= 1) {
      const V3 u = unit_or_zero(sub(CA[i - 1], CA[i]));
      std::copy(u.begin(), u.end(), cp + i * 6 + 3);
    }
  }

  // k-NN on CA without self loops; ties go to the lower index.
  const int64_t kk = std::max<int64_t>(0, std::min<int64_t>(k, L - 1));
  const int64_t E = L * kk;
  at::Tensor ei = at::empty({2, E}, at::TensorOptions().dtype(at::kLong));
  at::Tensor e = at::empty({E, 1}, f64), xi = at::empty({E, 1, 3}, f64);
  int64_t* src = ei.data_ptr<int64_t>();
  int64_t* dst = src + E;
  double* ep = e.data_ptr<double>();
  double* xp = xi.data_ptr<double>();
  std::vector<double> d(L);
  std::vector<int64_t> order(L);
  for (int64_t i = 0; i < L; ++i) {
    for (int64_t j = 0; j < L; ++j) d[j] = j == i ? INFINITY : norm(sub(CA[j], CA[i]));
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + kk, order.end(), [&](int64_t a, int64_t b) {
      return d[a] < d[b] || (d[a] == d[b] && a < b);
    });
    for (int64_t n = 0; n < kk; ++n) {
      const int64_t j = order[n], idx = i * kk + n;
      src[idx] = j;
      dst[idx] = i;
      const V3 diff = sub(CA[j], CA[i]);
      ep[idx] = norm(diff);
      const V3 u = unit_or_zero(diff);
      std::copy(u.begin(), u.end(), xp + idx * 3);
    }
  }
  at::Tensor pos = at::empty({L, 3}, f64);
  for (int64_t i = 0; i < L; ++i) std::copy(CA[i].begin(), CA[i].end(), pos.data_ptr<double>() + i * 3);

  GcpFeatures f;
  f.h = h.to(dtype);
  f.chi = chi.to(dtype);
  f.edge_index = ei;
  f.edge_e = e.to(dtype);
  f.edge_xi = xi.to(dtype);
  f.pos = pos;  // float64: frames and RBFs are computed from it in float64
  return f;
}

}  // namespace bmx::prot3d

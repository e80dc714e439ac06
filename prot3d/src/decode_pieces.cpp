#include "bmx/prot3d/decode_pieces.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "bmx/core/util/error.h"

namespace bmx::prot3d {
namespace {

// Rotation r and translation t with r * mobile + t closest to target (least squares, proper rotation).
void kabsch(const std::vector<Vec3>& mobile, const std::vector<Vec3>& target, double r[3][3], Vec3& t) {
  const std::size_t n = mobile.size();
  Vec3 cm{0, 0, 0}, ct{0, 0, 0};
  for (std::size_t i = 0; i < n; ++i)
    for (int k = 0; k < 3; ++k) {
      cm[k] += mobile[i][k] / double(n);
      ct[k] += target[i][k] / double(n);
    }
  auto h = at::zeros({3, 3}, at::kDouble);
  auto ha = h.accessor<double, 2>();
  for (std::size_t i = 0; i < n; ++i)
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 3; ++b) ha[a][b] += (mobile[i][a] - cm[a]) * (target[i][b] - ct[b]);
  auto [u, s, vh] = at::linalg_svd(h);
  const at::Tensor v = vh.transpose(0, 1);
  const double d = at::det(at::matmul(v, u.transpose(0, 1))).item<double>() < 0 ? -1.0 : 1.0;
  const at::Tensor dm = at::diag(at::tensor({1.0, 1.0, d}, at::kDouble));
  const at::Tensor rot = at::matmul(at::matmul(v, dm), u.transpose(0, 1)).contiguous();
  auto ra = rot.accessor<double, 2>();
  for (int a = 0; a < 3; ++a) {
    t[a] = ct[a];
    for (int b = 0; b < 3; ++b) {
      r[a][b] = ra[a][b];
      t[a] -= ra[a][b] * cm[b];
    }
  }
}

Vec3 apply(const double r[3][3], const Vec3& t, const Vec3& p) {
  Vec3 q;
  for (int a = 0; a < 3; ++a) q[a] = r[a][0] * p[0] + r[a][1] * p[1] + r[a][2] * p[2] + t[a];
  return q;
}

}  // namespace

PiecewiseDecoding decode_in_pieces(const GcpVqvae& model, const std::vector<int>& tokens, int overlap,
                                   DecodeArithmetic arithmetic) {
  const std::size_t W = static_cast<std::size_t>(model.max_length()), n = tokens.size();
  PiecewiseDecoding out;
  if (n <= W) {
    out.decoding = model.decode(tokens, arithmetic);
    return out;
  }
  if (overlap < 1 || static_cast<std::size_t>(overlap) >= W)
    throw InputError("the overlap of decoded pieces must be in [1, " + std::to_string(W) + ")");
  const std::size_t stride = W - static_cast<std::size_t>(overlap);
  std::vector<std::size_t> starts;
  for (std::size_t s = 0;; s += stride) {
    if (s + W >= n) {
      starts.push_back(n - W);  // the last piece ends at the chain's end (its overlap may be longer)
      break;
    }
    starts.push_back(s);
  }
  auto& chain = out.decoding.n_ca_c;
  for (std::size_t p = 0; p < starts.size(); ++p) {
    const std::size_t b = starts[p];
    const Decoding d = model.decode(std::vector<int>(tokens.begin() + b, tokens.begin() + b + W), arithmetic);
    if (p == 0) {
      chain = d.n_ca_c;
      continue;
    }
    const std::size_t shared = chain.size() - b;  // residues b .. chain.size()-1 are in both
    std::vector<Vec3> mobile, target;
    for (std::size_t k = 0; k < shared; ++k)
      for (int a = 0; a < 3; ++a) {
        mobile.push_back(d.n_ca_c[k][a]);
        target.push_back(chain[b + k][a]);
      }
    double r[3][3];
    Vec3 t;
    kabsch(mobile, target, r, t);
    double sq = 0;
    for (std::size_t i = 0; i < mobile.size(); ++i) {
      const Vec3 m = apply(r, t, mobile[i]);
      for (int a = 0; a < 3; ++a) sq += (m[a] - target[i][a]) * (m[a] - target[i][a]);
    }
    out.overlap_rmsd = std::max(out.overlap_rmsd, std::sqrt(sq / double(mobile.size())));
    const std::size_t keep = b + shared / 2;  // earlier piece up to the overlap's middle
    chain.resize(keep);
    for (std::size_t k = keep - b; k < W; ++k) {
      std::array<Vec3, 3> res;
      for (int a = 0; a < 3; ++a) res[a] = apply(r, t, d.n_ca_c[k][a]);
      chain.push_back(res);
    }
  }
  out.pieces = static_cast<int>(starts.size());
  return out;
}

}  // namespace bmx::prot3d

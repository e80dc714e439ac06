// The inverse-Hessian algebra of the BFGS minimiser. BFGSOpt walks each row with a running sum (a chain of
// dependent additions) and mirrors its update into the lower triangle with strided writes. The matrix is
// exactly symmetric (every update writes both halves with one value), so row j can stand for column j:
// out[i] += h[j][i] v[j] over j in order gives each out[i] the very sums BFGSOpt forms, now as
// independent vector lanes. Compiled without FMA contraction (CMakeLists.txt).
#include "bfgs.h"

#define BMX_CLONES __attribute__((target_clones("avx2", "default")))

namespace bmx::forcefield::bfgs {

BMX_CLONES void sym_matvec(const double* __restrict h, const double* __restrict v, unsigned dim, bool negate,
                           double* __restrict out) {
  for (unsigned i = 0; i < dim; ++i) out[i] = 0.0;
  if (negate) {
    for (unsigned j = 0; j < dim; ++j) {
      const double* row = h + static_cast<std::size_t>(j) * dim;
      const double vj = v[j];
      for (unsigned i = 0; i < dim; ++i) out[i] -= row[i] * vj;
    }
  } else {
    for (unsigned j = 0; j < dim; ++j) {
      const double* row = h + static_cast<std::size_t>(j) * dim;
      const double vj = v[j];
      for (unsigned i = 0; i < dim; ++i) out[i] += row[i] * vj;
    }
  }
}

// BFGSOpt sets h[i][j] (j >= i) to h[i][j] + (px[i] xi[j] - hd[i] hdg[j] + dg[i] dgrad[j]) and copies it to
// h[j][i]. Row r therefore gets, left of the diagonal, the value its column c < r got as row c:
// h[c][r] + (px[c] xi[r] - hd[c] hdg[r] + dg[c] dgrad[r]), with h[c][r] == h[r][c].
// Each row, once updated, also goes into out = -h grad (sym_matvec's sums, in the same order) while it is
// in cache.
BMX_CLONES void sym_update(double* __restrict h, unsigned dim, const double* __restrict px, const double* __restrict xi,
                           const double* __restrict hd, const double* __restrict hdg, const double* __restrict dg,
                           const double* __restrict dgrad, const double* __restrict grad, double* __restrict out) {
  for (unsigned i = 0; i < dim; ++i) out[i] = 0.0;
  for (unsigned r = 0; r < dim; ++r) {
    double* row = h + static_cast<std::size_t>(r) * dim;
    const double xr = xi[r], hr = hdg[r], gr = dgrad[r];
    for (unsigned c = 0; c < r; ++c) row[c] += px[c] * xr - hd[c] * hr + dg[c] * gr;
    const double pr = px[r], hdr = hd[r], dgr = dg[r];
    for (unsigned c = r; c < dim; ++c) row[c] += pr * xi[c] - hdr * hdg[c] + dgr * dgrad[c];
    const double g = grad[r];
    for (unsigned c = 0; c < dim; ++c) out[c] -= row[c] * g;
  }
}

}  // namespace bmx::forcefield::bfgs

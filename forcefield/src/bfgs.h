// RDKit's BFGS minimiser (Numerics/Optimizer/BFGSOpt.h, after Numerical Recipes 10.7) with its
// inverse-Hessian algebra rearranged to run down contiguous rows: every element still gets the same
// products added in the same order, so positions, energies and the return code are RDKit's to the bit.
// The algebra is in bfgs.cpp, vectorised where the CPU allows (chosen at run time).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace bmx::forcefield::bfgs {

// BFGSOpt's constants.
constexpr double FUNCTOL = 1e-4;
constexpr double MOVETOL = 1e-7;
constexpr double EPS = 3e-8;
constexpr double TOLX = 4. * EPS;
constexpr double MAXSTEP = 100.0;

// out[i] = sum_j h[i][j] v[j] (negate: out[i] = -sum ...), summed over j in order, for symmetric h.
void sym_matvec(const double* h, const double* v, unsigned dim, bool negate, double* out);
// The BFGS rank-two update of symmetric h, as BFGSOpt's row-by-row update with its mirrored writes, and then
// out = -h grad as sym_matvec(h, grad, dim, true, out) would give.
void sym_update(double* h, unsigned dim, const double* px, const double* xi, const double* hd, const double* hdg,
                const double* dg, const double* dgrad, const double* grad, double* out);

// linearSearch of BFGSOpt.h.
template <typename EnergyFunctor>
void linear_search(unsigned dim, const double* oldPt, double oldVal, const double* grad, double* dir, double* newPt,
                   double& newVal, EnergyFunctor&& func, double maxStep, int& resCode) {
  const unsigned int MAX_ITER_LINEAR_SEARCH = 1000;
  double sum = 0.0, slope = 0.0, test = 0.0, lambda = 0.0;
  double lambda2 = 0.0, lambdaMin = 0.0, tmpLambda = 0.0, val2 = 0.0;
  resCode = -1;
  sum = 0.0;
  for (unsigned int i = 0; i < dim; i++) sum += dir[i] * dir[i];
  sum = std::sqrt(sum);
  if (sum > maxStep)
    for (unsigned int i = 0; i < dim; i++) dir[i] *= maxStep / sum;
  slope = 0.0;
  for (unsigned int i = 0; i < dim; i++) slope += dir[i] * grad[i];
  if (slope >= 0.0) return;
  test = 0.0;
  for (unsigned int i = 0; i < dim; i++) {
    double temp = std::fabs(dir[i]) / std::max(std::fabs(oldPt[i]), 1.0);
    if (temp > test) test = temp;
  }
  lambdaMin = MOVETOL / test;
  lambda = 1.0;
  unsigned int it = 0;
  while (it < MAX_ITER_LINEAR_SEARCH) {
    if (lambda < lambdaMin) {
      resCode = 1;
      break;
    }
    for (unsigned int i = 0; i < dim; i++) newPt[i] = oldPt[i] + lambda * dir[i];
    newVal = func(newPt);
    if (newVal - oldVal <= FUNCTOL * lambda * slope) {
      resCode = 0;
      return;
    }
    if (it == 0) {
      tmpLambda = -slope / (2.0 * (newVal - oldVal - slope));
    } else {
      double rhs1 = newVal - oldVal - lambda * slope;
      double rhs2 = val2 - oldVal - lambda2 * slope;
      double a = (rhs1 / (lambda * lambda) - rhs2 / (lambda2 * lambda2)) / (lambda - lambda2);
      double b = (-lambda2 * rhs1 / (lambda * lambda) + lambda * rhs2 / (lambda2 * lambda2)) / (lambda - lambda2);
      if (a == 0.0) {
        tmpLambda = -slope / (2.0 * b);
      } else {
        double disc = b * b - 3 * a * slope;
        if (disc < 0.0) {
          tmpLambda = 0.5 * lambda;
        } else if (b <= 0.0) {
          tmpLambda = (-b + std::sqrt(disc)) / (3.0 * a);
        } else {
          tmpLambda = -slope / (b + std::sqrt(disc));
        }
      }
      if (tmpLambda > 0.5 * lambda) tmpLambda = 0.5 * lambda;
    }
    lambda2 = lambda;
    val2 = newVal;
    lambda = std::max(tmpLambda, 0.1 * lambda);
    ++it;
  }
  for (unsigned int i = 0; i < dim; i++) newPt[i] = oldPt[i];
}

// BFGSOpt::minimize: 0 when converged, 1 after maxIts iterations. gradFunc(pos, grad) returns the scale it
// applied to the gradient (ForceField's calcGradient hack). Throws std::runtime_error where RDKit's
// CHECK_INVARIANT would (a line search along an uphill direction).
template <typename EnergyFunctor, typename GradientFunctor>
int minimize(unsigned dim, double* pos, double gradTol, double& funcVal, EnergyFunctor&& func,
             GradientFunctor&& gradFunc, unsigned maxIts) {
  double sum, maxStep, fp;
  std::vector<double> store(9 * dim);
  double* grad = store.data();
  double* dGrad = grad + dim;
  double* hessDGrad = dGrad + dim;
  double* newPos = hessDGrad + dim;
  double* xi = newPos + dim;
  double* px = xi + dim;  // fac xi, fad hessDGrad, fae dGrad: the update's left factors
  double* hd = px + dim;
  double* dg = hd + dim;
  double* nextXi = dg + dim;
  std::vector<double> hessian(static_cast<std::size_t>(dim) * dim, 0.0);
  double* invHessian = hessian.data();

  fp = func(pos);
  gradFunc(pos, grad);
  sum = 0.0;
  for (unsigned int i = 0; i < dim; i++) {
    invHessian[i * dim + i] = 1.0;
    xi[i] = -grad[i];
    sum += pos[i] * pos[i];
  }
  maxStep = MAXSTEP * std::max(std::sqrt(sum), static_cast<double>(dim));

  for (unsigned int iter = 1; iter <= maxIts; iter++) {
    int status;
    linear_search(dim, pos, fp, grad, xi, newPos, funcVal, func, maxStep, status);
    if (status < 0) throw std::runtime_error("bad direction in linearSearch");
    fp = funcVal;
    double test = 0.0;
    for (unsigned int i = 0; i < dim; i++) {
      xi[i] = newPos[i] - pos[i];
      pos[i] = newPos[i];
      double temp = std::fabs(xi[i]) / std::max(std::fabs(pos[i]), 1.0);
      if (temp > test) test = temp;
      dGrad[i] = grad[i];
    }
    if (test < TOLX) return 0;

    double gradScale = gradFunc(pos, grad);
    test = 0.0;
    double term = std::max(funcVal * gradScale, 1.0);
    for (unsigned int i = 0; i < dim; i++) {
      double temp = std::fabs(grad[i]) * std::max(std::fabs(pos[i]), 1.0);
      test = std::max(test, temp);
      dGrad[i] = grad[i] - dGrad[i];
    }
    test /= term;
    if (test < gradTol) return 0;

    sym_matvec(invHessian, dGrad, dim, false, hessDGrad);
    double fac = 0, fae = 0, sumDGrad = 0, sumXi = 0;
    for (unsigned int i = 0; i < dim; i++) {
      fac += dGrad[i] * xi[i];
      fae += dGrad[i] * hessDGrad[i];
      sumDGrad += dGrad[i] * dGrad[i];
      sumXi += xi[i] * xi[i];
    }
    if (fac > std::sqrt(EPS * sumDGrad * sumXi)) {
      fac = 1.0 / fac;
      double fad = 1.0 / fae;
      for (unsigned int i = 0; i < dim; i++) dGrad[i] = fac * xi[i] - fad * hessDGrad[i];
      for (unsigned int i = 0; i < dim; i++) {
        px[i] = fac * xi[i];
        hd[i] = fad * hessDGrad[i];
        dg[i] = fae * dGrad[i];
      }
      sym_update(invHessian, dim, px, xi, hd, hessDGrad, dg, dGrad, grad, nextXi);
      std::memcpy(xi, nextXi, dim * sizeof(double));
    } else {
      sym_matvec(invHessian, grad, dim, true, xi);
    }
  }
  return 1;
}

}  // namespace bmx::forcefield::bfgs

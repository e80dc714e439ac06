// ForceField::minimize over the flat MMFF terms: BFGS on RDKit's energy and on its gradient functor, which
// scales the gradient by 0.1 and halves it further while its largest component exceeds 10.
#include <vector>

#include "bfgs.h"
#include "mmff_flat.h"

namespace bmx::forcefield {

int mmff_minimize(const MmffTerms& terms, double* pos, unsigned max_iters, double force_tol) {
  if (terms.blocks.empty()) return 0;  // ForceField::minimize with no contribs
  const unsigned dim = static_cast<unsigned>(terms.num_atoms) * 3;
  auto energy = [&](const double* p) { return mmff_energy(terms, p); };
  auto gradient = [&](const double* p, double* grad) {
    for (unsigned i = 0; i < dim; i++) grad[i] = 0.0;
    mmff_gradient(terms, p, grad);
    double maxGrad = -1e8;
    double gradScale = 0.1;
    for (unsigned i = 0; i < dim; i++) {
      grad[i] *= gradScale;
      if (grad[i] > maxGrad) maxGrad = grad[i];
    }
    if (maxGrad > 10.0) {
      while (maxGrad * gradScale > 10.0) gradScale *= .5;
      for (unsigned i = 0; i < dim; i++) grad[i] *= gradScale;
    }
    return gradScale;
  };
  double final_energy = 0;
  return bfgs::minimize(dim, pos, force_tol, final_energy, energy, gradient, max_iters);
}

}  // namespace bmx::forcefield

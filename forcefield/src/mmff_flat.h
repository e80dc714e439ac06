// MMFF94 energy and gradient evaluated from flat term arrays taken out of the force field RDKit's MMFF
// builder made (RDKit::MMFF::constructForceField): the same terms in the same order with the same
// arithmetic as RDKit's contribs, so energies and gradients equal RDKit's calcEnergy / calcGrad to the
// last bit, but without a virtual call, distance-cache look-up and range check per term. refine() uses
// it for MMFF94 and MMFF94s. Internal (refine.h is the API): tests/forcefield includes it to hold it against
// RDKit term by term.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ForceFields {
class ForceField;
}

namespace bmx::forcefield {

// Atom indices are 0-based; parameters in RDKit's units (rest lengths in A, rest angles in degrees, force
// constants as MMFF tabulates them: md/A, md A/rad^2, kcal/mol).
struct MmffTerms {
  struct Bond {
    int i, j;
    double r0, kb;
  };
  struct Angle {
    int i, j, k;
    double theta0, ka;
    bool linear;
  };
  struct StretchBend {
    int i, j, k;
    double r1, r2, theta0, k_ijk, k_kji;
    int angle = -1;  // the angle term on the same atoms in the same order (shares its geometry), or -1
  };
  struct OutOfPlane {  // bending of j-l out of the plane i-j-k (j the centre)
    int i, j, k, l;
    double koop;
  };
  struct Torsion {
    int i, j, k, l;
    double v1, v2, v3;
  };
  // Nonbonded pairs in structure-of-arrays form.
  struct VdW {
    std::vector<int> i, j;
    std::vector<double> r_star, well_depth;
  };
  struct Electrostatic {
    std::vector<int> i, j;
    std::vector<double> charge_term;  // q_i q_j / D
    std::vector<std::uint8_t> one_four;
    std::uint8_t diel_model = 1;  // RDKit::MMFF::CONSTANT (1) or DISTANCE (2), the same for all pairs
    std::vector<int> vdw_index;   // each pair's place among the vdW pairs when all are there (shared geometry)
  };

  enum class Kind : std::uint8_t { bond, angle, stretch_bend, out_of_plane, torsion, vdw, electrostatic };
  // Runs of terms of one kind in the order RDKit's force field holds its contribs: energies are summed and
  // gradients accumulated in that order, as RDKit does.
  struct Block {
    Kind kind;
    std::size_t begin, end;
  };

  int num_atoms = 0;
  std::vector<Bond> bonds;
  std::vector<Angle> angles;
  std::vector<StretchBend> stretch_bends;
  std::vector<OutOfPlane> out_of_planes;
  std::vector<Torsion> torsions;
  VdW vdw;
  Electrostatic electrostatic;
  std::vector<Block> blocks;
};

// The terms of an MMFF force field built by RDKit::MMFF::constructForceField, or false when it holds a
// contrib that is not an MMFF term (constraints, another force field) or fixed points.
bool mmff_terms(const ForceFields::ForceField& ff, MmffTerms& out);

// Energy (kcal/mol) at pos (x0 y0 z0 x1 ...), as RDKit's ForceField::calcEnergy(pos).
double mmff_energy(const MmffTerms& terms, const double* pos);
// Adds the gradient at pos to grad, as RDKit's ForceField::calcGrad(pos, grad) (unscaled).
void mmff_gradient(const MmffTerms& terms, const double* pos, double* grad);

// Minimises the energy from pos (changed in place) as RDKit's ForceField::minimize(max_iters, force_tol)
// does, step for step: 0 when converged, 1 when max_iters ran out.
int mmff_minimize(const MmffTerms& terms, double* pos, unsigned max_iters, double force_tol = 1e-4);

}  // namespace bmx::forcefield

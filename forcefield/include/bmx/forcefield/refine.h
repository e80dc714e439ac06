// Geometry refinement of one conformer with a classical force field through RDKit: MMFF94 (the MolStrucTok
// reference: RDKit's MMFFOptimizeMolecule with maxIters 200, nonBondedThresh 100), MMFF94s, or UFF — by
// default UFF takes over where MMFF has no parameters (Se, Si, most metals). The coordinates are changed in
// place; a molecule no force field can type is left as it was. Thread-safe for distinct molecules (call it from
// parallel_for).
// Unlike RDKit's default (and the reference's ignoreInterfragInteractions true), the fragments of a salt feel
// each other's van der Waals and electrostatic terms: ignored, nothing keeps a Cl- off a methyl H.
// MMFF94 and MMFF94s minimise RDKit's own terms, evaluated over flat arrays (src/mmff_flat.h), with RDKit's
// BFGS steps: the same coordinates, energies and status as ForceField::minimize, about three times faster.
#pragma once
#include <GraphMol/ROMol.h>

#include <string>
#include <vector>

#include "bmx/mol3d/input_limits.h"

namespace bmx::forcefield {

enum class ForceField { mmff94, mmff94s, uff };
enum class RefineStatus {
  converged,      // the minimiser met its tolerance within max_iters
  not_converged,  // stopped after max_iters; coordinates are still improved
  no_parameters,  // no force field that was allowed has parameters for every atom; molecule untouched
};

struct RefineOptions {
  ForceField force_field = ForceField::mmff94;
  int max_iters = 200;
  double nonbonded_thresh = 100.0;  // MMFF nonBondedThresh / UFF vdwThresh
  bool ignore_interfrag_interactions = false;  // true: RDKit's default (fragments pass through each other)
  // Molecules with more atoms are refused (InputError): RDKit's BFGS keeps a dense (3N)^2 inverse Hessian.
  int max_atoms = mol3d::kDefaultMaxAtoms;
  bool uff_fallback = true;  // use UFF where the MMFF variant has no parameters
  int conf_id = -1;
};

struct RefineResult {
  RefineStatus status = RefineStatus::no_parameters;
  ForceField force_field = ForceField::mmff94;  // the force field that ran (or was tried last)
  double energy_before = 0;  // kcal/mol in `force_field`; NaN when no_parameters
  double energy_after = 0;
  std::string message;  // e.g. "MMFF94: no parameters for Se1; UFF used"
  // The force-field atom type of each atom, in atom order, as the force field that ran typed it: MMFF numeric
  // types ("37", "1", ...) or UFF labels ("C_R", "Se3+2", ...); RDKit's own typing wherever RDKit has a type,
  // the nearest UFF type (listed in `message`) where RDKit's label has no parameters. Empty when no_parameters.
  std::vector<std::string> atom_types;
};

// Minimises the conformer of `mol`. Throws bmx::InputError (naming the molecule's _Name) when it has no conformer,
// more than max_atoms atoms or a degenerate geometry (mol3d/input_limits.h: non-finite or absurd coordinates,
// coincident atoms), or when the energy or coordinates come out non-finite (nothing non-finite is returned).
RefineResult refine(RDKit::ROMol& mol, const RefineOptions& options = {});

// Energy of the conformer as is (kcal/mol) in `force_field`; NaN when it has no parameters.
double energy(RDKit::ROMol& mol, ForceField force_field, const RefineOptions& options = {});

// "MMFF94", "MMFF94s", "UFF" / "converged", "not_converged", "no_parameters".
const char* name(ForceField ff);
const char* name(RefineStatus status);
// "MMFF94 converged", "UFF converged (MMFF94: no parameters for Se1; UFF used)": what the SD files and
// summaries say about a refinement.
std::string describe(const RefineResult& result);
// atom_types as one line, space-separated (the SD field bmx_ff_atom_types).
std::string atom_types_line(const RefineResult& result);
// Parses "mmff94", "mmff94s", "uff" (case-insensitive); throws bmx::InputError otherwise.
ForceField parse_force_field(const std::string& text);

}  // namespace bmx::forcefield

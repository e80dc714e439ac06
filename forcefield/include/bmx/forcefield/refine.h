// Geometry refinement of one conformer with a classical force field through RDKit: MMFF94 (the MolStrucTok
// reference: RDKit's MMFFOptimizeMolecule with maxIters 200, nonBondedThresh 100,
// ignoreInterfragInteractions true), MMFF94s, or UFF — by default UFF takes over where MMFF has no
// parameters (Se, Si, most metals). The coordinates are changed in place; a molecule no force field can
// type is left as it was. Thread-safe for distinct molecules (call it from parallel_for).
// MMFF94 and MMFF94s minimise RDKit's own terms, evaluated over flat arrays (src/mmff_flat.h), with RDKit's
// BFGS steps: the same coordinates, energies and status as ForceField::minimize, about three times faster.
#pragma once
#include <GraphMol/ROMol.h>

#include <string>

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
  bool ignore_interfrag_interactions = true;
  bool uff_fallback = true;  // use UFF where the MMFF variant has no parameters
  int conf_id = -1;
};

struct RefineResult {
  RefineStatus status = RefineStatus::no_parameters;
  ForceField force_field = ForceField::mmff94;  // the force field that ran (or was tried last)
  double energy_before = 0;  // kcal/mol in `force_field`; NaN when no_parameters
  double energy_after = 0;
  std::string message;  // e.g. "MMFF94: no parameters for Se1; UFF used"
};

// Minimises the conformer of `mol`. Throws bmx::InputError when the molecule has no conformer or
// non-finite coordinates.
RefineResult refine(RDKit::ROMol& mol, const RefineOptions& options = {});

// Energy of the conformer as is (kcal/mol) in `force_field`; NaN when it has no parameters.
double energy(RDKit::ROMol& mol, ForceField force_field, const RefineOptions& options = {});

// "MMFF94", "MMFF94s", "UFF" / "converged", "not_converged", "no_parameters".
const char* name(ForceField ff);
const char* name(RefineStatus status);
// "MMFF94 converged", "UFF converged (MMFF94: no parameters for Se1; UFF used)": what the SD files and
// summaries say about a refinement.
std::string describe(const RefineResult& result);
// Parses "mmff94", "mmff94s", "uff" (case-insensitive); throws bmx::InputError otherwise.
ForceField parse_force_field(const std::string& text);

}  // namespace bmx::forcefield

// What bmx accepts as a molecule with 3D coordinates, checked in one place for every way a molecule comes in
// (every reader format: SDF/MOL, MOL2, XYZ, Open Babel; token strings; molecules handed to encode and refine):
//  - at most `max_atoms` atoms, hydrogens included (default kDefaultMaxAtoms; `--max-atoms` on the mol commands
//    raises it). Refinement keeps RDKit's dense BFGS, whose memory and time grow with the square of the atoms, so
//    an unbounded molecule is unbounded memory and time;
//  - a real geometry: finite coordinates within kMaxCoordinate Å of the origin, no two atoms within
//    kMinAtomDistance Å of each other (which also catches all atoms at one point), no bond shorter than
//    kMinBondLength Å.
#pragma once
#include <GraphMol/ROMol.h>

#include <Geometry/point.h>

#include <cstddef>
#include <string>
#include <vector>

namespace bmx::mol3d {

// The largest drug-like molecules of the shared corpora have under 150 atoms with H; 1000 leaves room for
// peptides and macrocycles while bounding refinement at ~100 MB and tens of seconds.
constexpr int kDefaultMaxAtoms = 1000;
// Beyond ±100,000 Å a coordinate is no molecule (and no longer fits a V2000 coordinate column).
constexpr double kMaxCoordinate = 1e5;
// Nothing real puts two atoms this close (the shortest bond, H-H, is 0.74 Å).
constexpr double kMinAtomDistance = 0.1;
constexpr double kMinBondLength = 0.3;

// "" when `atoms` is within `max_atoms` (<= 0: no limit), else "N atoms, more than the limit of M (--max-atoms)".
std::string atom_count_problem(std::size_t atoms, int max_atoms);

// "" for a real geometry, else the first problem found as one phrase naming the atoms (1-based):
// "no coordinates", "atom 3 has a non-finite coordinate", "atom 2 has a coordinate of 1e+300 Å (beyond ±100000 Å)",
// "all 5 atoms at one point", "atoms 1 and 4 coincide (0.000 Å apart)", "bonded atoms 2 and 3 are 0.010 Å apart".
// O(n log n): coincident atoms are found on a grid, not by comparing every pair.
std::string geometry_problem(const RDKit::ROMol& mol, int conf_id = -1);
// The same for bare positions (no bonds yet, as XYZ before bond perception).
std::string geometry_problem(const std::vector<RDGeom::Point3D>& positions);

// The part of geometry_problem that no computation survives: non-finite or absurd coordinates, all atoms at one
// point. Refinement checks only this: a decoded molecule may put two atoms 0.02 Å apart, and the force field is
// what pulls them apart (its result is checked for non-finite values).
std::string coordinate_problem(const RDKit::ROMol& mol, int conf_id = -1);
std::string coordinate_problem(const std::vector<RDGeom::Point3D>& positions);

}  // namespace bmx::mol3d

// MolStrucTok's internal coordinates: each atom placed by (r, theta, |phi|, sign phi) in the frame of three
// earlier atoms (spec molstructok.md §4 and §6). The same reference-atom rule serves encoding (measure) and
// decoding (place), so it is defined once here.
//
// Beyond the reference (which has NaN or index errors there), every case is defined:
// - an atom i >= 3 with no earlier neighbour (first atom of a later fragment) is measured from atom i-1;
// - an atom i >= 3 whose only earlier neighbour is atom 0 uses (c1, c2) = (1, 2);
// - when the frame atoms are collinear or coincide (|v| ~ 0, e.g. propyne, SF6 with exact geometry) the
//   frame's plane is that of the first earlier atom off the axis (else, when encoding, of the atom itself),
//   and an atom on the frame's normal gets phi = 0: the descriptors are finite and do not depend on the
//   molecule's orientation. Non-degenerate frames are exactly the reference's, so parity holds wherever
//   the reference is finite.
#pragma once
#include <array>
#include <vector>

#include "bmx/core/geom/vec3.h"

namespace bmx::mol3d {

using Vec3 = bmx::Vec3;

// focus, c1, c2 per atom; atoms 0..2 hold the placeholders (i-1, i-2, i-3).
using ReferenceAtoms = std::array<int, 3>;

// neighbours[i]: indices of the atoms bonded to atom i (any order).
std::vector<ReferenceAtoms> reference_atoms(const std::vector<std::vector<int>>& neighbours);
// The same from focus[i] = the largest j < i bonded to atom i (-1: none).
std::vector<ReferenceAtoms> reference_atoms_from_focus(const std::vector<int>& focus);

// Internal coordinates of atom 0 (constants from the reference).
constexpr double kFirstRadius = 1.2608129506349746;
constexpr double kPlaceholderTheta = 1.593612854073428;
constexpr double kPlaceholderPhi = 2.1366727766526967;

// (r, theta, |phi|, sign phi) per atom, float64 (spec §4).
std::vector<std::array<double, 4>> descriptors(const std::vector<Vec3>& positions,
                                               const std::vector<ReferenceAtoms>& refs);

// The local frame (u, v, w) at A towards B, in the plane of C; with no such plane, a coordinate axis fixes v.
struct Frame {
  Vec3 u, v, w;
};
Frame local_frame(const Vec3& a, const Vec3& b, const Vec3& c);

// Coordinates from decoded internal coordinates (spec §6): atom 0 at the origin, atom 1 at (r1, 0, 0), atom 2
// at (r2 cos a2, r2 sin a2, 0), atom i >= 3 at A + u*o.x + v*o.y + w*o.z with
// o = (r sin(theta) cos(phi), r sin(theta) sin(phi), r cos(theta)), phi = |phi| * sign.
std::vector<Vec3> reconstruct(const std::vector<std::array<double, 4>>& internal,
                              const std::vector<ReferenceAtoms>& refs);

}  // namespace bmx::mol3d

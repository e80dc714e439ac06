// MolStrucTok's internal coordinates: each atom placed by (r, theta, |phi|, sign phi) in the frame of three
// earlier atoms (spec molstructok.md §4 and §6). The same reference-atom rule serves encoding (measure) and
// decoding (place), so it is defined once here.
//
// Beyond the reference (which has NaN or index errors there), every case is defined:
// - an atom i >= 3 with no earlier neighbour (first atom of a later fragment) is measured from atom i-1;
// - an atom i >= 3 whose only earlier neighbour is atom 0 uses (axis, plane) = (1, 2);
// - when the frame atoms are collinear or coincide (|v| ~ 0, e.g. propyne, SF6 with exact geometry) the
//   frame's plane is that of the first earlier atom off the axis (else, when encoding, of the atom itself),
//   and an atom on the frame's normal gets phi = 0: the descriptors are finite and do not depend on the
//   molecule's orientation. Non-degenerate frames are exactly the reference's, so parity holds wherever
//   the reference is finite.
#pragma once
#include <vector>

#include "bmx/core/geom/vec3.h"

namespace bmx::mol3d {

using Vec3 = bmx::Vec3;

// The three earlier atoms that fix an atom's frame (spec §4: f, c1, c2): the atom is measured from `focus`
// (A), u points from A to `axis` (B), and v lies in the plane of A, B and `plane` (C). Atoms 0..2 have no
// frame and hold the placeholders i-1, i-2, i-3.
struct ReferenceAtoms {
  int focus, axis, plane;
};

// neighbours[i]: indices of the atoms bonded to atom i (any order).
std::vector<ReferenceAtoms> reference_atoms(const std::vector<std::vector<int>>& neighbours);
// The same from focus[i] = the largest j < i bonded to atom i (-1: none).
std::vector<ReferenceAtoms> reference_atoms_from_focus(const std::vector<int>& focus);

// The internal coordinates of one atom (spec §4): where it sits in the frame (u, v, w) of its reference atoms
// (focus A, then B, C), as spherical coordinates about A with w as the pole.
// Atoms 0..2 have no frame: atom 0 holds the constants below; atom 1 its distance to atom 0; atom 2 its
// distance to atom 0 and, in `azimuth`, the angle 1-0-2 at atom 0 (placeholders elsewhere, sign 0).
struct AtomDescriptor {
  double distance;      // r = |atom - A| in Å
  double polar_angle;   // theta: angle between atom - A and w, radians in [0, pi]
  double azimuth;       // |phi|: angle of the projection on the (u, v) plane from u, radians in [0, pi]
  double azimuth_sign;  // sign of phi: -1, 0 or 1 (the encoder takes it as a fourth feature, so a double)

  double signed_azimuth() const { return azimuth * azimuth_sign; }  // phi
};

// The descriptor of atom 0 and the placeholders of atoms 1 and 2 (constants from the reference).
constexpr double kFirstAtomDistance = 1.2608129506349746;
constexpr double kPlaceholderPolarAngle = 1.593612854073428;
constexpr double kPlaceholderAzimuth = 2.1366727766526967;

// Descriptors per atom, float64 (spec §4).
std::vector<AtomDescriptor> descriptors(const std::vector<Vec3>& positions, const std::vector<ReferenceAtoms>& refs);

// The local frame (u, v, w) at A towards B, in the plane of C; with no such plane, a coordinate axis fixes v.
struct Frame {
  Vec3 u, v, w;
};
Frame local_frame(const Vec3& a, const Vec3& b, const Vec3& c);

// Coordinates from decoded internal coordinates (spec §6): atom 0 at the origin, atom 1 at (r1, 0, 0), atom 2
// at (r2 cos a2, r2 sin a2, 0), atom i >= 3 at A + u*o.x + v*o.y + w*o.z with
// o = (r sin(theta) cos(phi), r sin(theta) sin(phi), r cos(theta)), phi = |phi| * sign.
std::vector<Vec3> reconstruct(const std::vector<AtomDescriptor>& descriptors, const std::vector<ReferenceAtoms>& refs);

}  // namespace bmx::mol3d

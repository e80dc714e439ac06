// Spec molstructok.md §4 (measure) and §6 (place). Float64 throughout, same operation order as the reference
// so that descriptors agree to ~1e-15 wherever the reference is finite.
#include "bmx/mol3d/internal_coords.h"

#include <algorithm>
#include <cmath>

namespace bmx::mol3d {

namespace {

using vec3::cross;
using vec3::dot;
using vec3::norm;
using vec3::sub;

// Below these the frame is undefined (the reference divides by ~0 and gets NaN or noise).
constexpr double kCoincident = 1e-10;   // |B - A| in Å
constexpr double kCollinear = 1e-9;     // |v| / |C - A|, i.e. sin of the angle at A

}  // namespace

std::vector<ReferenceAtoms> reference_atoms_from_focus(const std::vector<int>& focus) {
  int n = int(focus.size());
  std::vector<ReferenceAtoms> refs(n);
  for (int i = 0; i < n; ++i) {
    if (i <= 2) {
      refs[i] = {i - 1, i - 2, i - 3};
      continue;
    }
    int f = focus[i] >= 0 && focus[i] < i ? focus[i] : i - 1;  // no earlier neighbour: the atom written before
    if (f == 1)
      refs[i] = {f, 0, 2};
    else if (f == 0)
      refs[i] = {f, 1, 2};
    else
      refs[i] = {f, refs[f].focus, refs[f].axis};
  }
  return refs;
}

std::vector<ReferenceAtoms> reference_atoms(const std::vector<std::vector<int>>& neighbours) {
  std::vector<int> focus(neighbours.size(), -1);
  for (std::size_t i = 0; i < neighbours.size(); ++i)
    for (int j : neighbours[i])
      if (j < int(i) && j > focus[i]) focus[i] = j;
  return reference_atoms_from_focus(focus);
}

namespace {

Vec3 unit_or_x(const Vec3& d) {
  double n = norm(d);
  if (n > kCoincident) return {d[0] / n, d[1] / n, d[2] / n};
  return {1.0, 0.0, 0.0};
}

// The component of c - a perpendicular to u, or false when c lies on the axis through a along u.
bool perpendicular(const Vec3& a, const Vec3& u, const Vec3& c, Vec3& v) {
  Vec3 ca = sub(c, a);
  double proj = dot(ca, u);
  v = {ca[0] - proj * u[0], ca[1] - proj * u[1], ca[2] - proj * u[2]};
  double nv = norm(v);
  if (!(nv > kCollinear * norm(ca)) || !(nv > 0.0)) return false;
  v = {v[0] / nv, v[1] / nv, v[2] / nv};
  return true;
}

Frame from_axes(const Vec3& u, const Vec3& v) { return Frame{u, v, cross(u, v)}; }

// The frame of atom i when its own reference atoms are collinear (exactly linear chains: propyne, SF6, CO2).
// The rotation about the axis is then fixed by the first earlier atom off the axis, which the decoder has
// placed too; when every earlier atom is on the axis that rotation is free, so the encoder takes it from
// atom i itself (phi = 0) and the decoder may take any perpendicular. Either way the descriptors do not
// depend on how the molecule is oriented.
Frame degenerate_frame(const std::vector<Vec3>& p, const ReferenceAtoms& r, int i, const Vec3* self) {
  const Vec3& a = p[r.focus];
  Vec3 u = unit_or_x(sub(p[r.axis], a)), v;
  for (int j = 0; j < i; ++j)
    if (j != r.focus && perpendicular(a, u, p[j], v)) return from_axes(u, v);
  if (self && perpendicular(a, u, *self, v)) return from_axes(u, v);
  return local_frame(a, p[r.axis], p[r.plane]);
}

bool collinear(const Vec3& a, const Vec3& b, const Vec3& c) {
  Vec3 v;
  return !perpendicular(a, unit_or_x(sub(b, a)), c, v);
}

}  // namespace

Frame local_frame(const Vec3& a, const Vec3& b, const Vec3& c) {
  Vec3 u = unit_or_x(sub(b, a)), v;
  if (perpendicular(a, u, c, v)) return from_axes(u, v);
  // No plane: any axis perpendicular to u will do; take the coordinate axis least parallel to u (first on
  // ties) so the choice is deterministic.
  int k = 0;
  for (int j = 1; j < 3; ++j)
    if (std::fabs(u[j]) < std::fabs(u[k])) k = j;
  Vec3 e = {0.0, 0.0, 0.0};
  e[k] = 1.0;
  double q = dot(e, u);
  v = {e[0] - q * u[0], e[1] - q * u[1], e[2] - q * u[2]};
  double nv = norm(v);
  return from_axes(u, {v[0] / nv, v[1] / nv, v[2] / nv});
}

std::vector<AtomDescriptor> descriptors(const std::vector<Vec3>& p, const std::vector<ReferenceAtoms>& refs) {
  int n = int(p.size());
  std::vector<AtomDescriptor> out(n);
  for (int i = 0; i < n; ++i) {
    if (i == 0) {
      out[i] = {kFirstAtomDistance, kPlaceholderPolarAngle, kPlaceholderAzimuth, 0.0};
    } else if (i == 1) {
      out[i] = {norm(sub(p[1], p[0])), kPlaceholderPolarAngle, kPlaceholderAzimuth, 0.0};
    } else if (i == 2) {
      double d01 = norm(sub(p[0], p[1]));
      double d02 = norm(sub(p[0], p[2]));
      double d12 = norm(sub(p[1], p[2]));
      double a = 0.0;
      if (d01 > kCoincident) {
        double x = (d01 * d01 + d02 * d02 - d12 * d12) / (2 * d01);
        double yy = d02 * d02 - x * x;
        double y = yy > 0.0 ? std::sqrt(yy) : 0.0;  // exactly collinear: rounding may make yy < 0
        a = std::atan2(y, x);
      }
      out[i] = {d02, kPlaceholderPolarAngle, a, 0.0};  // a: the angle 1-0-2 at atom 0
    } else {
      const ReferenceAtoms& r = refs[i];
      const Vec3& A = p[r.focus];
      Frame fr = collinear(A, p[r.axis], p[r.plane]) ? degenerate_frame(p, r, i, &p[i])
                                                     : local_frame(A, p[r.axis], p[r.plane]);
      Vec3 da = sub(p[i], A);
      double lx = dot(fr.u, da), ly = dot(fr.v, da), lz = dot(fr.w, da);
      double rad = std::sqrt(lx * lx + ly * ly + lz * lz);
      double theta = rad > 0.0 ? std::acos(std::clamp(lz / rad, -1.0, 1.0)) : 0.0;
      // On the frame's normal (theta 0 or pi, e.g. trans atoms of SF6) phi is undefined: atan2 of rounding
      // noise would make it depend on orientation. Any phi places the atom there; take 0.
      double phi = std::hypot(lx, ly) > kCollinear * rad ? std::atan2(ly, lx) : 0.0;
      double sign = phi > 0.0 ? 1.0 : (phi < 0.0 ? -1.0 : 0.0);
      out[i] = {rad, theta, std::fabs(phi), sign};
    }
  }
  return out;
}

std::vector<Vec3> reconstruct(const std::vector<AtomDescriptor>& in, const std::vector<ReferenceAtoms>& refs) {
  int n = int(in.size());
  std::vector<Vec3> x(n, Vec3{0.0, 0.0, 0.0});
  for (int i = 1; i < n; ++i) {
    double r = in[i].distance;
    if (i == 1) {
      x[i] = {r, 0.0, 0.0};
    } else if (i == 2) {
      x[i] = {r * std::cos(in[i].azimuth), r * std::sin(in[i].azimuth), 0.0};
    } else {
      const ReferenceAtoms& rf = refs[i];
      const Vec3& A = x[rf.focus];
      Frame fr = collinear(A, x[rf.axis], x[rf.plane]) ? degenerate_frame(x, rf, i, nullptr)
                                                       : local_frame(A, x[rf.axis], x[rf.plane]);
      double theta = in[i].polar_angle, phi = in[i].signed_azimuth();
      double ox = r * std::sin(theta) * std::cos(phi);
      double oy = r * std::sin(theta) * std::sin(phi);
      double oz = r * std::cos(theta);
      for (int k = 0; k < 3; ++k) x[i][k] = A[k] + fr.u[k] * ox + fr.v[k] * oy + fr.w[k] * oz;
    }
  }
  return x;
}

}  // namespace bmx::mol3d

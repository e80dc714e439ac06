// Atom positions as 3-vectors of double and the few operations the geometry code (internal coordinates,
// backbone preprocessing, ideal-atom placement) needs, written once.
#pragma once
#include <array>
#include <cmath>

namespace bmx {

using Vec3 = std::array<double, 3>;

namespace vec3 {

inline Vec3 sub(const Vec3& a, const Vec3& b) { return {a[0] - b[0], a[1] - b[1], a[2] - b[2]}; }
inline Vec3 add(const Vec3& a, const Vec3& b) { return {a[0] + b[0], a[1] + b[1], a[2] + b[2]}; }
inline Vec3 scale(const Vec3& a, double s) { return {a[0] * s, a[1] * s, a[2] * s}; }
inline double dot(const Vec3& a, const Vec3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
inline double norm(const Vec3& a) { return std::sqrt(dot(a, a)); }
inline Vec3 cross(const Vec3& a, const Vec3& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}
// a / |a|, or zero for a (near-)zero vector.
inline Vec3 unit(const Vec3& a) {
  const double n = norm(a);
  return n > 1e-12 ? scale(a, 1.0 / n) : Vec3{0, 0, 0};
}
inline bool finite(const Vec3& v) { return std::isfinite(v[0]) && std::isfinite(v[1]) && std::isfinite(v[2]); }

// Atom d with |cd| = bond, angle bcd and torsion abcd (radians): the usual NeRF construction.
inline Vec3 place(const Vec3& a, const Vec3& b, const Vec3& c, double bond, double angle, double torsion) {
  const Vec3 bc = unit(sub(c, b));
  const Vec3 n = unit(cross(sub(b, a), bc));
  const Vec3 m = cross(n, bc);
  const double x = -bond * std::cos(angle), y = bond * std::sin(angle) * std::cos(torsion),
               z = bond * std::sin(angle) * std::sin(torsion);
  return add(c, add(add(scale(bc, x), scale(m, y)), scale(n, z)));
}

}  // namespace vec3
}  // namespace bmx

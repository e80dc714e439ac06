// MMFF94 energy and gradient over flat term arrays. Every expression is RDKit 2022.09's (ForceField/MMFF/
// *.cpp, RDGeom::Point3D arithmetic), written out in the same order of operations, so the results are
// RDKit's to the bit: IEEE arithmetic is exact per operation and this file is compiled without FMA
// contraction (see CMakeLists.txt). Nonbonded pairs (structure of arrays), torsions and out-of-plane
// bends (fixed-stride chunks) go through loops the compiler vectorises, AVX2 where the CPU has it (chosen
// at run time); acos/asin stay libm's scalar calls, and energies are summed and gradients accumulated one
// term at a time in RDKit's order. Where RDKit computes the same thing twice (a stretch-bend's angle, the
// Coulomb pair's distance) it is computed once: the same operations give the same bits.
#include <algorithm>
#include <cmath>
#include <vector>

#include "mmff_flat.h"

#define BMX_CLONES __attribute__((target_clones("avx2", "default")))

namespace bmx::forcefield {
namespace {

// ForceField/MMFF/Params.h
const double DEG2RAD = M_PI / 180.0;
const double RAD2DEG = 180.0 / M_PI;
const double MDYNE_A_TO_KCAL_MOL = 143.9325;
inline void clipToOne(double& x) {
  if (x > 1.0) {
    x = 1.0;
  } else if (x < -1.0) {
    x = -1.0;
  }
}

// RDGeom::Point3D's arithmetic.
struct P3 {
  double x, y, z;
};
inline P3 at(const double* pos, int i) { return {pos[3 * i], pos[3 * i + 1], pos[3 * i + 2]}; }
inline P3 operator-(const P3& a, const P3& b) { return {a.x - b.x, a.y - b.y, a.z - b.z}; }
inline P3 operator/(const P3& a, double v) { return {a.x / v, a.y / v, a.z / v}; }
inline P3& operator/=(P3& a, double v) {
  a.x /= v;
  a.y /= v;
  a.z /= v;
  return a;
}
inline P3 neg(const P3& a) { return {a.x * -1.0, a.y * -1.0, a.z * -1.0}; }
inline double dot(const P3& a, const P3& b) { return a.x * (b.x) + a.y * (b.y) + a.z * (b.z); }
inline double length(const P3& a) { return std::sqrt(a.x * a.x + a.y * a.y + a.z * a.z); }
inline P3 cross(const P3& a, const P3& b) {
  P3 res;
  res.x = a.y * (b.z) - a.z * (b.y);
  res.y = -a.x * (b.z) + a.z * (b.x);
  res.z = a.x * (b.y) - a.y * (b.x);
  return res;
}

// ForceField::distance: the lower index first.
inline double distance(const double* pos, int i, int j) {
  if (j < i) std::swap(i, j);
  const double* pi = pos + 3 * i;
  const double* pj = pos + 3 * j;
  double res = 0.0;
  for (int k = 0; k < 3; ++k) {
    double tmp = pi[k] - pj[k];
    res += tmp * tmp;
  }
  return std::sqrt(res);
}

// ---- bonded terms ----

inline double bond_energy(const MmffTerms::Bond& b, const double* pos) {
  double distance_ = distance(pos, b.i, b.j);
  double distTerm = distance_ - b.r0;
  double distTerm2 = distTerm * distTerm;
  double const c1 = MDYNE_A_TO_KCAL_MOL;
  double const cs = -2.0;
  double const c3 = 7.0 / 12.0;
  return (0.5 * c1 * b.kb * distTerm2 * (1.0 + cs * distTerm + c3 * cs * cs * distTerm2));
}

inline void bond_grad(const MmffTerms::Bond& b, const double* pos, double* grad) {
  double dist = distance(pos, b.i, b.j);
  const double* at1Coords = &(pos[3 * b.i]);
  const double* at2Coords = &(pos[3 * b.j]);
  double* g1 = &(grad[3 * b.i]);
  double* g2 = &(grad[3 * b.j]);
  double const cs = -2.0;
  double const c1 = MDYNE_A_TO_KCAL_MOL;
  double const c3 = 7.0 / 12.0;
  double distTerm = dist - b.r0;
  double dE_dr = c1 * b.kb * distTerm * (1.0 + 1.5 * cs * distTerm + 2.0 * c3 * cs * cs * distTerm * distTerm);
  double dGrad;
  for (unsigned int i = 0; i < 3; ++i) {
    dGrad = ((dist > 0.0) ? (dE_dr * (at1Coords[i] - at2Coords[i]) / dist) : b.kb * 0.01);
    g1[i] += dGrad;
    g2[i] -= dGrad;
  }
}

inline double cos_theta(const P3& p1, const P3& p2, const P3& p3, double dist1, double dist2) {
  P3 p12 = p1 - p2;
  P3 p32 = p3 - p2;
  double cosTheta = dot(p12, p32) / (dist1 * dist2);
  clipToOne(cosTheta);
  return cosTheta;
}

// What an angle term and the stretch-bend on the same three atoms both compute (one acos for the two).
struct AngleGeometry {
  double dist1, dist2;  // |p1 - p2|, |p3 - p2|
  double cosTheta;      // clipped
  double theta;         // acos(cosTheta)
  P3 r0, r1;            // gradient: (p1 - p2) / dist1, (p3 - p2) / dist2
  double sinTheta;      // gradient
};

// AngleBendContrib::getEnergy / StretchBendContrib::getEnergy.
inline AngleGeometry energy_geometry(int i, int j, int k, const double* pos) {
  AngleGeometry g;
  g.dist1 = distance(pos, i, j);
  g.dist2 = distance(pos, j, k);
  g.cosTheta = cos_theta(at(pos, i), at(pos, j), at(pos, k), g.dist1, g.dist2);
  g.theta = std::acos(g.cosTheta);
  return g;
}

// AngleBendContrib::getGrad / StretchBendContrib::getGrad.
inline AngleGeometry gradient_geometry(int i, int j, int k, const double* pos) {
  AngleGeometry g;
  g.dist1 = distance(pos, i, j);
  g.dist2 = distance(pos, j, k);
  P3 p1 = at(pos, i), p2 = at(pos, j), p3 = at(pos, k);
  g.r0 = (p1 - p2) / g.dist1;
  g.r1 = (p3 - p2) / g.dist2;
  double cosTheta = dot(g.r0, g.r1);
  clipToOne(cosTheta);
  g.cosTheta = cosTheta;
  double sinThetaSq = 1.0 - cosTheta * cosTheta;
  g.sinTheta = std::max(((sinThetaSq > 0.0) ? std::sqrt(sinThetaSq) : 0.0), 1.0e-8);
  g.theta = std::acos(cosTheta);
  return g;
}

inline double angle_energy(const MmffTerms::Angle& a, const AngleGeometry& geo) {
  double cosTheta = geo.cosTheta;
  double angle = RAD2DEG * geo.theta - a.theta0;
  double const cb = -0.006981317;
  double const c2 = MDYNE_A_TO_KCAL_MOL * DEG2RAD * DEG2RAD;
  if (a.linear) return MDYNE_A_TO_KCAL_MOL * a.ka * (1.0 + cosTheta);
  return 0.5 * c2 * a.ka * angle * angle * (1.0 + cb * angle);
}

// Adds to grad at offsets gi, gj, gk (3 a.i ... for the whole gradient, or a chunk lane's own).
__attribute__((always_inline)) inline void angle_grad(const MmffTerms::Angle& a, const AngleGeometry& geo, double* grad,
                                                      int gi, int gj, int gk) {
  double dist[2] = {geo.dist1, geo.dist2};
  double* g[3] = {&(grad[gi]), &(grad[gj]), &(grad[gk])};
  const P3 r[2] = {geo.r0, geo.r1};
  double cosTheta = geo.cosTheta;
  double sinTheta = geo.sinTheta;
  double angleTerm = RAD2DEG * geo.theta - a.theta0;
  double const cb = -0.006981317;
  double const c2 = MDYNE_A_TO_KCAL_MOL * DEG2RAD * DEG2RAD;
  double dE_dTheta = (a.linear ? -MDYNE_A_TO_KCAL_MOL * a.ka * sinTheta
                               : RAD2DEG * c2 * a.ka * angleTerm * (1.0 + 1.5 * cb * angleTerm));
  // Utils::calcAngleBendGrad
  double dCos_dS[6] = {1.0 / dist[0] * (r[1].x - cosTheta * r[0].x), 1.0 / dist[0] * (r[1].y - cosTheta * r[0].y),
                       1.0 / dist[0] * (r[1].z - cosTheta * r[0].z), 1.0 / dist[1] * (r[0].x - cosTheta * r[1].x),
                       1.0 / dist[1] * (r[0].y - cosTheta * r[1].y), 1.0 / dist[1] * (r[0].z - cosTheta * r[1].z)};
  g[0][0] += dE_dTheta * dCos_dS[0] / (-sinTheta);
  g[0][1] += dE_dTheta * dCos_dS[1] / (-sinTheta);
  g[0][2] += dE_dTheta * dCos_dS[2] / (-sinTheta);
  g[1][0] += dE_dTheta * (-dCos_dS[0] - dCos_dS[3]) / (-sinTheta);
  g[1][1] += dE_dTheta * (-dCos_dS[1] - dCos_dS[4]) / (-sinTheta);
  g[1][2] += dE_dTheta * (-dCos_dS[2] - dCos_dS[5]) / (-sinTheta);
  g[2][0] += dE_dTheta * dCos_dS[3] / (-sinTheta);
  g[2][1] += dE_dTheta * dCos_dS[4] / (-sinTheta);
  g[2][2] += dE_dTheta * dCos_dS[5] / (-sinTheta);
}

inline double stretch_bend_energy(const MmffTerms::StretchBend& s, const AngleGeometry& geo) {
  double deltaTheta = RAD2DEG * geo.theta - s.theta0;
  double factor = MDYNE_A_TO_KCAL_MOL * DEG2RAD * deltaTheta;
  double first = factor * s.k_ijk * (geo.dist1 - s.r1);
  double second = factor * s.k_kji * (geo.dist2 - s.r2);
  return first + second;
}

__attribute__((always_inline)) inline void stretch_bend_grad(const MmffTerms::StretchBend& s, const AngleGeometry& geo,
                                                             double* grad, int gi, int gj, int gk) {
  double dist1 = geo.dist1, dist2 = geo.dist2;
  double* g1 = &(grad[gi]);
  double* g2 = &(grad[gj]);
  double* g3 = &(grad[gk]);
  const P3& p12 = geo.r0;
  const P3& p32 = geo.r1;
  double const c5 = MDYNE_A_TO_KCAL_MOL * DEG2RAD;
  double cosTheta = geo.cosTheta;
  double sinTheta = geo.sinTheta;
  double angleTerm = RAD2DEG * geo.theta - s.theta0;
  double distTerm = RAD2DEG * (s.k_ijk * (dist1 - s.r1) + s.k_kji * (dist2 - s.r2));
  double dCos_dS1 = 1.0 / dist1 * (p32.x - cosTheta * p12.x);
  double dCos_dS2 = 1.0 / dist1 * (p32.y - cosTheta * p12.y);
  double dCos_dS3 = 1.0 / dist1 * (p32.z - cosTheta * p12.z);
  double dCos_dS4 = 1.0 / dist2 * (p12.x - cosTheta * p32.x);
  double dCos_dS5 = 1.0 / dist2 * (p12.y - cosTheta * p32.y);
  double dCos_dS6 = 1.0 / dist2 * (p12.z - cosTheta * p32.z);
  const double k1 = s.k_ijk, k2 = s.k_kji;
  g1[0] += c5 * (p12.x * k1 * angleTerm + dCos_dS1 / (-sinTheta) * distTerm);
  g1[1] += c5 * (p12.y * k1 * angleTerm + dCos_dS2 / (-sinTheta) * distTerm);
  g1[2] += c5 * (p12.z * k1 * angleTerm + dCos_dS3 / (-sinTheta) * distTerm);
  g2[0] += c5 * ((-p12.x * k1 - p32.x * k2) * angleTerm + (-dCos_dS1 - dCos_dS4) / (-sinTheta) * distTerm);
  g2[1] += c5 * ((-p12.y * k1 - p32.y * k2) * angleTerm + (-dCos_dS2 - dCos_dS5) / (-sinTheta) * distTerm);
  g2[2] += c5 * ((-p12.z * k1 - p32.z * k2) * angleTerm + (-dCos_dS3 - dCos_dS6) / (-sinTheta) * distTerm);
  g3[0] += c5 * (p32.x * k2 * angleTerm + dCos_dS4 / (-sinTheta) * distTerm);
  g3[1] += c5 * (p32.y * k2 * angleTerm + dCos_dS5 / (-sinTheta) * distTerm);
  g3[2] += c5 * (p32.z * k2 * angleTerm + dCos_dS6 / (-sinTheta) * distTerm);
}

// ---- angles and stretch-bends, in chunks ----

constexpr int kChunk = 8;  // terms per chunk: fixed strides let the compiler vectorise across the terms

// Three-atom terms: in rows hold coordinates or geometry and parameters, out rows geometry or gradients.
struct Chunk3 {
  double in[16][kChunk];
  double out[11][kChunk];
};
// Geometry rows (AngleGeometry in order): dist1 dist2 r0.xyz r1.xyz cosTheta sinTheta theta.
enum { G_D1, G_D2, G_R0, G_R1 = G_R0 + 3, G_COS = G_R1 + 3, G_SIN, G_THETA, G_ROWS };

inline P3 chunk3_point(const Chunk3& c, int a, int t) {
  return {c.in[3 * a][t], c.in[3 * a + 1][t], c.in[3 * a + 2][t]};
}

// energy_geometry / gradient_geometry of the lanes up to the acos (coordinates in rows 0-8).
BMX_CLONES void angle_energy_geometry_lanes(Chunk3& c) {
  for (int t = 0; t < kChunk; ++t) {
    P3 p1 = chunk3_point(c, 0, t), p2 = chunk3_point(c, 1, t), p3 = chunk3_point(c, 2, t);
    P3 d12 = p1 - p2, d32 = p3 - p2;
    // distance(): the squares do not care which atom comes first.
    double dist1 = length(d12), dist2 = length(d32);
    c.out[G_D1][t] = dist1;
    c.out[G_D2][t] = dist2;
    c.out[G_COS][t] = cos_theta(p1, p2, p3, dist1, dist2);
  }
}

BMX_CLONES void angle_gradient_geometry_lanes(Chunk3& c) {
  for (int t = 0; t < kChunk; ++t) {
    P3 p1 = chunk3_point(c, 0, t), p2 = chunk3_point(c, 1, t), p3 = chunk3_point(c, 2, t);
    double dist1 = length(p1 - p2), dist2 = length(p3 - p2);
    P3 r0 = (p1 - p2) / dist1;
    P3 r1 = (p3 - p2) / dist2;
    double cosTheta = dot(r0, r1);
    clipToOne(cosTheta);
    double sinThetaSq = 1.0 - cosTheta * cosTheta;
    c.out[G_D1][t] = dist1;
    c.out[G_D2][t] = dist2;
    c.out[G_R0][t] = r0.x;
    c.out[G_R0 + 1][t] = r0.y;
    c.out[G_R0 + 2][t] = r0.z;
    c.out[G_R1][t] = r1.x;
    c.out[G_R1 + 1][t] = r1.y;
    c.out[G_R1 + 2][t] = r1.z;
    c.out[G_COS][t] = cosTheta;
    c.out[G_SIN][t] = std::max(((sinThetaSq > 0.0) ? std::sqrt(sinThetaSq) : 0.0), 1.0e-8);
  }
}

// The geometry of angle terms [0, n) into geo, chunk by chunk.
void angle_geometries(const MmffTerms::Angle* a, std::size_t n, const double* pos, bool gradient, AngleGeometry* geo) {
  Chunk3 c;
  for (std::size_t begin = 0; begin < n; begin += kChunk) {
    std::size_t count = std::min<std::size_t>(kChunk, n - begin);
    for (int t = 0; t < kChunk; ++t) {
      const auto& x = a[begin + (static_cast<std::size_t>(t) < count ? t : 0)];
      const int atoms[3] = {x.i, x.j, x.k};
      for (int m = 0; m < 3; ++m)
        for (int k = 0; k < 3; ++k) c.in[3 * m + k][t] = pos[3 * atoms[m] + k];
    }
    if (gradient)
      angle_gradient_geometry_lanes(c);
    else
      angle_energy_geometry_lanes(c);
    for (std::size_t t = 0; t < count; ++t) {
      AngleGeometry& g = geo[begin + t];
      g.dist1 = c.out[G_D1][t];
      g.dist2 = c.out[G_D2][t];
      g.cosTheta = c.out[G_COS][t];
      g.theta = std::acos(g.cosTheta);
      if (gradient) {
        g.r0 = {c.out[G_R0][t], c.out[G_R0 + 1][t], c.out[G_R0 + 2][t]};
        g.r1 = {c.out[G_R1][t], c.out[G_R1 + 1][t], c.out[G_R1 + 2][t]};
        g.sinTheta = c.out[G_SIN][t];
      }
    }
  }
}

// Geometry into in rows 0-10 (G_*).
inline void put_geometry(Chunk3& c, int t, const AngleGeometry& g) {
  c.in[G_D1][t] = g.dist1;
  c.in[G_D2][t] = g.dist2;
  c.in[G_R0][t] = g.r0.x;
  c.in[G_R0 + 1][t] = g.r0.y;
  c.in[G_R0 + 2][t] = g.r0.z;
  c.in[G_R1][t] = g.r1.x;
  c.in[G_R1 + 1][t] = g.r1.y;
  c.in[G_R1 + 2][t] = g.r1.z;
  c.in[G_COS][t] = g.cosTheta;
  c.in[G_SIN][t] = g.sinTheta;
  c.in[G_THETA][t] = g.theta;
}
inline AngleGeometry get_geometry(const Chunk3& c, int t) {
  AngleGeometry g;
  g.dist1 = c.in[G_D1][t];
  g.dist2 = c.in[G_D2][t];
  g.r0 = {c.in[G_R0][t], c.in[G_R0 + 1][t], c.in[G_R0 + 2][t]};
  g.r1 = {c.in[G_R1][t], c.in[G_R1 + 1][t], c.in[G_R1 + 2][t]};
  g.cosTheta = c.in[G_COS][t];
  g.sinTheta = c.in[G_SIN][t];
  g.theta = c.in[G_THETA][t];
  return g;
}

// angle_grad / stretch_bend_grad of the lanes into out rows 0-8 (atoms i j k); parameters in rows 11-15.
BMX_CLONES void angle_gradient_lanes(Chunk3& c) {
  for (int t = 0; t < kChunk; ++t) {
    MmffTerms::Angle a{0, 0, 0, c.in[11][t], c.in[12][t], c.in[13][t] != 0.0};
    double g[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
    angle_grad(a, get_geometry(c, t), g, 0, 3, 6);
    for (int k = 0; k < 9; ++k) c.out[k][t] = g[k];
  }
}

BMX_CLONES void stretch_bend_gradient_lanes(Chunk3& c) {
  for (int t = 0; t < kChunk; ++t) {
    MmffTerms::StretchBend sb{0, 0, 0, c.in[11][t], c.in[12][t], c.in[13][t], c.in[14][t], c.in[15][t], -1};
    double g[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
    stretch_bend_grad(sb, get_geometry(c, t), g, 0, 3, 6);
    for (int k = 0; k < 9; ++k) c.out[k][t] = g[k];
  }
}

void scatter3(const Chunk3& c, int t, int i, int j, int k, double* grad) {
  const int atoms[3] = {i, j, k};
  for (int m = 0; m < 3; ++m)
    for (int x = 0; x < 3; ++x) grad[3 * atoms[m] + x] += c.out[3 * m + x][t];
}

void angles_gradient(const MmffTerms::Angle* a, std::size_t n, const AngleGeometry* geo, double* grad) {
  Chunk3 c;
  for (std::size_t begin = 0; begin < n; begin += kChunk) {
    std::size_t count = std::min<std::size_t>(kChunk, n - begin);
    for (int t = 0; t < kChunk; ++t) {
      std::size_t i = begin + (static_cast<std::size_t>(t) < count ? t : 0);
      put_geometry(c, t, geo[i]);
      c.in[11][t] = a[i].theta0;
      c.in[12][t] = a[i].ka;
      c.in[13][t] = a[i].linear ? 1.0 : 0.0;
    }
    angle_gradient_lanes(c);
    for (std::size_t t = 0; t < count; ++t) scatter3(c, t, a[begin + t].i, a[begin + t].j, a[begin + t].k, grad);
  }
}

void stretch_bends_gradient(const MmffTerms::StretchBend* sb, std::size_t n, const double* pos,
                            const std::vector<AngleGeometry>& angles, std::size_t angles_done, double* grad) {
  Chunk3 c;
  for (std::size_t begin = 0; begin < n; begin += kChunk) {
    std::size_t count = std::min<std::size_t>(kChunk, n - begin);
    for (int t = 0; t < kChunk; ++t) {
      const auto& x = sb[begin + (static_cast<std::size_t>(t) < count ? t : 0)];
      if (x.angle >= 0 && static_cast<std::size_t>(x.angle) < angles_done)
        put_geometry(c, t, angles[x.angle]);
      else
        put_geometry(c, t, gradient_geometry(x.i, x.j, x.k, pos));
      c.in[11][t] = x.r1;
      c.in[12][t] = x.r2;
      c.in[13][t] = x.theta0;
      c.in[14][t] = x.k_ijk;
      c.in[15][t] = x.k_kji;
    }
    stretch_bend_gradient_lanes(c);
    for (std::size_t t = 0; t < count; ++t) scatter3(c, t, sb[begin + t].i, sb[begin + t].j, sb[begin + t].k, grad);
  }
}

// ---- nonbonded pairs ----

// Pair vectors pos[i] - pos[j] (the contrib's own order, as the gradients use it) and distances.
struct PairGeometry {
  std::vector<double> dx, dy, dz, dist;
  void resize(std::size_t n) {
    if (dist.size() < n)
      for (auto* v : {&dx, &dy, &dz, &dist}) v->resize(n);
  }
};

// Per-thread scratch.
struct Scratch {
  PairGeometry vdw, ele;
  std::vector<AngleGeometry> angles;  // of the angle terms evaluated so far in this evaluation
  std::size_t angles_done = 0;
  std::vector<double> fx, fy, fz;
  void resize(std::size_t n) {
    if (fx.size() < n)
      for (auto* v : {&fx, &fy, &fz}) v->resize(n);
  }
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

// ForceField::distance sums the squares with the lower index first; the squares do not care.
BMX_CLONES void pair_geometry(const double* __restrict pos, const int* __restrict pi, const int* __restrict pj,
                              std::size_t n, double* __restrict dx, double* __restrict dy, double* __restrict dz,
                              double* __restrict dist) {
  for (std::size_t p = 0; p < n; ++p) {
    const double* a = pos + 3 * pi[p];
    const double* b = pos + 3 * pj[p];
    dx[p] = a[0] - b[0];
    dy[p] = a[1] - b[1];
    dz[p] = a[2] - b[2];
  }
  for (std::size_t p = 0; p < n; ++p) {
    double res = 0.0;
    res += dx[p] * dx[p];
    res += dy[p] * dy[p];
    res += dz[p] * dz[p];
    dist[p] = std::sqrt(res);
  }
}

// Distances only (energies): the squares summed as above, then the square roots (`squares` is scratch).
BMX_CLONES void pair_distances(const double* __restrict pos, const int* __restrict pi, const int* __restrict pj,
                               std::size_t n, double* __restrict squares, double* __restrict dist) {
  for (std::size_t p = 0; p < n; ++p) {
    const double* a = pos + 3 * pi[p];
    const double* b = pos + 3 * pj[p];
    double x = a[0] - b[0], y = a[1] - b[1], z = a[2] - b[2];
    double res = 0.0;
    res += x * x;
    res += y * y;
    res += z * z;
    squares[p] = res;
  }
  for (std::size_t p = 0; p < n; ++p) dist[p] = std::sqrt(squares[p]);
}

// The electrostatic pairs are the vdW pairs with charges on both atoms: their geometry is looked up.
void shared_geometry(const PairGeometry& from, const std::vector<int>& index, bool vectors, PairGeometry& to) {
  std::size_t n = index.size();
  to.resize(n);
  for (std::size_t p = 0; p < n; ++p) to.dist[p] = from.dist[index[p]];
  if (!vectors) return;
  for (std::size_t p = 0; p < n; ++p) {
    to.dx[p] = from.dx[index[p]];
    to.dy[p] = from.dy[index[p]];
    to.dz[p] = from.dz[index[p]];
  }
}

void nonbonded_geometry(const MmffTerms& t, const double* pos, bool vectors, Scratch& s) {
  if (!t.vdw.i.empty()) {
    s.vdw.resize(t.vdw.i.size());
    if (vectors)
      pair_geometry(pos, t.vdw.i.data(), t.vdw.j.data(), t.vdw.i.size(), s.vdw.dx.data(), s.vdw.dy.data(),
                    s.vdw.dz.data(), s.vdw.dist.data());
    else
      pair_distances(pos, t.vdw.i.data(), t.vdw.j.data(), t.vdw.i.size(), s.vdw.dx.data(), s.vdw.dist.data());
  }
  const MmffTerms::Electrostatic& el = t.electrostatic;
  if (!el.i.empty()) {
    if (!el.vdw_index.empty()) {
      shared_geometry(s.vdw, el.vdw_index, vectors, s.ele);
    } else {
      s.ele.resize(el.i.size());
      if (vectors)
        pair_geometry(pos, el.i.data(), el.j.data(), el.i.size(), s.ele.dx.data(), s.ele.dy.data(),
                      s.ele.dz.data(), s.ele.dist.data());
      else
        pair_distances(pos, el.i.data(), el.j.data(), el.i.size(), s.ele.dx.data(), s.ele.dist.data());
    }
  }
}

// Utils::calcVdWEnergy, added to res term by term: the in-order sum overlaps the vector arithmetic.
BMX_CLONES double vdw_energy_sum(const double* __restrict dist, const double* __restrict rstar,
                                 const double* __restrict eps, std::size_t n, double res) {
  double const vdw1 = 1.07;
  double const vdw1m1 = vdw1 - 1.0;
  double const vdw2 = 1.12;
  double const vdw2m1 = vdw2 - 1.0;
  for (std::size_t p = 0; p < n; ++p) {
    double d = dist[p], R_star_ij = rstar[p];
    double dist2 = d * d;
    double dist7 = dist2 * dist2 * dist2 * d;
    double aTerm = vdw1 * R_star_ij / (d + vdw1m1 * R_star_ij);
    double aTerm2 = aTerm * aTerm;
    double aTerm7 = aTerm2 * aTerm2 * aTerm2 * aTerm;
    double R_star_ij2 = R_star_ij * R_star_ij;
    double R_star_ij7 = R_star_ij2 * R_star_ij2 * R_star_ij2 * R_star_ij;
    double bTerm = vdw2 * R_star_ij7 / (dist7 + vdw2m1 * R_star_ij7) - 2.0;
    res += eps[p] * aTerm7 * bTerm;
  }
  return res;
}

// VdWContrib::getGrad: the gradient on atom i, dE/dr (x_i - x_j) / r (R* / 100 where r is 0).
BMX_CLONES void vdw_forces(const double* __restrict dx, const double* __restrict dy, const double* __restrict dz,
                           const double* __restrict dist, const double* __restrict rstar, const double* __restrict eps,
                           std::size_t n, double* __restrict fx, double* __restrict fy, double* __restrict fz) {
  double const vdw1 = 1.07;
  double const vdw1m1 = vdw1 - 1.0;
  double const vdw2 = 1.12;
  double const vdw2m1 = vdw2 - 1.0;
  double const vdw2t7 = vdw2 * 7.0;
  for (std::size_t p = 0; p < n; ++p) {
    double d = dist[p];
    double q = d / rstar[p];
    double q2 = q * q;
    double q6 = q2 * q2 * q2;
    double q7 = q6 * q;
    double q7pvdw2m1 = q7 + vdw2m1;
    double t = vdw1 / (q + vdw1 - 1.0);
    double t2 = t * t;
    double t7 = t2 * t2 * t2 * t;
    double dE_dr = eps[p] / rstar[p] * t7 *
                   (-vdw2t7 * q6 / (q7pvdw2m1 * q7pvdw2m1) + ((-vdw2t7 / q7pvdw2m1 + 14.0) / (q + vdw1m1)));
    // Divided unconditionally and then selected, so that the loop vectorises (same values).
    double gx = dE_dr * dx[p] / d, gy = dE_dr * dy[p] / d, gz = dE_dr * dz[p] / d;
    double zero = rstar[p] * 0.01;
    fx[p] = ((d > 0.0) ? gx : zero);
    fy[p] = ((d > 0.0) ? gy : zero);
    fz[p] = ((d > 0.0) ? gz : zero);
  }
}

// Utils::calcEleEnergy, summed as vdw_energy_sum.
BMX_CLONES double ele_energy_sum(const double* __restrict dist, const double* __restrict charge,
                                 const std::uint8_t* __restrict one_four, bool distance_diel, std::size_t n,
                                 double res) {
  double const diel = 332.0716;
  double const sc1_4 = 0.75;
  for (std::size_t p = 0; p < n; ++p) {
    double corr_dist = dist[p] + 0.05;
    if (distance_diel) corr_dist *= corr_dist;
    res += (diel * charge[p] / corr_dist * (one_four[p] ? sc1_4 : 1.0));
  }
  return res;
}

// EleContrib::getGrad (0.02 where r is 0).
BMX_CLONES void ele_forces(const double* __restrict dx, const double* __restrict dy, const double* __restrict dz,
                           const double* __restrict dist, const double* __restrict charge,
                           const std::uint8_t* __restrict one_four, std::uint8_t diel_model, std::size_t n,
                           double* __restrict fx, double* __restrict fy, double* __restrict fz) {
  const bool distance_diel = diel_model == 2;
  for (std::size_t p = 0; p < n; ++p) {
    double d = dist[p];
    double corr_dist = d + 0.05;
    corr_dist *= (distance_diel ? corr_dist * corr_dist : corr_dist);
    double dE_dr = -332.0716 * (double)(diel_model)*charge[p] / corr_dist * (one_four[p] ? 0.75 : 1.0);
    double gx = dE_dr * dx[p] / d, gy = dE_dr * dy[p] / d, gz = dE_dr * dz[p] / d;
    fx[p] = ((d > 0.0) ? gx : 0.02);
    fy[p] = ((d > 0.0) ? gy : 0.02);
    fz[p] = ((d > 0.0) ? gz : 0.02);
  }
}

// g[i] += f, g[j] -= f, pair by pair in order.
void scatter_pairs(const int* pi, const int* pj, const double* fx, const double* fy, const double* fz, std::size_t n,
                   double* grad) {
  for (std::size_t p = 0; p < n; ++p) {
    double* g1 = grad + 3 * pi[p];
    double* g2 = grad + 3 * pj[p];
    g1[0] += fx[p];
    g2[0] -= fx[p];
    g1[1] += fy[p];
    g2[1] -= fy[p];
    g1[2] += fz[p];
    g2[2] -= fz[p];
  }
}

// ---- torsions, in chunks evaluated lane-parallel ----

// Chunk of kChunk four-atom terms: the atoms' x y z (in rows 0-11) and parameters (rows 12-14) in, the atoms'
// gradients (out rows 0-11) or energies (out row 0) out. Fixed strides let the compiler see that rows do not
// overlap and vectorise across the terms.
struct Chunk4 {
  double in[15][kChunk];
  double out[13][kChunk];
};

// Fills the chunk with terms [begin, begin + count); spare lanes repeat the first term.
void gather_torsions(const MmffTerms::Torsion* tor, std::size_t count, const double* pos, Chunk4& c) {
  for (int t = 0; t < kChunk; ++t) {
    const auto& x = tor[static_cast<std::size_t>(t) < count ? t : 0];
    const int atoms[4] = {x.i, x.j, x.k, x.l};
    for (int a = 0; a < 4; ++a)
      for (int k = 0; k < 3; ++k) c.in[3 * a + k][t] = pos[3 * atoms[a] + k];
    c.in[12][t] = x.v1;
    c.in[13][t] = x.v2;
    c.in[14][t] = x.v3;
  }
}

inline P3 chunk_point(const Chunk4& c, int a, int t) {
  return {c.in[3 * a][t], c.in[3 * a + 1][t], c.in[3 * a + 2][t]};
}

// Utils::calcTorsionCosPhi and calcTorsionEnergy.
BMX_CLONES void torsion_energies(Chunk4& c) {
  for (int t = 0; t < kChunk; ++t) {
    P3 iPoint = chunk_point(c, 0, t), jPoint = chunk_point(c, 1, t), kPoint = chunk_point(c, 2, t),
       lPoint = chunk_point(c, 3, t);
    double V1 = c.in[12][t], V2 = c.in[13][t], V3 = c.in[14][t];
    P3 r1 = iPoint - jPoint;
    P3 r2 = kPoint - jPoint;
    P3 r3 = jPoint - kPoint;
    P3 r4 = lPoint - kPoint;
    P3 t1 = cross(r1, r2);
    P3 t2 = cross(r3, r4);
    double cosPhi = dot(t1, t2) / (length(t1) * length(t2));
    clipToOne(cosPhi);
    double cos2Phi = 2.0 * cosPhi * cosPhi - 1.0;
    double cos3Phi = cosPhi * (2.0 * cos2Phi - 1.0);
    c.out[0][t] = (0.5 * (V1 * (1.0 + cosPhi) + V2 * (1.0 - cos2Phi) + V3 * (1.0 + cos3Phi)));
  }
}

// TorsionAngleContrib::getGrad (computeDihedral, calcTorsionGrad).
BMX_CLONES void torsion_gradients(Chunk4& c) {
  for (int t = 0; t < kChunk; ++t) {
    P3 p1 = chunk_point(c, 0, t), p2 = chunk_point(c, 1, t), p3 = chunk_point(c, 2, t), p4 = chunk_point(c, 3, t);
    double V1 = c.in[12][t], V2 = c.in[13][t], V3 = c.in[14][t];
    P3 r0 = p1 - p2;
    P3 r1 = p3 - p2;
    P3 r2 = neg(r1);
    P3 r3 = p4 - p3;
    P3 t0 = cross(r0, r1);
    double d0 = std::max(length(t0), 1.0e-5);
    t0 /= d0;
    P3 t1 = cross(r2, r3);
    double d1 = std::max(length(t1), 1.0e-5);
    t1 /= d1;
    double cosPhi = std::max(-1.0, std::min(dot(t0, t1), 1.0));

    double sinPhiSq = 1.0 - cosPhi * cosPhi;
    double sinPhi = ((sinPhiSq > 0.0) ? std::sqrt(sinPhiSq) : 0.0);
    double sin2Phi = 2.0 * sinPhi * cosPhi;
    double sin3Phi = 3.0 * sinPhi - 4.0 * sinPhi * sinPhiSq;
    double dE_dPhi = 0.5 * (-(V1)*sinPhi + 2.0 * V2 * sin2Phi - 3.0 * V3 * sin3Phi);
    double inv_cos = 1.0 / cosPhi, inv_sin = 1.0 / sinPhi;  // both formed, then selected: vectorises
    // isDoubleZero(sinPhi): sinPhi is never negative (and NaN fails both forms), so one comparison,
    // which vectorises.
    double sinTerm = -dE_dPhi * ((sinPhi < 1.0e-10) ? inv_cos : inv_sin);

    double dCos_dT0 = 1.0 / d0 * (t1.x - cosPhi * t0.x), dCos_dT1 = 1.0 / d0 * (t1.y - cosPhi * t0.y),
           dCos_dT2 = 1.0 / d0 * (t1.z - cosPhi * t0.z), dCos_dT3 = 1.0 / d1 * (t0.x - cosPhi * t1.x),
           dCos_dT4 = 1.0 / d1 * (t0.y - cosPhi * t1.y), dCos_dT5 = 1.0 / d1 * (t0.z - cosPhi * t1.z);
    c.out[0][t] = sinTerm * (dCos_dT2 * r1.y - dCos_dT1 * r1.z);
    c.out[1][t] = sinTerm * (dCos_dT0 * r1.z - dCos_dT2 * r1.x);
    c.out[2][t] = sinTerm * (dCos_dT1 * r1.x - dCos_dT0 * r1.y);
    c.out[3][t] =
        sinTerm * (dCos_dT1 * (r1.z - r0.z) + dCos_dT2 * (r0.y - r1.y) + dCos_dT4 * (-r3.z) + dCos_dT5 * (r3.y));
    c.out[4][t] =
        sinTerm * (dCos_dT0 * (r0.z - r1.z) + dCos_dT2 * (r1.x - r0.x) + dCos_dT3 * (r3.z) + dCos_dT5 * (-r3.x));
    c.out[5][t] =
        sinTerm * (dCos_dT0 * (r1.y - r0.y) + dCos_dT1 * (r0.x - r1.x) + dCos_dT3 * (-r3.y) + dCos_dT4 * (r3.x));
    c.out[6][t] =
        sinTerm * (dCos_dT1 * (r0.z) + dCos_dT2 * (-r0.y) + dCos_dT4 * (r3.z - r2.z) + dCos_dT5 * (r2.y - r3.y));
    c.out[7][t] =
        sinTerm * (dCos_dT0 * (-r0.z) + dCos_dT2 * (r0.x) + dCos_dT3 * (r2.z - r3.z) + dCos_dT5 * (r3.x - r2.x));
    c.out[8][t] =
        sinTerm * (dCos_dT0 * (r0.y) + dCos_dT1 * (-r0.x) + dCos_dT3 * (r3.y - r2.y) + dCos_dT4 * (r2.x - r3.x));
    c.out[9][t] = sinTerm * (dCos_dT4 * r2.z - dCos_dT5 * r2.y);
    c.out[10][t] = sinTerm * (dCos_dT5 * r2.x - dCos_dT3 * r2.z);
    c.out[11][t] = sinTerm * (dCos_dT3 * r2.y - dCos_dT4 * r2.x);
  }
}

double torsions_energy(const MmffTerms::Torsion* tor, std::size_t n, const double* pos, double res) {
  Chunk4 c;
  for (std::size_t begin = 0; begin < n; begin += kChunk) {
    std::size_t count = std::min<std::size_t>(kChunk, n - begin);
    gather_torsions(tor + begin, count, pos, c);
    torsion_energies(c);
    for (std::size_t t = 0; t < count; ++t) res += c.out[0][t];
  }
  return res;
}

void torsions_gradient(const MmffTerms::Torsion* tor, std::size_t n, const double* pos, double* grad) {
  Chunk4 c;
  for (std::size_t begin = 0; begin < n; begin += kChunk) {
    std::size_t count = std::min<std::size_t>(kChunk, n - begin);
    gather_torsions(tor + begin, count, pos, c);
    torsion_gradients(c);
    for (std::size_t t = 0; t < count; ++t) {
      const auto& x = tor[begin + t];
      const int atoms[4] = {x.i, x.j, x.k, x.l};
      for (int a = 0; a < 4; ++a)
        for (int k = 0; k < 3; ++k) grad[3 * atoms[a] + k] += c.out[3 * a + k][t];
    }
  }
}

// ---- out-of-plane bends, in chunks: vector arithmetic around a scalar asin ----

// Rows 0-11 the atoms i j k l, row 12 koop; row 13 receives chi.
void gather_oops(const MmffTerms::OutOfPlane* oop, std::size_t count, const double* pos, Chunk4& c) {
  for (int t = 0; t < kChunk; ++t) {
    const auto& x = oop[static_cast<std::size_t>(t) < count ? t : 0];
    const int atoms[4] = {x.i, x.j, x.k, x.l};
    for (int a = 0; a < 4; ++a)
      for (int k = 0; k < 3; ++k) c.in[3 * a + k][t] = pos[3 * atoms[a] + k];
    c.in[12][t] = x.koop;
  }
}

// Utils::calcOopChi up to the asin: sinChi in out row 0.
BMX_CLONES void oop_sin_chi_energy(Chunk4& c) {
  for (int t = 0; t < kChunk; ++t) {
    P3 iPoint = chunk_point(c, 0, t), jPoint = chunk_point(c, 1, t), kPoint = chunk_point(c, 2, t),
       lPoint = chunk_point(c, 3, t);
    P3 rJI = iPoint - jPoint;
    P3 rJK = kPoint - jPoint;
    P3 rJL = lPoint - jPoint;
    rJI /= length(rJI);
    rJK /= length(rJK);
    rJL /= length(rJL);
    P3 n = cross(rJI, rJK);
    n /= length(n);
    double sinChi = dot(n, rJL);
    clipToOne(sinChi);
    c.out[0][t] = sinChi;
  }
}

// OopBendContrib::getGrad's geometry; `with_gradient` false stops at sinChi (out row 0), true takes chi from
// in row 13 and fills out rows 0-11 with the atoms' gradients and row 12 with 1 where RDKit skips the term
// (an atom on top of the centre).
template <bool with_gradient>
__attribute__((always_inline)) inline void oop_gradient_lanes(Chunk4& c) {
  double const c2 = MDYNE_A_TO_KCAL_MOL * DEG2RAD * DEG2RAD;
  for (int t = 0; t < kChunk; ++t) {
    P3 iPoint = chunk_point(c, 0, t), jPoint = chunk_point(c, 1, t), kPoint = chunk_point(c, 2, t),
       lPoint = chunk_point(c, 3, t);
    P3 rJI = iPoint - jPoint;
    P3 rJK = kPoint - jPoint;
    P3 rJL = lPoint - jPoint;
    double dJI = length(rJI);
    double dJK = length(rJK);
    double dJL = length(rJL);
    rJI /= dJI;
    rJK /= dJK;
    rJL /= dJL;
    P3 n = cross(neg(rJI), rJK);
    n /= length(n);
    double sinChi = dot(rJL, n);
    clipToOne(sinChi);
    if (!with_gradient) {
      c.out[0][t] = sinChi;
      continue;
    }
    // isDoubleZero of a length (never negative; NaN fails both forms): one comparison each.
    c.out[12][t] = ((dJI < 1.0e-10) | (dJK < 1.0e-10) | (dJL < 1.0e-10)) ? 1.0 : 0.0;
    double cosChiSq = 1.0 - sinChi * sinChi;
    double cosChi = std::max(((cosChiSq > 0.0) ? std::sqrt(cosChiSq) : 0.0), 1.0e-8);
    double chi = c.in[13][t];
    double cosTheta = dot(rJI, rJK);
    clipToOne(cosTheta);
    double sinThetaSq = std::max(1.0 - cosTheta * cosTheta, 1.0e-8);
    double sinTheta = std::max(((sinThetaSq > 0.0) ? std::sqrt(sinThetaSq) : 0.0), 1.0e-8);
    double dE_dChi = RAD2DEG * c2 * c.in[12][t] * chi;
    P3 t1 = cross(rJL, rJK);
    P3 t2 = cross(rJI, rJL);
    P3 t3 = cross(rJK, rJI);
    double term1 = cosChi * sinTheta;
    double term2 = sinChi / (cosChi * sinThetaSq);
    double tg1[3] = {(t1.x / term1 - (rJI.x - rJK.x * cosTheta) * term2) / dJI,
                     (t1.y / term1 - (rJI.y - rJK.y * cosTheta) * term2) / dJI,
                     (t1.z / term1 - (rJI.z - rJK.z * cosTheta) * term2) / dJI};
    double tg3[3] = {(t2.x / term1 - (rJK.x - rJI.x * cosTheta) * term2) / dJK,
                     (t2.y / term1 - (rJK.y - rJI.y * cosTheta) * term2) / dJK,
                     (t2.z / term1 - (rJK.z - rJI.z * cosTheta) * term2) / dJK};
    double tg4[3] = {(t3.x / term1 - rJL.x * sinChi / cosChi) / dJL, (t3.y / term1 - rJL.y * sinChi / cosChi) / dJL,
                     (t3.z / term1 - rJL.z * sinChi / cosChi) / dJL};
    for (int i = 0; i < 3; ++i) {
      c.out[i][t] = dE_dChi * tg1[i];
      c.out[3 + i][t] = -dE_dChi * (tg1[i] + tg3[i] + tg4[i]);
      c.out[6 + i][t] = dE_dChi * tg3[i];
      c.out[9 + i][t] = dE_dChi * tg4[i];
    }
  }
}
BMX_CLONES void oop_sin_chi_gradient(Chunk4& c) { oop_gradient_lanes<false>(c); }
BMX_CLONES void oop_gradients(Chunk4& c) { oop_gradient_lanes<true>(c); }

double oops_energy(const MmffTerms::OutOfPlane* oop, std::size_t n, const double* pos, double res) {
  double const c2 = MDYNE_A_TO_KCAL_MOL * DEG2RAD * DEG2RAD;
  Chunk4 c;
  for (std::size_t begin = 0; begin < n; begin += kChunk) {
    std::size_t count = std::min<std::size_t>(kChunk, n - begin);
    gather_oops(oop + begin, count, pos, c);
    oop_sin_chi_energy(c);
    for (std::size_t t = 0; t < count; ++t) {
      double chi = RAD2DEG * std::asin(c.out[0][t]);
      res += (0.5 * c2 * oop[begin + t].koop * chi * chi);  // Utils::calcOopBendEnergy
    }
  }
  return res;
}

void oops_gradient(const MmffTerms::OutOfPlane* oop, std::size_t n, const double* pos, double* grad) {
  Chunk4 c;
  for (std::size_t begin = 0; begin < n; begin += kChunk) {
    std::size_t count = std::min<std::size_t>(kChunk, n - begin);
    gather_oops(oop + begin, count, pos, c);
    oop_sin_chi_gradient(c);
    for (int t = 0; t < kChunk; ++t) c.in[13][t] = RAD2DEG * std::asin(c.out[0][t]);
    oop_gradients(c);
    for (std::size_t t = 0; t < count; ++t) {
      if (c.out[12][t] != 0.0) continue;
      const auto& x = oop[begin + t];
      const int atoms[4] = {x.i, x.j, x.k, x.l};
      for (int a = 0; a < 4; ++a)
        for (int k = 0; k < 3; ++k) grad[3 * atoms[a] + k] += c.out[3 * a + k][t];
    }
  }
}

}  // namespace

double mmff_energy(const MmffTerms& t, const double* pos) {
  using Kind = MmffTerms::Kind;
  Scratch& s = scratch();
  nonbonded_geometry(t, pos, false, s);
  s.angles_done = 0;
  double res = 0.0;
  for (const auto& b : t.blocks) {
    std::size_t n = b.end - b.begin;
    switch (b.kind) {
      case Kind::bond:
        for (std::size_t i = b.begin; i < b.end; ++i) res += bond_energy(t.bonds[i], pos);
        break;
      case Kind::angle:
        if (s.angles.size() < t.angles.size()) s.angles.resize(t.angles.size());
        angle_geometries(&t.angles[b.begin], n, pos, false, &s.angles[b.begin]);
        for (std::size_t i = b.begin; i < b.end; ++i) res += angle_energy(t.angles[i], s.angles[i]);
        if (b.begin == s.angles_done) s.angles_done = b.end;
        break;
      case Kind::stretch_bend:
        for (std::size_t i = b.begin; i < b.end; ++i) {
          const auto& sb = t.stretch_bends[i];
          if (sb.angle >= 0 && static_cast<std::size_t>(sb.angle) < s.angles_done)
            res += stretch_bend_energy(sb, s.angles[sb.angle]);
          else
            res += stretch_bend_energy(sb, energy_geometry(sb.i, sb.j, sb.k, pos));
        }
        break;
      case Kind::out_of_plane:
        res = oops_energy(&t.out_of_planes[b.begin], n, pos, res);
        break;
      case Kind::torsion:
        res = torsions_energy(&t.torsions[b.begin], n, pos, res);
        break;
      case Kind::vdw:
        res = vdw_energy_sum(&s.vdw.dist[b.begin], &t.vdw.r_star[b.begin], &t.vdw.well_depth[b.begin], n, res);
        break;
      case Kind::electrostatic:
        res = ele_energy_sum(&s.ele.dist[b.begin], &t.electrostatic.charge_term[b.begin],
                             &t.electrostatic.one_four[b.begin], t.electrostatic.diel_model == 2, n, res);
        break;
    }
  }
  return res;
}

void mmff_gradient(const MmffTerms& t, const double* pos, double* grad) {
  using Kind = MmffTerms::Kind;
  Scratch& s = scratch();
  nonbonded_geometry(t, pos, true, s);
  s.angles_done = 0;
  for (const auto& b : t.blocks) {
    std::size_t n = b.end - b.begin;
    switch (b.kind) {
      case Kind::bond:
        for (std::size_t i = b.begin; i < b.end; ++i) bond_grad(t.bonds[i], pos, grad);
        break;
      case Kind::angle:
        if (s.angles.size() < t.angles.size()) s.angles.resize(t.angles.size());
        angle_geometries(&t.angles[b.begin], n, pos, true, &s.angles[b.begin]);
        angles_gradient(&t.angles[b.begin], n, &s.angles[b.begin], grad);
        if (b.begin == s.angles_done) s.angles_done = b.end;
        break;
      case Kind::stretch_bend:
        stretch_bends_gradient(&t.stretch_bends[b.begin], n, pos, s.angles, s.angles_done, grad);
        break;
      case Kind::out_of_plane:
        oops_gradient(&t.out_of_planes[b.begin], n, pos, grad);
        break;
      case Kind::torsion:
        torsions_gradient(&t.torsions[b.begin], n, pos, grad);
        break;
      case Kind::vdw:
        s.resize(n);
        vdw_forces(&s.vdw.dx[b.begin], &s.vdw.dy[b.begin], &s.vdw.dz[b.begin], &s.vdw.dist[b.begin],
                   &t.vdw.r_star[b.begin], &t.vdw.well_depth[b.begin], n, s.fx.data(), s.fy.data(), s.fz.data());
        scatter_pairs(&t.vdw.i[b.begin], &t.vdw.j[b.begin], s.fx.data(), s.fy.data(), s.fz.data(), n, grad);
        break;
      case Kind::electrostatic:
        s.resize(n);
        ele_forces(&s.ele.dx[b.begin], &s.ele.dy[b.begin], &s.ele.dz[b.begin], &s.ele.dist[b.begin],
                   &t.electrostatic.charge_term[b.begin], &t.electrostatic.one_four[b.begin],
                   t.electrostatic.diel_model, n, s.fx.data(), s.fy.data(), s.fz.data());
        scatter_pairs(&t.electrostatic.i[b.begin], &t.electrostatic.j[b.begin], s.fx.data(), s.fy.data(), s.fz.data(),
                      n, grad);
        break;
    }
  }
}

}  // namespace bmx::forcefield

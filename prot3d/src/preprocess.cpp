// Spec gcp_vqvae.md §1 steps 5-9, mirroring the float64 reference (gcp_vqvae_reference.py: preprocess_file and
// impute_missing) operation by operation, so that sequential in-place updates happen in the same order.
#include "bmx/prot3d/preprocess.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace bmx::prot3d {
namespace {

const double kNaN = std::nan("");

bool has_nan(const Vec3& v) { return std::isnan(v[0]) || std::isnan(v[1]) || std::isnan(v[2]); }
bool finite(const Vec3& v) { return std::isfinite(v[0]) && std::isfinite(v[1]) && std::isfinite(v[2]); }
using namespace bmx::vec3;

// Residues inserted for a numbering gap between two kept residues (step 5); -1 when a CA is missing.
int estimate_missing(const Vec3& prev_ca, const Vec3& next_ca) {
  if (has_nan(prev_ca) || has_nan(next_ca)) return -1;
  double d = norm(sub(next_ca, prev_ca));
  return std::max(0, static_cast<int>(std::floor((d / 3.8) * 1.2) - 1));
}

}  // namespace

char one_letter_code(const std::string& name) {
  static const std::map<std::string, char> table = {
      {"ALA", 'A'}, {"ARG", 'R'}, {"ASN", 'N'}, {"ASP", 'D'}, {"CYS", 'C'}, {"GLN", 'Q'}, {"GLU", 'E'},
      {"GLY", 'G'}, {"HIS", 'H'}, {"ILE", 'I'}, {"LEU", 'L'}, {"LYS", 'K'}, {"MET", 'M'}, {"PHE", 'F'},
      {"PRO", 'P'}, {"SER", 'S'}, {"THR", 'T'}, {"TRP", 'W'}, {"TYR", 'Y'}, {"VAL", 'V'}};
  // ASX, GLX, PYL and SEC map to B, Z, O, U upstream and become X in step 8, like every other name.
  auto it = table.find(name);
  return it == table.end() ? 'X' : it->second;
}

std::vector<bool> impute_backbone(std::vector<std::array<Vec3, 4>>& x) {
  const std::size_t L = x.size();
  std::vector<std::array<bool, 4>> changed(L);
  bool any = false;
  for (std::size_t i = 0; i < L; ++i)
    for (int a = 0; a < 4; ++a) any |= (changed[i][a] = has_nan(x[i][a]));
  std::vector<bool> valid(L, true);
  if (!any) return valid;
  std::vector<bool> res_changed(L);
  for (std::size_t i = 0; i < L; ++i) {
    res_changed[i] = changed[i][0] || changed[i][1] || changed[i][2] || changed[i][3];
    valid[i] = !res_changed[i];
  }

  // 9.1 / 9.2: per atom type, copy at the ends and arcs or lines across internal gaps.
  for (int a = 0; a < 4; ++a) {
    std::vector<std::size_t> ok;
    for (std::size_t i = 0; i < L; ++i)
      if (!changed[i][a]) ok.push_back(i);
    if (ok.empty()) {
      for (std::size_t i = 0; i < L; ++i) x[i][a] = {0.0, 0.0, 0.0};
      continue;
    }
    for (std::size_t i = 0; i < ok.front(); ++i) x[i][a] = x[ok.front()][a];
    for (std::size_t i = ok.back() + 1; i < L; ++i) x[i][a] = x[ok.back()][a];
    for (std::size_t k = 0; k + 1 < ok.size(); ++k) {
      const std::size_t p = ok[k], q = ok[k + 1];
      const std::size_t g = q - p - 1;
      if (g == 0) continue;
      const Vec3 xp = x[p][a], xq = x[q][a];
      const Vec3 v = sub(xq, xp);
      const double dist = norm(v);
      const double target = static_cast<double>(g) * 3.8;
      bool linear = true;
      if (target > dist) {
        const Vec3 u = scale(v, 1.0 / dist);
        Vec3 t = {1.0, 0.0, 0.0};
        if (std::fabs(u[0]) > 0.9) t = {0.0, 1.0, 0.0};
        Vec3 n = cross(u, t);
        n = scale(n, 1.0 / norm(n));
        const double h2 = (target / M_PI) * (target / M_PI) - (dist / 2) * (dist / 2);
        if (h2 >= 0) {
          linear = false;
          const double h = std::sqrt(h2);
          for (std::size_t j = 1; j <= g; ++j) {
            const double th = static_cast<double>(j) * M_PI / static_cast<double>(g + 1);
            x[p + j][a] = add(add(xp, scale(u, dist * static_cast<double>(j) / static_cast<double>(g + 1))),
                              scale(n, h * std::sin(th)));
          }
        }
      }
      if (linear)
        for (std::size_t j = 1; j <= g; ++j) {
          const double w = static_cast<double>(j) / static_cast<double>(g + 1);
          x[p + j][a] = add(scale(xp, 1 - w), scale(xq, w));
        }
    }
  }

  // 9.3: CA spacing, sequential and in place.
  for (std::size_t i = 0; i + 1 < L; ++i) {
    if (!res_changed[i] && !res_changed[i + 1]) continue;
    const Vec3 v = sub(x[i + 1][1], x[i][1]);
    const double d = norm(v);
    if (d <= 1e-6) continue;
    const Vec3 delta = scale(v, (d - 3.8) / d);
    if (!res_changed[i]) {
      for (auto& atom : x[i + 1]) atom = sub(atom, delta);
    } else if (!res_changed[i + 1]) {
      for (auto& atom : x[i]) atom = add(atom, delta);
    } else {
      for (auto& atom : x[i]) atom = add(atom, scale(delta, 0.5));
      for (auto& atom : x[i + 1]) atom = sub(atom, scale(delta, 0.5));
    }
  }

  // 9.4: bond lengths, sequential and in place (N->CA, CA->C, C->O, then the peptide C->N of the next residue).
  static const int bond_a[3] = {0, 1, 2}, bond_b[3] = {1, 2, 3};
  static const double bond_len[3] = {1.458, 1.525, 1.231};
  for (std::size_t i = 0; i < L; ++i) {
    for (int k = 0; k < 3; ++k) {
      const int a = bond_a[k], b = bond_b[k];
      if (!changed[i][a] && !changed[i][b]) continue;
      const Vec3 v = sub(x[i][b], x[i][a]);
      const double nv = norm(v);
      if (nv > 1e-6) x[i][b] = add(x[i][a], scale(v, bond_len[k] / nv));
    }
    if (i + 1 < L && (changed[i][2] || changed[i + 1][0])) {
      const Vec3 v = sub(x[i + 1][0], x[i][2]);
      const double nv = norm(v);
      if (nv > 1e-6) x[i + 1][0] = add(x[i][2], scale(v, 1.329 / nv));
    }
  }
  return valid;
}

PreprocessedChain preprocess_chain(const std::vector<RawResidue>& raw, const ChainLimits& limits,
                                   const std::vector<HetResidue>& het) {
  PreprocessedChain out;
  if (raw.empty()) {
    out.status = ChainStatus::no_atom_residues;
    return out;
  }
  std::vector<Residue> res;
  std::vector<std::array<Vec3, 4>> pos;
  const std::array<Vec3, 4> blank = {Vec3{kNaN, kNaN, kNaN}, Vec3{kNaN, kNaN, kNaN}, Vec3{kNaN, kNaN, kNaN},
                                     Vec3{kNaN, kNaN, kNaN}};
  // Step 5, walked forwards: the upstream backward walk compares original neighbours only, so it is the same.
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (i > 0 && raw[i].id.number > raw[i - 1].id.number + 1) {
      const int gap = raw[i].id.number - raw[i - 1].id.number - 1;
      int ins = gap;
      if (gap > 5) {
        const int est = estimate_missing(raw[i - 1].atoms[1], raw[i].atoms[1]);
        ins = est < 0 ? 5 : std::min(gap, est);
      }
      for (int j = 1; j <= ins; ++j) {
        Residue r;
        r.id.number = raw[i - 1].id.number + j;
        r.one_letter = 'X';
        r.observed = false;
        if (ins == gap)  // numbering is exact: a HETATM residue with this number is what left the hole
          for (const HetResidue& h : het)
            if (h.number == r.id.number) r.name = h.name;
        res.push_back(r);
        pos.push_back(blank);
      }
    }
    Residue r;
    r.name = raw[i].name;
    r.one_letter = one_letter_code(raw[i].name);
    r.id = raw[i].id;
    res.push_back(r);
    pos.push_back(raw[i].atoms);
  }
  // Step 6: a residue missing any of N/CA/C/O is blanked entirely.
  for (std::size_t i = 0; i < pos.size(); ++i) {
    bool partial = false;
    for (const Vec3& a : pos[i]) partial |= has_nan(a);
    if (partial) {
      pos[i] = blank;
      res[i].observed = false;
    }
  }
  // Step 7: filters.
  const int L = static_cast<int>(pos.size());
  int run = 0;
  for (const auto& p : pos) {
    if (has_nan(p[1])) {
      ++out.n_missing_ca;
      out.longest_missing_block = std::max(out.longest_missing_block, ++run);
    } else {
      run = 0;
    }
  }
  if (L < limits.min_len || (limits.max_len > 0 && L > limits.max_len))
    out.status = ChainStatus::length_out_of_range;
  else if (static_cast<double>(out.n_missing_ca) / L > limits.max_missing_ratio)
    out.status = ChainStatus::missing_ratio_exceeded;
  else if (out.longest_missing_block > limits.max_missing_block)
    out.status = ChainStatus::missing_block_exceeded;
  out.backbone.residues = std::move(res);
  if (out.status != ChainStatus::ok) return out;
  // Step 9 (step 8 is folded into one_letter_code).
  impute_backbone(pos);
  // Imputation from degenerate neighbours (duplicate or collinear atoms) can give NaN: such a chain is refused,
  // never handed on as if its backbone were real.
  for (std::size_t i = 0; i < pos.size(); ++i)
    if (!finite(pos[i][0]) || !finite(pos[i][1]) || !finite(pos[i][2])) {
      out.status = ChainStatus::bad_coordinates;
      out.unimputable = static_cast<int>(i);
      return out;
    }
  out.backbone.coords.resize(pos.size());
  out.backbone.oxygen.resize(pos.size());
  for (std::size_t i = 0; i < pos.size(); ++i) {
    out.backbone.coords[i] = {pos[i][0], pos[i][1], pos[i][2]};
    out.backbone.oxygen[i] = pos[i][3];
  }
  return out;
}

}  // namespace bmx::prot3d

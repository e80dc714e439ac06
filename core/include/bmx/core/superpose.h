// Optimal rigid superposition (Kabsch) of two point sets and the numbers users judge structures by.
// Used by the molecule and protein round-trip evaluations.
#pragma once
#include <array>
#include <vector>

namespace bmx {

using Vec3 = std::array<double, 3>;

struct Superposition {
  double rmsd = 0.0;                 // after optimal rotation + translation of `mobile` onto `target`
  std::array<double, 9> rotation{};  // row-major, applied to mobile - mobile_centroid
  Vec3 mobile_centroid{}, target_centroid{};
};

// Proper rotations only (a mirror image is not superposed onto its original). Sizes must match and be > 0.
Superposition superpose(const std::vector<Vec3>& mobile, const std::vector<Vec3>& target);

// TM-score of `model` onto `target` (same residue count, paired by index) with the usual length-dependent d0;
// maximised over superpositions seeded from fragments as TM-score does (not exact TM-align, no realignment).
double tm_score(const std::vector<Vec3>& model, const std::vector<Vec3>& target);

}  // namespace bmx

// Comparing two sets of matched points (atoms, CA positions): RMSD after the optimal rigid superposition (Kabsch)
// and TM-score (Zhang & Skolnick 2004) with the superposition search of the TM-score program. Used by the molecule
// and protein round-trip evaluations.
#pragma once
#include <vector>

#include "bmx/core/geom/vec3.h"

namespace bmx {

// RMSD of `mobile` onto `target` after the least-squares rotation + translation. Proper rotations only (a mirror
// image is not superposed onto its original). Sizes must match and be > 0 (std::invalid_argument otherwise).
double superposed_rmsd(const std::vector<Vec3>& mobile, const std::vector<Vec3>& target);

// TM-score of `model` against `target` (paired by index, normalised by their length, d0 from that length),
// maximised over superpositions seeded on fragments and refined on the residues within the search radius, as the
// TM-score program does (no realignment). 1 for identical structures, ~0.3 for unrelated ones.
double tm_score(const std::vector<Vec3>& model, const std::vector<Vec3>& target);

}  // namespace bmx

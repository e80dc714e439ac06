// Comparing two sets of matched CA positions: RMSD after optimal superposition (Kabsch / QCP) and TM-score
// (Zhang & Skolnick 2004) with the superposition search of the TM-score program.
#pragma once
#include <vector>

#include "bmx/prot3d/backbone.h"

namespace bmx::prot3d {

// RMSD of `model` onto `reference` after the least-squares rigid superposition (no reflection). Same lengths, >= 1.
double superposed_rmsd(const std::vector<Vec3>& model, const std::vector<Vec3>& reference);

// TM-score of `model` against `reference` (normalised by the reference length, d0 from that length), maximised over
// superpositions seeded on fragments as in the TM-score program. 1 for identical structures, ~0.3 for random.
double tm_score(const std::vector<Vec3>& model, const std::vector<Vec3>& reference);

}  // namespace bmx::prot3d

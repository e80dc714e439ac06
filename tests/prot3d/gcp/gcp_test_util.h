// Reading the GCP-VQVAE test vectors (vectors/gcp/*.json) into bmx types.
#pragma once
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bmx/prot3d/backbone.h"
#include "shared.h"

namespace gcptest {

inline nlohmann::json vector_json(const std::string& name) {
  return nlohmann::json::parse(bmx::test::read_file(bmx::test::shared_file("vectors/gcp/" + name + ".json")));
}

// Nested arrays -> flat doubles (null -> NaN).
inline void flatten_into(const nlohmann::json& j, std::vector<double>& out) {
  if (j.is_array()) {
    for (const auto& x : j) flatten_into(x, out);
  } else {
    out.push_back(j.is_null() ? NAN : j.get<double>());
  }
}
inline std::vector<double> flatten(const nlohmann::json& j) {
  std::vector<double> out;
  flatten_into(j, out);
  return out;
}

// The chain as the preprocessing hands it over: filled N/CA/C, observed flags, sequence letters. Atoms read
// from the file are taken from `coords_preprocessed` (exact float32 file values; printed with 7 significant
// digits, which round-trip float32 for 3-decimal coordinates) shifted by the recentring offset, so that only
// imputed atoms carry the 7-digit rounding of `coords_filled`.
inline bmx::prot3d::BackboneChain chain_from_vector(const nlohmann::json& v) {
  bmx::prot3d::BackboneChain c;
  c.id = v["file"].get<std::string>();
  c.chain = v["chain"].get<std::string>();
  const auto seq = v["seq"].get<std::string>();
  const auto valid = v["valid"].get<std::vector<bool>>();
  const auto pre = flatten(v["coords_preprocessed"]);
  const auto fil = flatten(v["coords_filled"]);
  const size_t L = seq.size();
  // offset = preprocessed - filled, averaged over atoms the imputation left in place
  double off[3] = {0, 0, 0};
  size_t n = 0;
  for (size_t i = 0; i < L; ++i)
    for (int a = 1; a < 4; ++a)  // CA, C, O are never moved for valid residues
      if (!std::isnan(pre[i * 12 + a * 3])) {
        for (int k = 0; k < 3; ++k) off[k] += double(float(pre[i * 12 + a * 3 + k])) - fil[i * 12 + a * 3 + k];
        ++n;
      }
  for (double& o : off) o = n ? o / double(n) : 0.0;
  for (size_t i = 0; i < L; ++i) {
    bmx::prot3d::Residue r;
    r.one_letter = seq[i];
    r.observed = valid[i];
    r.id.number = static_cast<int>(i + 1);
    c.residues.push_back(r);
    std::array<std::array<double, 3>, 3> x{};
    for (int a = 0; a < 3; ++a) {
      bool moved = std::isnan(pre[i * 12 + a * 3]);
      for (int k = 0; k < 3 && !moved; ++k)
        moved = std::abs(double(float(pre[i * 12 + a * 3 + k])) - off[k] - fil[i * 12 + a * 3 + k]) > 1e-3;
      for (int k = 0; k < 3; ++k)
        x[a][k] = moved ? fil[i * 12 + a * 3 + k] + off[k] : double(float(pre[i * 12 + a * 3 + k]));
    }
    c.coords.push_back(x);
  }
  return c;
}

}  // namespace gcptest

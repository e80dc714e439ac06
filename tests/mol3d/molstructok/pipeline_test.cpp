// End-to-end parity: encode (molecule -> tokens) and decode (tokens -> molecule) on every public record.
#include <GraphMol/Conformer.h>
#include <doctest/doctest.h>

#include <cmath>

#include "bmx/mol3d/struct_tokens.h"
#include "vectors.h"

using namespace bmx;
using nlohmann::json;

namespace {

bool code_matches(const json& r, std::size_t k, int code) {
  if (code == r["codes"][k].get<int>()) return true;
  return r["code_distance_margin"][k].get<double>() < 1e-4 && code == r["second_best_code"][k].get<int>();
}

}  // namespace

TEST_CASE("encode reproduces the reference's SMILES, SELFIES, atom order, codes and struct_sfi") {
  int checked = 0, same_string = 0;
  for (const json& r : test::public_records()) {
    if (r.contains("encode_error") || !r["canonical_smiles"].get<std::string>().empty() &&
                                          r["canonical_smiles"].get<std::string>().find('.') != std::string::npos)
      continue;  // reference failures and its dot-less salts are covered by edge_cases_test.cpp
    INFO(r["name"].get<std::string>());
    bool is_rounded = r["source"].get<std::string>().find("ETKDG") != std::string::npos;
    auto mol = test::read_molblock(r["input_molblock"]);
    mol3d::Encoding e = test::model().encode(*mol);
    CHECK(e.smiles == r["canonical_smiles"].get<std::string>());
    CHECK(e.selfies == r["selfies"].get<std::string>());
    CHECK(e.atom_order == r["atom_order"].get<std::vector<int>>());
    REQUIRE(e.codes.size() == r["codes"].size());
    if (!is_rounded) {  // exact input coordinates: every code (see parity_test.cpp for rounded inputs)
      for (std::size_t k = 0; k < e.codes.size(); ++k) CHECK(code_matches(r, k, e.codes[k]));
      bool all_same = e.codes == r["codes"].get<std::vector<int>>();
      if (all_same) CHECK(e.struct_sfi == r["struct_sfi"].get<std::string>());
      same_string += all_same;
    }
    CHECK(e.tokens == std::string(mol3d::kMol3dStart) + e.struct_sfi + mol3d::kMol3dEnd);
    // Symbols and -1 positions are those of the reference whatever the codes.
    auto ours = mol3d::parse_struct_tokens(e.struct_sfi);
    auto theirs = mol3d::parse_struct_tokens(r["struct_sfi"].get<std::string>());
    REQUIRE(ours.size() == theirs.size());
    for (std::size_t k = 0; k < ours.size(); ++k) {
      CHECK(ours[k].symbol == theirs[k].symbol);
      CHECK((ours[k].code < 0) == (theirs[k].code < 0));
    }
    ++checked;
  }
  MESSAGE("records " << checked << ", struct_sfi identical on " << same_string << " exact-coordinate records");
  CHECK(checked == 273);
}

TEST_CASE("decode of the reference struct_sfi reproduces its coordinates (1e-4 Å) and decoded SMILES") {
  int checked = 0;
  double worst = 0.0;
  for (const json& r : test::public_records()) {
    if (r.contains("encode_error") || r.contains("decode_error")) continue;
    INFO(r["name"].get<std::string>());
    for (const std::string& text : {r["struct_sfi"].get<std::string>(),
                                    std::string(mol3d::kMol3dStart) + r["struct_sfi"].get<std::string>() + mol3d::kMol3dEnd}) {
      mol3d::Decoding d = test::model().decode_detail(text);
      REQUIRE(d.mol);
      CHECK(test::rdkit_smiles(*d.mol) == r["decoded_smiles"].get<std::string>());
      CHECK(d.codes == r["codes"].get<std::vector<int>>());
      const RDKit::Conformer& conf = d.mol->getConformer();
      CHECK(conf.is3D());
      REQUIRE(conf.getNumAtoms() == r["decoded_coords"].size());
      for (unsigned k = 0; k < conf.getNumAtoms(); ++k) {
        auto p = conf.getAtomPos(k);
        double xyz[3] = {p.x, p.y, p.z};
        for (int j = 0; j < 3; ++j) {
          double diff = std::fabs(xyz[j] - r["decoded_coords"][k][j].get<double>());
          worst = std::max(worst, diff);
          CHECK(diff <= 1e-4);
        }
      }
    }
    ++checked;
  }
  MESSAGE("records " << checked << ", worst coordinate difference " << worst << " Å");
  CHECK(checked == 273);
}

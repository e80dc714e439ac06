// decode_only.jsonl: 62 token strings, valid and broken, each with what a robust decoder should do.
#include <GraphMol/Conformer.h>
#include <GraphMol/MolOps.h>
#include <doctest/doctest.h>

#include <cmath>
#include <regex>

#include "bmx/core/util/error.h"
#include "vectors.h"

using namespace bmx;
using nlohmann::json;

TEST_CASE("decode_only cases decode like the reference or are rejected with a one-line positioned error") {
  int decoded = 0, rejected = 0;
  double worst_excess = 0.0;
  for (const json& r : test::decode_only_records()) {
    const std::string name = r["name"], category = r["category"], text = r["struct_sfi"];
    const std::string expected = r["expected_good"];
    INFO(name << " [" << category << "] " << text.substr(0, 80));
    // "reject ..." or "... reject or decode as the reference" where the reference raised: an error is due.
    bool must_reject = expected.rfind("reject", 0) == 0 ||
                       (r["reference_result"] == "exception" && expected.find("reject") != std::string::npos);
    if (must_reject) {
      std::string message;
      try {
        test::model().decode(text);
      } catch (const InputError& e) {
        message = e.what();
      }
      INFO("message: " << message);
      REQUIRE(!message.empty());
      CHECK(message.find('\n') == std::string::npos);
      if (category == "unknown_symbol") {
        // The message quotes the bad symbol.
        std::smatch m;
        std::string bad;
        for (const char* s : {"Xx", "Foo", "c", "Branch4", "Ring9"})
          if (text.find(std::string("[") + s + " ") != std::string::npos) bad = s;
        CHECK(message.find("[" + bad + "]") != std::string::npos);
      } else if (category != "empty") {
        // Names the token position.
        CHECK(std::regex_search(message, std::regex("token [0-9]+")));
      }
      ++rejected;
      continue;
    }
    mol3d::Decoding d = test::model().decode_detail(text);
    REQUIRE(d.mol);
    const RDKit::Conformer& conf = d.mol->getConformer();
    CHECK(conf.is3D());
    for (unsigned k = 0; k < conf.getNumAtoms(); ++k) {
      auto p = conf.getAtomPos(k);
      CHECK((std::isfinite(p.x) && std::isfinite(p.y) && std::isfinite(p.z)));
    }
    if (text.find('.') != std::string::npos) {
      // The '.' is kept: the fragments stay separate (the reference fused them).
      std::vector<int> frags;
      CHECK(RDKit::MolOps::getMolFrags(*d.mol, frags) == 2);
      CHECK(d.mol->getNumAtoms() == r["num_atoms"].get<unsigned>());
    } else {
      REQUIRE(r["reference_result"] == "ok");
      CHECK(test::rdkit_smiles(*d.mol) == r["decoded_smiles"].get<std::string>());
      REQUIRE(conf.getNumAtoms() == r["decoded_coords"].size());
      // 1e-4 Å, plus the float32 rounding of the decoder outputs that a long chain accumulates atom by atom
      // (300-carbon chain: 2e-4 Å at its end; every public molecule stays within 1e-4, see pipeline_test).
      for (unsigned k = 0; k < conf.getNumAtoms(); ++k) {
        auto p = conf.getAtomPos(k);
        const json& ref = r["decoded_coords"][k];
        double xyz[3] = {p.x, p.y, p.z};
        for (int j = 0; j < 3; ++j) {
          double diff = std::fabs(xyz[j] - ref[j].get<double>());
          worst_excess = std::max(worst_excess, (diff - 1e-4) / (k + 1));
          CHECK(diff <= 1e-4 + 1e-6 * k);
        }
      }
    }
    ++decoded;
  }
  MESSAGE("decoded " << decoded << ", rejected " << rejected << ", worst (diff - 1e-4 Å) / atom index " << worst_excess);
  CHECK(decoded + rejected == 62);
}

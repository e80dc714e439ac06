// Parity with selfies v2.2.0 on the MolStrucTok reference vectors (shared/vectors/molstructok).
#include <doctest/doctest.h>

#include <GraphMol/MolOps.h>
#include <GraphMol/RWMol.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bmx/core/util/error.h"
#include "bmx/tokenizers/selfies.h"
#include "shared.h"

using namespace bmx;
using nlohmann::json;

namespace {

// How the reference reads a decoded SMILES: keep [H] atoms (sanitize=false), then sanitize, failure ignored.
struct RdkitView {
  std::string canonical;
  unsigned num_atoms = 0;
};

RdkitView rdkit_view(const std::string& smiles) {
  std::unique_ptr<RDKit::RWMol> mol(RDKit::SmilesToMol(smiles, 0, false));
  REQUIRE_MESSAGE(mol, "RDKit cannot read " << smiles);
  try {
    RDKit::MolOps::sanitizeMol(*mol);
  } catch (const std::exception&) {
  }
  return {RDKit::MolToSmiles(*mol), mol->getNumAtoms()};
}

// The reference's struct_sfi reader: every "[...]" without nested brackets, first whitespace field = symbol.
std::string selfies_of_struct_sfi(const std::string& s) {
  std::string out;
  size_t i = 0;
  while ((i = s.find('[', i)) != std::string::npos) {
    const size_t j = s.find_first_of("[]", i + 1);
    if (j == std::string::npos) break;
    if (s[j] == '[' || j == i + 1) {
      i = j;
      continue;
    }
    std::string inner = s.substr(i + 1, j - i - 1);
    const size_t a = inner.find_first_not_of(" \t\n");
    const size_t b = inner.find_first_of(" \t\n", a);
    out += "[" + inner.substr(a, b == std::string::npos ? std::string::npos : b - a) + "]";
    i = j + 1;
  }
  return out;
}

std::vector<json> records(const std::string& file) { return test::shared_jsonl("vectors/molstructok/" + file); }

}  // namespace

TEST_CASE("selfies parity on every public MolStrucTok record") {
  int checked = 0, decoded_checked = 0, with_flags = 0;
  for (const auto& r : records("public.jsonl")) {
    if (!r.contains("selfies")) continue;
    const std::string name = r["name"];
    const std::string smiles = r["canonical_smiles"];
    const std::string expected = r["selfies"];
    CAPTURE(name);
    CAPTURE(smiles);
    CHECK(selfies::encode(smiles) == expected);

    const auto symbols = selfies::split(expected);
    const auto d = selfies::decode(expected);
    CHECK(d.creates_atom.size() == symbols.size());
    // Records the reference failed to encode (< 5 atoms, salts) carry the SELFIES but no symbols or flags.
    if (r["selfies_symbols"].is_array()) {
      CHECK(symbols == r["selfies_symbols"].get<std::vector<std::string>>());
      const auto flags = r["creates_atom"].get<std::vector<int>>();
      REQUIRE(d.creates_atom.size() == flags.size());
      for (size_t k = 0; k < flags.size(); ++k) CHECK_MESSAGE(d.creates_atom[k] == (flags[k] != 0), "symbol " << k);
      int created = 0;
      for (size_t k = 0; k < flags.size(); ++k)
        if (flags[k]) CHECK(d.atom_symbol.at(created++) == int(k));
      CHECK(d.atom_symbol.size() == size_t(created));
      ++with_flags;
    }

    // The decoded SMILES holds the same molecule, atoms in creation order.
    const auto view = rdkit_view(d.smiles);
    CHECK(view.num_atoms == r["num_atoms"].get<unsigned>());
    CHECK(view.num_atoms == d.atom_symbol.size());
    CHECK(view.canonical == rdkit_view(smiles).canonical);
    if (r["decoded_smiles"].is_string()) {
      CHECK(view.canonical == r["decoded_smiles"].get<std::string>());
      ++decoded_checked;
    }
    ++checked;
  }
  CHECK(checked == 288);
  CHECK(decoded_checked == 273);
  CHECK(with_flags == 275);
}

TEST_CASE("decode-only cases decode like the reference or fail on invalid symbols") {
  int ok = 0, rejected = 0;
  for (const auto& r : records("decode_only.jsonl")) {
    const std::string name = r["name"], category = r["category"];
    const std::string sfi = selfies_of_struct_sfi(r["struct_sfi"]);
    CAPTURE(name);
    CAPTURE(sfi);
    if (category == "unknown_symbol") {
      CHECK_THROWS_AS(selfies::decode(sfi), InputError);
      ++rejected;
      continue;
    }
    if (r["reference_result"] != "ok" || !r.contains("decoded_smiles") || r["decoded_smiles"].is_null()) continue;
    const auto d = selfies::decode(sfi);
    const auto view = rdkit_view(d.smiles);
    CHECK(view.canonical == r["decoded_smiles"].get<std::string>());
    CHECK(view.num_atoms == d.atom_symbol.size());
    if (r.contains("num_atoms") && r["num_atoms"].is_number()) CHECK(view.num_atoms == r["num_atoms"].get<unsigned>());
    ++ok;
  }
  CHECK(rejected == 5);
  CHECK(ok == 39);
}

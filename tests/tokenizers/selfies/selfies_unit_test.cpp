// Known selfies v2.2.0 behaviours (values checked against selfies 2.2.0 itself).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "bmx/core/util/error.h"
#include "bmx/tokenizers/selfies.h"

using namespace bmx;

namespace {

std::vector<bool> flags(const std::string& bits) {
  std::vector<bool> out;
  for (char c : bits) out.push_back(c == '1');
  return out;
}

// An atom with n fluorine neighbours: "X(F)(F)F".
std::string with_fluorines(const std::string& atom, int n) {
  std::string s = atom;
  for (int k = 0; k + 1 < n; ++k) s += "(F)";
  if (n > 0) s += "F";
  return s;
}

std::string error_of(const std::string& selfies) {
  try {
    selfies::decode(selfies);
  } catch (const InputError& e) {
    return e.what();
  }
  return {};
}

}  // namespace

TEST_CASE("a branch needs at least 2 free bonds; otherwise it and its index symbols read as plain symbols") {
  auto d = selfies::decode("[F][Branch1][C][O]");  // F has 1 bond left: [Branch1] ignored, [C] is an atom
  CHECK(d.smiles == "FCO");
  CHECK(d.creates_atom == flags("1011"));
  CHECK(d.atom_symbol == std::vector<int>{0, 2, 3});

  d = selfies::decode("[C][Branch1][C][F][O]");  // C has 4: [C] is the index (Q=0), the branch is [F]
  CHECK(d.smiles == "C(F)O");
  CHECK(d.creates_atom == flags("10011"));

  CHECK(selfies::decode("[O][=C][Branch1][C][F][F]").smiles == "O=C(F)F");
  CHECK(selfies::decode("[C][=Branch1][C][=O][O]").smiles == "C(=O)O");
  // A branch before any atom (state 0) is ignored and its would-be index symbol becomes an atom.
  d = selfies::decode("[Branch1][C][C][O]");
  CHECK(d.smiles == "CCO");
  CHECK(d.creates_atom == flags("0111"));
}

TEST_CASE("ring bonds respect the free capacity of both atoms") {
  CHECK(selfies::decode("[C][C][C][C][Ring1][Ring1]").smiles == "CC1CC1");  // Q = 1: back 2 atoms
  CHECK(selfies::decode("[O][C][C][Ring1][Ring1]").smiles == "O1CC1");
  CHECK(selfies::decode("[F][C][C][Ring1][Ring1]").smiles == "FCC");        // F is full: no ring bond
  CHECK(selfies::decode("[C][C][C][Ring1][C]").smiles == "CC=C");           // onto a bonded pair: order + 1
  CHECK(selfies::decode("[C][C][=Ring1][C]").smiles == "C#C");
  CHECK(selfies::decode("[C][=C][C][=C][Ring1][Ring1]").smiles == "C=C1C=C1");
  // A ring symbol with nothing to close from is ignored and the next symbol is not an index.
  auto d = selfies::decode("[C][Ring1][C][C]");
  CHECK(d.smiles == "CC");
  CHECK(d.creates_atom == flags("1001"));
}

TEST_CASE("[nop] is skipped, [epsilon] ends the derivation, symbols after the end are not read") {
  auto d = selfies::decode("[C][nop][O]");
  CHECK(d.smiles == "CO");
  CHECK(d.creates_atom == flags("101"));
  CHECK(d.atom_symbol == std::vector<int>{0, 2});
  CHECK(selfies::decode("[C][epsilon][C]").smiles == "C");
  d = selfies::decode("[F][F][Xx]");  // F-F uses both capacities: the derivation stops before [Xx]
  CHECK(d.smiles == "FF");
  CHECK(d.creates_atom == flags("110"));
  CHECK(selfies::decode("[C][O][#C]").smiles == "COC");  // bond order capped by the state
}

TEST_CASE("index alphabet: base 16 over [C] [Ring1] ... [P]; other symbols count as 0") {
  // 18-membered ring: the closure spans 17 atoms, Q = 16 = 0x10 -> [Ring2][Ring1][C].
  std::string ring18;
  for (int k = 0; k < 18; ++k) ring18 += "[C]";
  CHECK(selfies::encode("C1CCCCCCCCCCCCCCCCC1") == ring18 + "[Ring2][Ring1][C]");
  // A branch of 18 symbols: Q = 17 = 0x11 -> [Branch2][Ring1][Ring1].
  const std::string chain17 = "CCCCCCCCCCCCCCCCC", chain18 = chain17 + "C";
  std::string expected;
  for (int k = 0; k < 17; ++k) expected += "[C]";
  expected += "[Branch2][Ring1][Ring1]";
  for (int k = 0; k < 18; ++k) expected += "[C]";
  expected += "[O]";
  CHECK(selfies::encode(chain17 + "(" + chain18 + ")O") == expected);
  CHECK(selfies::decode(expected).atom_symbol.size() == 36);
  // An invalid symbol read as an index is only a digit 0, not an error.
  auto d = selfies::decode("[C][C][Branch1][Xx][O][N]");
  CHECK(d.smiles == "CC(O)N");
  CHECK(d.creates_atom == flags("110011"));
}

TEST_CASE("bonding capacities of the v2.2.0 default constraints, charged atoms included") {
  struct Case {
    const char* atom;
    int capacity;
  };
  const Case table[] = {{"[H]", 1},   {"F", 1},     {"Cl", 1},    {"Br", 1},    {"I", 1},     {"O", 2},
                        {"[O+]", 3},  {"[O-]", 1},  {"N", 3},     {"[N+]", 4},  {"[N-]", 2},  {"B", 3},
                        {"[B+]", 2},  {"[B-]", 4},  {"C", 4},     {"[C+]", 3},  {"[C-]", 3},  {"P", 5},
                        {"[P+]", 4},  {"[P-]", 6},  {"S", 6},     {"[S+]", 5},  {"[S-]", 5},  {"[Si]", 8},
                        {"[Se]", 8},  {"[Na+]", 8}, {"[Cl-]", 8}, {"[S+2]", 8}, {"[CH2]", 2}, {"[NH+]", 3}};
  for (const auto& c : table) {
    CAPTURE(c.atom);
    CHECK_NOTHROW(selfies::encode(with_fluorines(c.atom, c.capacity)));
    CHECK_THROWS_AS(selfies::encode(with_fluorines(c.atom, c.capacity + 1)), InputError);
  }
  // The decoder caps bonds the same way: C+1 has 3, so the second [#C] gets a single bond.
  CHECK(selfies::decode("[C+1][#C][#C]").smiles == "[C+1]#CC");
  CHECK(selfies::decode("[NH1+1][C]").smiles == "[NH1+1]C");
  CHECK(error_of("[CH5]").find("invalid symbol") != std::string::npos);  // negative capacity
}

TEST_CASE("hypervalent N is rejected by the encoder with the atom's position") {
  std::string message;
  try {
    selfies::encode("CN(C)(C)(C)C");
  } catch (const InputError& e) {
    message = e.what();
  }
  CHECK(message.find("character 1") != std::string::npos);
  CHECK(message.find("5 bonds") != std::string::npos);
  CHECK(selfies::encode("C[N+](C)(C)C") == "[C][N+1][Branch1][C][C][Branch1][C][C][C]");
}

TEST_CASE("encoder writes atoms as selfies does") {
  CHECK(selfies::encode("[C]") == "[CH0]");
  CHECK(selfies::encode("[NH4+]") == "[NH4+1]");
  CHECK(selfies::encode("[O-]C(=O)C") == "[O-1][C][=Branch1][C][=O][C]");
  CHECK(selfies::encode("[H]O[H]") == "[H][O][H]");
  CHECK(selfies::encode("C/C=C/C") == "[C][/C][=C][/C]");
  CHECK(selfies::encode("[NH4+].[Cl-]") == "[NH4+1].[Cl-1]");
  CHECK(selfies::encode("C1=CC=CC=C1") == "[C][=C][C][=C][C][=C][Ring1][=Branch1]");
  // '@'/'@@' is inverted where ring closures move ahead of the branches (selfies' parity rule).
  CHECK(selfies::encode("F[C@@]12NCCCC1CCCO2") ==
        "[F][C@@][N][C][C][C][C][Ring1][=Branch1][C][C][C][O][Ring1][#Branch2]");
  CHECK(selfies::encode("F[C@@]21NCCCC1CCCO2") ==
        "[F][C@][N][C][C][C][C][Ring1][=Branch1][C][C][C][O][Ring1][#Branch2]");
  CHECK(selfies::encode("C[C@H]1CCCO1") == "[C][C@H1][C][C][C][O][Ring1][Branch1]");
}

TEST_CASE("decoder round trip keeps atoms in creation order across fragments") {
  auto d = selfies::decode("[C].[O]");
  CHECK(d.smiles == "C.O");
  CHECK(d.creates_atom == flags("11"));
  d = selfies::decode("[C][/C][=C][/C]");
  CHECK(d.smiles == "C/C=C/C");
  d = selfies::decode(selfies::encode("CC(C)(C)O"));
  CHECK(d.smiles == "CC(C)(C)O");
  CHECK(d.atom_symbol == std::vector<int>{0, 1, 4, 7, 8});
  CHECK(selfies::decode("").smiles.empty());
}

TEST_CASE("errors name the problem and the position") {
  CHECK(error_of("[C][C][Xx][C]") == "SELFIES symbol 2 '[Xx]': invalid symbol");
  CHECK(error_of("[C][Branch4][C]").find("symbol 1 '[Branch4]'") != std::string::npos);
  CHECK(error_of("[C][C][Ring9][C]").find("'[Ring9]'") != std::string::npos);
  CHECK(error_of("[C][c]").find("'[c]'") != std::string::npos);
  CHECK(error_of("[C][C").find("unclosed '['") != std::string::npos);
  CHECK(error_of("[C] [C]").find("unexpected character") != std::string::npos);
  CHECK_THROWS_AS(selfies::split("[C]x"), InputError);
  for (const char* bad : {"C(C", "C1CC", "C)C", "CC=", "C1=CC=CC=C1X", "c1ccccc1", "C==C", "", "[Xx]C"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(selfies::encode(bad), InputError);
  }
  CHECK_THROWS_WITH_AS(selfies::encode("CCc1ccccc1"), doctest::Contains("character 2"), InputError);
}

// Not run by default (indicative figures, the machine is shared): ./test_molstructok --no-skip -tc="*speed*"
#include <doctest/doctest.h>

#include <chrono>
#include <iostream>

#include "bmx/core/error.h"
#include "vectors.h"

using namespace bmx;
using Clock = std::chrono::steady_clock;

TEST_CASE("MolStrucTok speed, single thread, public inputs" * doctest::skip()) {
  std::vector<std::unique_ptr<RDKit::RWMol>> mols;
  std::vector<std::string> strings;
  long atoms = 0;
  for (const auto& r : test::public_records()) {
    if (r.contains("encode_error") || r.contains("decode_error")) continue;
    mols.push_back(test::read_molblock(r["input_molblock"]));
    strings.push_back(r["struct_sfi"]);
    atoms += long(mols.back()->getNumAtoms());
  }
  const auto& m = test::model();
  for (int rep = 0; rep < 3; ++rep) {
    auto t0 = Clock::now();
    std::size_t sink = 0;
    for (const auto& mol : mols) sink += m.encode(*mol).struct_sfi.size();
    auto t1 = Clock::now();
    for (const auto& s : strings) sink += m.decode(s)->getNumAtoms();
    auto t2 = Clock::now();
    double te = std::chrono::duration<double>(t1 - t0).count(), td = std::chrono::duration<double>(t2 - t1).count();
    std::cout << mols.size() << " molecules (" << double(atoms) / mols.size() << " atoms): encode "
              << mols.size() / te << " mol/s, " << atoms / te << " atoms/s; decode " << strings.size() / td
              << " mol/s, " << atoms / td << " atoms/s (" << sink << ")\n";
  }
}

TEST_CASE("decode_only error messages" * doctest::skip()) {
  for (const auto& r : test::decode_only_records()) {
    try {
      test::model().decode(r["struct_sfi"].get<std::string>());
    } catch (const InputError& e) {
      std::cout << r["name"].get<std::string>() << ": " << e.what() << "\n";
    }
  }
}

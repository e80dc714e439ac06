#include <doctest/doctest.h>

#include "bmx/core/error.h"
#include "bmx/tokenizers/selfies.h"

using namespace bmx;

TEST_CASE("smoke") {
  CHECK(selfies::encode("C1=CC=CC=C1") == "[C][=C][C][=C][C][=C][Ring1][=Branch1]");
  auto d = selfies::decode("[C][=C][C][=C][C][=C][Ring1][=Branch1]");
  CHECK(d.smiles == "C1=CC=CC=C1");
}

// The public MolStrucTok vector records (shared/vectors/molstructok/public.jsonl) as decoded molecules.
#pragma once
#include <doctest/doctest.h>

#include <GraphMol/MolOps.h>
#include <GraphMol/RWMol.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bmx/mol3d/molecule_io.h"
#include "shared.h"

namespace bmx::test {

struct Case {
  std::string name;
  std::unique_ptr<RDKit::RWMol> mol;  // SELFIES atom order, decoded coordinates
  nlohmann::json rec;
};

// The decoded molecule of a vector record: the input molblock renumbered into SELFIES order (atom_order),
// carrying the decoded coordinates.
inline Case decoded_case(const nlohmann::json& rec) {
  Case c;
  c.name = rec["name"];
  c.rec = rec;
  auto input = bmx::mol3d::mol_from_molblock(rec["input_molblock"].get<std::string>(), c.name);
  std::vector<unsigned> order = rec["atom_order"].get<std::vector<unsigned>>();
  std::unique_ptr<RDKit::ROMol> renumbered(RDKit::MolOps::renumberAtoms(*input, order));
  c.mol = std::make_unique<RDKit::RWMol>(*renumbered);
  auto& conf = c.mol->getConformer();
  const auto& xyz = rec["decoded_coords"];
  REQUIRE(xyz.size() == c.mol->getNumAtoms());
  for (unsigned i = 0; i < xyz.size(); ++i) conf.setAtomPos(i, RDGeom::Point3D(xyz[i][0], xyz[i][1], xyz[i][2]));
  return c;
}

// Records that encoded and decoded.
inline std::vector<nlohmann::json> vector_records() {
  std::vector<nlohmann::json> out;
  for (const auto& line : read_lines(shared_file("vectors/molstructok/public.jsonl"))) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("encode_error") || j.contains("decode_error")) continue;
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace bmx::test

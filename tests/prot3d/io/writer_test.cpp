// Writers: PDB and mmCIF read back by gemmi (through bmx's own reader) and accepted by the real DSSP (mkdssp).
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "bmx/core/util/error.h"
#include "bmx/prot3d/structure_reader.h"
#include "bmx/prot3d/structure_writer.h"
#include "shared.h"

using namespace bmx::prot3d;

namespace {

double dist(const Vec3& a, const Vec3& b) {
  return std::sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) + (a[2] - b[2]) * (a[2] - b[2]));
}

BackboneChain read_chain(const std::string& path, const std::string& chain = "") {
  ReadOptions o;
  o.chain = chain;
  StructureChains sc = read_protein_chains(path, o);
  REQUIRE(sc.chains.size() >= 1);
  REQUIRE(sc.chains[0].status == ChainStatus::ok);
  return sc.chains[0].backbone;
}

// DSSP secondary structure letters per residue (' ' for none); empty when mkdssp fails.
std::string dssp(const std::string& path) {
  const std::string out = path + ".dssp";
  std::string log;
  if (bmx::test::run("mkdssp --output-format dssp " + path + " " + out, &log, true) != 0) {
    MESSAGE("mkdssp failed on " << path << ": " << log);
    return {};
  }
  std::ifstream in(out);
  std::string line, ss;
  bool body = false;
  while (std::getline(in, line)) {
    if (line.rfind("  #  RESIDUE", 0) == 0) { body = true; continue; }
    if (body && line.size() > 16 && line[13] != '!') ss += line[16];
  }
  return ss;
}

}  // namespace

TEST_CASE("PDB and mmCIF written by bmx read back identically and DSSP accepts them") {
  const std::string src = bmx::test::shared_file("data/proteins/1aki.pdb").string();
  const BackboneChain in = read_chain(src);
  REQUIRE(in.size() == 129);
  const auto dir = bmx::test::scratch_dir("prot_io_writer");
  const std::string reference_ss = dssp(src);
  REQUIRE(reference_ss.size() == 129);

  for (const std::string ext : {".pdb", ".cif"}) {
    CAPTURE(ext);
    // Backbone only (O placed by ideal geometry) plus CB: what bmx writes for decoded structures.
    BackboneChain bare = in;
    bare.oxygen.clear();
    WriteOptions opt;
    opt.add_cb = true;
    const std::string path = (dir / ("1aki_ideal" + ext)).string();
    write_backbones(path, {bare}, opt);
    const BackboneChain back = read_chain(path);
    CHECK(back.chain == "A");
    CHECK(back.sequence() == in.sequence());
    REQUIRE(back.size() == in.size());
    double max_d = 0, o_sum = 0;
    for (std::size_t i = 0; i < in.size(); ++i) {
      CHECK(back.residues[i].id == in.residues[i].id);
      CHECK(back.residues[i].name == in.residues[i].name);
      for (int a = 0; a < 3; ++a) max_d = std::max(max_d, dist(back.coords[i][a], in.coords[i][a]));
      o_sum += dist(back.oxygen[i], in.oxygen[i]);
    }
    CHECK(max_d < 1e-3);            // 3 decimals in PDB
    CHECK(o_sum / in.size() < 0.35);  // ideal carbonyl O against the crystal's
    // The real DSSP reads the file and finds (nearly) the same secondary structure as in the original.
    const std::string ss = dssp(path);
    REQUIRE(ss.size() == 129);
    int same = 0, helix = 0;
    for (std::size_t i = 0; i < ss.size(); ++i) {
      same += ss[i] == reference_ss[i];
      helix += ss[i] == 'H';
    }
    CHECK(helix > 30);
    CHECK(same >= 0.85 * 129);
    // Side-chain CB present on all but glycines.
    std::string text = bmx::test::read_file(path);
    std::size_t cb = 0;
    for (std::size_t p = 0; (p = text.find(" CB ", p)) != std::string::npos; ++p) ++cb;  // atom name, PDB and mmCIF
    int gly = 0;
    for (char c : in.sequence()) gly += c == 'G';
    CHECK(cb == 129 - gly);
  }
}

TEST_CASE("decoded-like chains: names from the sequence, blank chain ids, imputed positions, NaN refused") {
  BackboneChain c;
  c.id = "t";
  const std::string seq = "MKVXG";
  for (int i = 0; i < 5; ++i) {
    Residue r;
    r.one_letter = seq[i];
    r.id.number = i + 1;
    c.residues.push_back(r);
    const double x = 3.8 * i;
    c.coords.push_back({Vec3{x - 0.5, 1.2, 0.3}, Vec3{x, 0, 0}, Vec3{x + 1.5, 0.2, -0.1}});
  }
  const std::string text = backbones_to_string({c}, StructureFormat::pdb);
  CHECK(text.find("MET A   1") != std::string::npos);
  CHECK(text.find("LYS A   2") != std::string::npos);
  CHECK(text.find("UNK A   4") != std::string::npos);
  CHECK(text.find("GLY A   5") != std::string::npos);
  CHECK(text.find("nan") == std::string::npos);

  c.residues[2].observed = false;
  WriteOptions only;
  only.observed_only = true;
  const std::string path = (bmx::test::scratch_dir("prot_io_writer2") / "observed_only.cif").string();
  c.chain = "";  // blank chain id: mmCIF gets a letter
  write_backbones(path, {c}, only);
  const BackboneChain back = read_chain(path);
  CHECK(back.chain == "A");
  REQUIRE(back.size() == 5);  // the left-out residue 3 comes back as a numbering gap
  CHECK(back.observed_positions() == std::vector<int>{0, 1, 3, 4});
  CHECK(back.residues[0].name == "MET");
  CHECK(back.residues[3].name == "UNK");

  c.coords[1][1][0] = std::nan("");
  CHECK_THROWS_AS(backbones_to_string({c}, StructureFormat::pdb), bmx::InputError);
}

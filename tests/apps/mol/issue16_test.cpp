// Issue 16 (molecule items): files read back with RDKit and Open Babel, messages as a user sees them.
#include <GraphMol/FileParsers/MolSupplier.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/RWMol.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>
#include <RDGeneral/RDLog.h>
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "shared.h"

namespace fs = std::filesystem;

namespace {

std::string bmx_cmd() { return bmx::test::bmx_exe().string(); }
fs::path molecules() { return bmx::test::shared_dir() / "data/molecules"; }

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::unique_ptr<RDKit::ROMol>> read_sdf(const fs::path& p) {
  RDKit::SDMolSupplier sup(p.string(), /*sanitize=*/true, /*removeHs=*/false);
  std::vector<std::unique_ptr<RDKit::ROMol>> out;
  while (!sup.atEnd()) {
    std::unique_ptr<RDKit::ROMol> m(sup.next());
    REQUIRE(m);
    out.push_back(std::move(m));
  }
  return out;
}

// V2000 bond lines of every record with bond type 2 and stereo 3 ("either").
int either_double_bonds(const std::string& sdf) {
  std::istringstream in(sdf);
  std::string line;
  int n = 0, lineno = 0, natoms = 0, nbonds = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (lineno == 4) {
      natoms = std::stoi(line.substr(0, 3));
      nbonds = std::stoi(line.substr(3, 3));
    } else if (lineno > 4 + natoms && lineno <= 4 + natoms + nbonds) {
      if (std::stoi(line.substr(6, 3)) == 2 && std::stoi(line.substr(9, 3)) == 3) ++n;
    }
    if (line == "$$$$") lineno = 0;
  }
  return n;
}

int e_or_z_bonds(const RDKit::ROMol& m) {
  int n = 0;
  for (const auto* b : m.bonds())
    if (b->getStereo() == RDKit::Bond::STEREOE || b->getStereo() == RDKit::Bond::STEREOZ ||
        b->getStereo() == RDKit::Bond::STEREOCIS || b->getStereo() == RDKit::Bond::STEREOTRANS)
      ++n;
  return n;
}

}  // namespace

TEST_CASE("issue 16.1: decoded E/Z is written from the coordinates; RDKit and Open Babel read the isomer") {
  auto dir = bmx::test::scratch_dir("issue16_ez");
  auto jl = dir / "c9.jsonl";
  REQUIRE(bmx::test::run(bmx_cmd() + " mol encode -q " + (molecules() / "cdk2_9.mol").string() + " -o " + jl.string()) == 0);
  std::string input_smiles;
  REQUIRE(bmx::test::run("obabel -isdf " + (molecules() / "cdk2_9.mol").string() + " -ocan 2>/dev/null", &input_smiles) == 0);
  REQUIRE(input_smiles.find('/') != std::string::npos);
  for (const char* flags : {"", " --no-refine"}) {
    INFO(flags);
    auto out = dir / (std::string("c9") + (flags[0] ? "raw" : "") + ".sdf");
    REQUIRE(bmx::test::run(bmx_cmd() + " mol decode -q" + flags + " -i " + jl.string() + " -o " + out.string()) == 0);
    CHECK(either_double_bonds(slurp(out)) == 0);
    auto mols = read_sdf(out);
    REQUIRE(mols.size() == 1);
    for (const auto* b : mols[0]->bonds()) CHECK(b->getStereo() != RDKit::Bond::STEREOANY);
    CHECK(e_or_z_bonds(*mols[0]) == 1);
    std::string smi;
    REQUIRE(bmx::test::run("obabel -isdf " + out.string() + " -ocan 2>/dev/null", &smi) == 0);
    CHECK(smi.substr(0, smi.find_first_of(" \t")) == input_smiles.substr(0, input_smiles.find_first_of(" \t")));
    // atom_order (16.7): a permutation of the input atoms.
    auto order = mols[0]->getProp<std::string>("atom_order");
    std::istringstream in(order);
    std::vector<int> seen(mols[0]->getNumAtoms(), 0);
    for (int k; in >> k;) {
      REQUIRE(k >= 0);
      REQUIRE(k < int(seen.size()));
      ++seen[k];
    }
    for (int c : seen) CHECK(c == 1);
  }
  // eval compares E/Z from the written file: kept here.
  std::string ev;
  REQUIRE(bmx::test::run(bmx_cmd() + " mol eval -q --json " + (molecules() / "cdk2_9.mol").string(), &ev) == 0);
  auto rows = bmx::test::json_lines(ev);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0]["stereo_centres"].get<int>() >= 1);
  CHECK(rows[0]["stereo_kept_decoded"].get<int>() == rows[0]["stereo_centres"].get<int>());
  CHECK(rows[0]["stereo_kept_refined"].get<int>() == rows[0]["stereo_centres"].get<int>());
}

TEST_CASE("issue 16.4: flat decoded molecules are flagged 2D and read back; tokens without H get H and say so") {
  auto dir = bmx::test::scratch_dir("issue16_flat");
  auto water = dir / "water.sdf";
  REQUIRE(bmx::test::run(bmx_cmd() + " mol decode -q '[H 3][O 26][H 304]' -o " + water.string()) == 0);
  const std::string text = slurp(water);
  REQUIRE(text.size() > 30);
  CHECK(text.substr(text.find('\n') + 1).substr(20, 2) == "2D");
  // RDKit reads it without the "tagged as 3D, but all Z coords are zero" warning.
  std::stringstream log;
  RDLog::InitLogs();
  rdWarningLog->SetTee(log);
  auto w = read_sdf(water);
  rdWarningLog->ClearTee();
  REQUIRE(w.size() == 1);
  CHECK(w[0]->getNumAtoms() == 3);
  CHECK(log.str().find("all Z coords are zero") == std::string::npos);
  // bmx reads its own flat file back (up to 3 atoms are planar).
  std::string enc;
  CHECK(bmx::test::run(bmx_cmd() + " mol encode -q " + water.string(), &enc) == 0);
  CHECK(enc.find("[H 3][O 26][H 304]") != std::string::npos);

  // [C 1][C 2] (no H tokens): completed with 6 H at 3D positions, said on stderr and in an SD field.
  auto ethane = dir / "ethane.sdf";
  std::string err;
  REQUIRE(bmx::test::run(bmx_cmd() + " mol decode '[C 1][C 2]' -o " + ethane.string() + " 2>&1 >/dev/null", &err) == 0);
  CHECK(err.find("no hydrogens for 6 H") != std::string::npos);
  auto e = read_sdf(ethane);
  REQUIRE(e.size() == 1);
  CHECK(e[0]->getNumAtoms() == 8);
  CHECK(e[0]->getProp<std::string>("bmx_hydrogens_added") == "6");
  CHECK(e[0]->getConformer().is3D());
}

TEST_CASE("issue 16.14/15: every record failing leaves no file and says 0 written; XYZ on stdin hints at -f") {
  auto dir = bmx::test::scratch_dir("issue16_fail");
  auto out = dir / "bad.sdf";
  std::string err;
  CHECK(bmx::test::run(bmx_cmd() + " mol decode -q '[C 1][Q 3]' -o " + out.string(), &err, true) == 1);
  CHECK(!fs::exists(out));
  CHECK(err.find("0 written") != std::string::npos);
  CHECK(err.find("the others were written") == std::string::npos);
  // refine of a file whose only record fails: no file either.
  auto out2 = dir / "bad_refine.sdf";
  CHECK(bmx::test::run(bmx_cmd() + " mol refine -q " + (molecules() / "broken_counts.mol").string() + " -o " +
                           out2.string(), &err, true) == 1);
  CHECK(!fs::exists(out2));

  CHECK(bmx::test::run(bmx_cmd() + " mol encode -q - < " + (molecules() / "cdk2_12.xyz").string(), &err, true) == 1);
  CHECK(err.find("-f sets the format") != std::string::npos);
  std::string ok;
  CHECK(bmx::test::run(bmx_cmd() + " mol encode -q -f xyz - < " + (molecules() / "cdk2_12.xyz").string(), &ok) == 0);
  CHECK(bmx::test::json_lines(ok).size() == 1);
}

TEST_CASE("issue 16.6: refine reports added hydrogens and drops stale energy fields") {
  auto dir = bmx::test::scratch_dir("issue16_refine");
  auto out = dir / "r.sdf";
  std::string err;
  REQUIRE(bmx::test::run(bmx_cmd() + " mol refine " + (molecules() / "cdk2_5.sdf").string() + " " +
                             (molecules() / "bzr_10_noH.mol").string() + " -o " + out.string() + " 2>&1 >/dev/null",
                         &err) == 0);
  CHECK(err.find("hydrogens added") != std::string::npos);
  auto mols = read_sdf(out);
  REQUIRE(mols.size() == 6);
  for (const auto& m : mols) {
    CHECK(!m->hasProp("r_mmffld_Potential_Energy-OPLS_2005"));
    CHECK(m->hasProp("bmx_energy_after"));
  }
  CHECK(mols[0]->getProp<std::string>("bmx_dropped_fields").find("r_mmffld_Potential_Energy-OPLS_2005") !=
        std::string::npos);
  CHECK(mols[0]->hasProp("id"));  // other fields kept
  CHECK(std::stoi(mols[5]->getProp<std::string>("bmx_hydrogens_added")) > 0);
}

TEST_CASE("issue 16.16: the eval table names file and record") {
  std::string out;
  REQUIRE(bmx::test::run(bmx_cmd() + " mol eval -q " + (molecules() / "cdk2_5.sdf").string(), &out) == 0);
  CHECK(out.find("file:record") != std::string::npos);
  CHECK(out.find("cdk2_5.sdf:1 ") != std::string::npos);
  CHECK(out.find("cdk2_5.sdf:5 ") != std::string::npos);
}

TEST_CASE("issue 16.3/13: unconverged refinements are counted in the batch summary; eval takes -o") {
  auto dir = bmx::test::scratch_dir("issue16_iters");
  auto jl = dir / "c.jsonl";
  REQUIRE(bmx::test::run(bmx_cmd() + " mol encode -q " + (molecules() / "cdk2_5.sdf").string() + " -o " + jl.string()) == 0);
  std::string err;
  REQUIRE(bmx::test::run(bmx_cmd() + " mol decode -q --max-iters 3 -i " + jl.string() + " -o " +
                             (dir / "d.sdf").string() + " 2>&1", &err) == 0);
  CHECK(err.find("5 of 5 refined molecules not converged after 3 iterations") != std::string::npos);
  // The default converges on these.
  REQUIRE(bmx::test::run(bmx_cmd() + " mol decode -q -i " + jl.string() + " -o " + (dir / "d2.sdf").string() + " 2>&1",
                         &err) == 0);
  CHECK(err.find("not converged") == std::string::npos);
  for (const auto& m : read_sdf(dir / "d2.sdf")) CHECK(m->getProp<std::string>("bmx_refinement") == "MMFF94 converged");

  auto table = dir / "eval.txt";
  std::string out;
  REQUIRE(bmx::test::run(bmx_cmd() + " mol eval -q -o " + table.string() + " " + (molecules() / "water.mol").string(),
                         &out) == 0);
  CHECK(out.empty());
  CHECK(slurp(table).find("water.mol:1") != std::string::npos);
}

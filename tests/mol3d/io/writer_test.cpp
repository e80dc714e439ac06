// SD files written by bmx, read back by RDKit, by the Open Babel library and by the obabel program.
#include <doctest/doctest.h>

#include <GraphMol/FileParsers/FileParsers.h>
#include <GraphMol/FileParsers/MolSupplier.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>
#include <openbabel/mol.h>
#include <openbabel/obconversion.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "bmx/core/util/error.h"
#include "bmx/mol3d/molecule_io.h"
#include "bmx/mol3d/sdf_writer.h"
#include "shared.h"

namespace fs = std::filesystem;
using bmx::mol3d::MolRecord;

namespace {

fs::path molecules() { return bmx::test::shared_file("data/molecules"); }

// Every good record of every shared file.
std::vector<MolRecord> all_good() {
  std::vector<std::string> paths;
  for (const auto& e : fs::directory_iterator(molecules()))
    if (e.path().filename() != "manifest.tsv") paths.push_back(e.path().string());
  std::sort(paths.begin(), paths.end());
  bmx::mol3d::MolReader reader(paths);
  std::vector<MolRecord> out;
  MolRecord r;
  while (reader.next(r))
    if (r.ok()) out.push_back(std::move(r));
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

}  // namespace

TEST_CASE("SDF written from every good input reads back in RDKit, Open Babel and obabel") {
  auto recs = all_good();
  REQUIRE(recs.size() >= 40);
  auto dir = bmx::test::scratch_dir("molio_writer");
  auto out = (dir / "all.sdf").string();
  {
    bmx::mol3d::SdfWriter w(out);
    for (const auto& r : recs) {
      bmx::mol3d::SdFields fields = {{"bmx_source", r.where()},
                                     {"tokens", "<|mol_3d_start|>[H 3][C 0]<|mol_3d_end|>"},
                                     {"refine_status", "converged"},
                                     {"energy_kcal", "-12.5"}};
      w.write(*r.mol, r.name, fields, r.where());
    }
    CHECK(w.records_written() == static_cast<int>(recs.size()));
    CHECK(w.finish() == static_cast<int>(recs.size()));
  }
  std::string text = bmx::test::read_file(out);
  CHECK(text.find("nan") == std::string::npos);
  CHECK(text.find("NaN") == std::string::npos);

  // Header line of every record says 3D, or 2D where every z is 0 (water as read: RDKit expects 2D there).
  auto flat = [](const RDKit::ROMol& m) {
    for (const auto& p : m.getConformer().getPositions())
      if (std::abs(p.z) >= 1e-4) return false;
    return true;
  };
  auto lines = lines_of(text);
  int headers = 0;
  for (std::size_t i = 0; i + 1 < lines.size(); ++i)
    if (i == 0 || lines[i - 1] == "$$$$") {
      REQUIRE(headers < int(recs.size()));
      const bool is_flat = flat(*recs[headers].mol);
      ++headers;
      REQUIRE(lines[i + 1].size() >= 22);
      CHECK(lines[i + 1].substr(20, 2) == (is_flat ? "2D" : "3D"));
    }
  CHECK(headers == static_cast<int>(recs.size()));

  // RDKit: same atoms, coordinates, charges, fields; conformer flagged 3D.
  RDKit::SDMolSupplier sup(out, /*sanitize=*/true, /*removeHs=*/false);
  REQUIRE(sup.length() == recs.size());
  for (std::size_t i = 0; i < recs.size(); ++i) {
    INFO(recs[i].where());
    std::unique_ptr<RDKit::ROMol> m(sup[i]);
    REQUIRE(m);
    REQUIRE(m->getNumAtoms() == recs[i].mol->getNumAtoms());
    CHECK(m->getConformer().is3D() == !flat(*recs[i].mol));
    CHECK(m->getProp<std::string>("_Name") == recs[i].name);
    CHECK(m->getProp<std::string>("refine_status") == "converged");
    CHECK(m->getProp<std::string>("tokens") == "<|mol_3d_start|>[H 3][C 0]<|mol_3d_end|>");
    CHECK(RDKit::MolToSmiles(*m) == RDKit::MolToSmiles(*recs[i].mol));
    for (unsigned a = 0; a < m->getNumAtoms(); ++a)
      CHECK((m->getConformer().getAtomPos(a) - recs[i].mol->getConformer().getAtomPos(a)).length() < 2e-4);
  }

  // The Open Babel library.
  OpenBabel::OBConversion conv;
  REQUIRE(conv.SetInFormat("sdf"));
  std::ifstream in(out);
  OpenBabel::OBMol ob;
  std::size_t n = 0;
  for (bool ok = conv.Read(&ob, &in); ok; ok = conv.Read(&ob), ++n) {
    REQUIRE(n < recs.size());
    CHECK(ob.NumAtoms() == recs[n].mol->getNumAtoms());
    CHECK(ob.GetDimension() == (flat(*recs[n].mol) ? 2 : 3));
    ob.Clear();
  }
  CHECK(n == recs.size());

  // The obabel program: SMILES of every record, and XYZ whose atom counts match.
  std::string smi, xyz;
  REQUIRE(bmx::test::run("obabel -isdf " + out + " -osmi 2>/dev/null", &smi) == 0);
  CHECK(lines_of(smi).size() == recs.size());
  REQUIRE(bmx::test::run("obabel -isdf " + out + " -oxyz 2>/dev/null", &xyz) == 0);
  auto xl = lines_of(xyz);
  std::size_t pos = 0;
  for (std::size_t i = 0; i < recs.size(); ++i) {
    REQUIRE(pos < xl.size());
    int count = std::stoi(xl[pos]);
    CHECK(count == static_cast<int>(recs[i].mol->getNumAtoms()));
    pos += 2 + count;
  }
  CHECK(pos == xl.size());
}

TEST_CASE("NaN coordinates are refused, naming the record, and nothing is written") {
  auto recs = bmx::mol3d::read_molecules((molecules() / "methane.mol").string());
  REQUIRE(recs[0].ok());
  auto& mol = *recs[0].mol;
  mol.getConformer().getAtomPos(2).y = std::numeric_limits<double>::quiet_NaN();
  auto dir = bmx::test::scratch_dir("molio_nan");
  auto out = (dir / "nan.sdf").string();
  {
    bmx::mol3d::SdfWriter w(out);
    CHECK_THROWS_WITH_AS(w.write(mol, "methane", {}, "decoded:record 7"), doctest::Contains("decoded:record 7"),
                         bmx::InputError);
    CHECK(w.records_written() == 0);
    try {
      w.write(mol, "methane", {}, "decoded:record 7");
    } catch (const bmx::InputError& e) {
      CHECK(std::string(e.what()).find("atom 3") != std::string::npos);
    }
  }
  CHECK(!fs::exists(out));  // a writer that got no record leaves no file (OutputFile: nothing committed)
}

TEST_CASE("a conformer flagged 2D in memory is written 3D; title and fields are kept on one line each") {
  auto recs = bmx::mol3d::read_molecules((molecules() / "l_alanine_stereo.mol").string());
  REQUIRE(recs[0].ok());
  recs[0].mol->getConformer().set3D(false);  // what the reference decoder leaves behind
  std::string rec = bmx::mol3d::sdf_record(*recs[0].mol, "two\nlines", {{"multi", "a\n\nb"}}, "x");
  auto l = lines_of(rec);
  CHECK(l[0] == "two lines");
  CHECK(l[1].substr(20, 2) == "3D");
  std::unique_ptr<RDKit::RWMol> back(RDKit::MolBlockToMol(rec, true, false));
  REQUIRE(back);
  CHECK(back->getConformer().is3D());
  // The blank line inside the value must not end the data item early.
  RDKit::SDMolSupplier sup;
  sup.setData(rec, true, false);
  std::unique_ptr<RDKit::ROMol> m(sup.next());
  REQUIRE(m);
  CHECK(m->getProp<std::string>("multi") == "a\n \nb");
  CHECK(l.back() == "$$$$");
}

TEST_CASE("more than 999 atoms are written as V3000 and read back") {
  std::unique_ptr<RDKit::RWMol> mol(RDKit::SmilesToMol(std::string(400, 'C')));
  REQUIRE(mol);
  RDKit::MolOps::addHs(*mol);
  const unsigned n = mol->getNumAtoms();
  REQUIRE(n > 999);
  auto* conf = new RDKit::Conformer(n);
  for (unsigned i = 0; i < n; ++i) conf->setAtomPos(i, RDGeom::Point3D(1.5 * i, std::sin(i), std::cos(i)));
  mol->addConformer(conf, true);
  auto dir = bmx::test::scratch_dir("molio_v3000");
  auto out = (dir / "big.sdf").string();
  {
    bmx::mol3d::SdfWriter w(out);
    w.write(*mol, "C400");
    w.finish();
  }
  std::string text = bmx::test::read_file(out);
  CHECK(text.find("V3000") != std::string::npos);
  RDKit::SDMolSupplier sup(out, true, false);
  std::unique_ptr<RDKit::ROMol> back(sup[0]);
  REQUIRE(back);
  CHECK(back->getNumAtoms() == n);
  CHECK(back->getConformer().is3D());
  std::string xyz;
  REQUIRE(bmx::test::run("obabel -isdf " + out + " -oxyz 2>/dev/null", &xyz) == 0);
  CHECK(std::stoi(lines_of(xyz).at(0)) == static_cast<int>(n));
}

TEST_CASE("writing to a path that cannot be created is an InputError naming it") {
  CHECK_THROWS_WITH_AS(bmx::mol3d::SdfWriter("/nonexistent-dir/x.sdf"), doctest::Contains("/nonexistent-dir/x.sdf"),
                       bmx::InputError);
}

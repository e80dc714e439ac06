// The molecule reader over every real file of shared/data/molecules, checked against the manifest.
#include <doctest/doctest.h>

#include <GraphMol/MolOps.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "bmx/core/util/error.h"
#include "bmx/mol3d/molecule_io.h"
#include "shared.h"

namespace fs = std::filesystem;
using bmx::mol3d::MolRecord;
using bmx::mol3d::read_molecules;

namespace {

fs::path molecules() { return bmx::test::shared_file("data/molecules"); }

struct ManifestRow {
  std::string file, format, what;
};

std::vector<ManifestRow> manifest() {
  std::vector<ManifestRow> rows;
  auto lines = bmx::test::read_lines(bmx::test::shared_file("data/molecules/manifest.tsv"));
  for (std::size_t i = 1; i < lines.size(); ++i) {
    auto t1 = lines[i].find('\t'), t2 = lines[i].find('\t', t1 + 1);
    rows.push_back({lines[i].substr(0, t1), lines[i].substr(t1 + 1, t2 - t1 - 1), lines[i].substr(t2 + 1)});
  }
  return rows;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

int total_charge(const RDKit::ROMol& m) {
  int q = 0;
  for (const auto* a : m.atoms()) q += a->getFormalCharge();
  return q;
}

std::string smiles(const RDKit::ROMol& m) {
  RDKit::ROMol copy(m);
  std::unique_ptr<RDKit::ROMol> noh(RDKit::MolOps::removeHs(copy));
  return RDKit::MolToSmiles(*noh, /*doIsomericSmiles=*/false);
}

// What every good record promises: 3D conformer, no implicit hydrogens left, finite non-flat coordinates.
void check_good(const MolRecord& r) {
  INFO(r.where());
  REQUIRE(r.ok());
  CHECK(r.error.empty());
  REQUIRE(r.mol->getNumConformers() == 1);
  const auto& conf = r.mol->getConformer();
  CHECK(conf.is3D());
  for (const auto* a : r.mol->atoms()) CHECK(a->getTotalNumHs(false) == 0);
  for (const auto& p : conf.getPositions()) CHECK((std::isfinite(p.x) && std::isfinite(p.y) && std::isfinite(p.z)));
  CHECK(!r.name.empty());
}

}  // namespace

TEST_CASE("every molecule file behaves as the manifest says") {
  auto rows = manifest();
  std::set<std::string> listed;
  for (const auto& row : rows) listed.insert(row.file);
  // The manifest covers the folder, so no file goes untested.
  for (const auto& e : fs::directory_iterator(molecules()))
    if (e.path().filename() != "manifest.tsv") CHECK_MESSAGE(listed.count(e.path().filename().string()), e.path());
  CHECK(rows.size() >= 39);

  for (const auto& row : rows) {
    INFO(row.file << ": " << row.what);
    auto path = (molecules() / row.file).string();
    auto recs = read_molecules(path);
    REQUIRE(!recs.empty());
    bool broken = contains(row.what, "BROKEN");
    bool flat_2d = contains(row.what, "2D coordinates only") || contains(row.what, "planar (z=0)");
    // (dioxin.mol2 is described "heavy atoms only" but holds its 4 H: the file wins, H kept as read.)
    bool no_h = contains(row.what, "without H") || contains(row.what, "WITHOUT hydrogens") ||
                contains(row.what, "no H");
    for (const auto& r : recs) CHECK(r.file == path);
    if (broken) {
      // Each error names the file, and the record when there is one, and says what is wrong.
      int errors = 0;
      for (const auto& r : recs) {
        if (r.ok()) continue;
        ++errors;
        CHECK(contains(r.error, row.file));
        if (row.file != "empty.sdf") {
          CHECK(r.index >= 1);
          CHECK(contains(r.error, "record " + std::to_string(r.index)));
        }
        CHECK(r.error.find('\n') == std::string::npos);
      }
      CHECK(errors >= 1);
    } else if (flat_2d) {
      int refused = 0;
      for (const auto& r : recs)
        if (!r.ok()) {
          ++refused;
          CHECK(contains(r.error, "2D"));
          CHECK(contains(r.error, "record " + std::to_string(r.index)));
        } else {
          check_good(r);  // pyrazole_pyridine's second record is 3D
        }
      CHECK(refused >= 1);
    } else {
      for (const auto& r : recs) check_good(r);
    }
    if (no_h && !flat_2d) {
      for (const auto& r : recs) {
        REQUIRE(r.ok());
        CHECK(r.hydrogens_added > 0);
        CHECK(std::find(r.notes.begin(), r.notes.end(), "added " + std::to_string(r.hydrogens_added) + " H") !=
              r.notes.end());
      }
    }
    if (!no_h && !broken && !flat_2d && contains(row.what, "with H"))
      for (const auto& r : recs) CHECK(r.hydrogens_added == 0);
  }
}

TEST_CASE("record counts, names and order of multi-record files") {
  std::map<std::string, int> expected = {{"cdk2_5.sdf", 5}, {"egfr_4.sdf", 4}, {"bzr_noH_5.sdf", 5},
                                         {"pubchem_2d_3.sdf", 3}, {"pyrazole_pyridine.mol2", 2}};
  for (const auto& [file, n] : expected) {
    auto recs = read_molecules((molecules() / file).string());
    CHECK_MESSAGE(recs.size() == static_cast<std::size_t>(n), file);
    for (std::size_t i = 0; i < recs.size(); ++i) CHECK(recs[i].index == static_cast<int>(i) + 1);
  }
  auto cdk2 = read_molecules((molecules() / "cdk2_5.sdf").string());
  CHECK(cdk2[0].name == "ZINC03814457");
  auto pp = read_molecules((molecules() / "pyrazole_pyridine.mol2").string());
  CHECK(pp[0].name == "pyrazole");
  CHECK(pp[1].name == "pyridine");
  REQUIRE(pp[1].ok());
  CHECK(smiles(*pp[1].mol) == "c1ccncc1");
}

TEST_CASE("a truncated SDF yields its good record, then an error for the cut one") {
  auto recs = read_molecules((molecules() / "broken_truncated.sdf").string());
  REQUIRE(recs.size() == 2);
  check_good(recs[0]);
  CHECK(recs[0].mol->getNumAtoms() == 30);
  CHECK(!recs[1].ok());
  CHECK(contains(recs[1].error, "broken_truncated.sdf:record 2"));
  CHECK(contains(recs[1].error, "truncated"));
}

TEST_CASE("broken files name their problem") {
  auto one = [](const std::string& f) {
    auto recs = read_molecules((molecules() / f).string());
    REQUIRE(recs.size() == 1);
    CHECK(!recs[0].ok());
    return recs[0].error;
  };
  CHECK(contains(one("broken_atomcount.xyz"), "7 atoms, 3 given"));
  CHECK(contains(one("broken_element.xyz"), "unknown element 'Qq'"));
  CHECK(contains(one("broken_noatoms.mol2"), "no atoms"));
  CHECK(contains(one("empty.sdf"), "empty"));
  CHECK(!one("broken_counts.mol").empty());
}

TEST_CASE("charges: MOL2 types, V2000 CHG, XYZ comment line and valence") {
  auto first = [](const std::string& f) {
    auto recs = read_molecules((molecules() / f).string());
    REQUIRE(recs.size() >= 1);
    REQUIRE(recs[0].ok());
    return std::move(recs[0]);
  };
  CHECK(total_charge(*first("chargedAmidine.mol2").mol) == 1);
  CHECK(total_charge(*first("choline_cation.mol").mol) == 1);
  auto carbanion = first("carbanion_test1.xyz");
  CHECK(total_charge(*carbanion.mol) == -1);
  CHECK(carbanion.mol->getAtomWithIdx(1)->getFormalCharge() == -1);  // the comment's [C-]
  CHECK(smiles(*carbanion.mol) == "C[C-](C)c1ccccc1");
  auto enolate = first("enolate_test2.xyz");
  CHECK(total_charge(*enolate.mol) == -1);
  CHECK(smiles(*enolate.mol) == "C=C([O-])CC");
  auto butene = first("methylbutene_test8.xyz");
  CHECK(total_charge(*butene.mol) == 0);
  CHECK(smiles(*butene.mol) == "C=C(C)CC");
  CHECK(butene.mol->getNumAtoms() == 15);
  // The ammonium of cdk2 record 14 comes back as N+ from bare coordinates too.
  CHECK(total_charge(*first("cdk2_14.xyz").mol) == 1);
  for (const auto& a : {"carbanion_test1.xyz", "enolate_test2.xyz", "methylbutene_test8.xyz"}) {
    // The record is held by name: a temporary in the range expression would die before the loop (ASan).
    const auto record = first(a);
    for (const auto* atom : record.mol->atoms()) CHECK(atom->getNumRadicalElectrons() == 0);
  }
}

TEST_CASE("XYZ bond perception agrees with the MOL2 and SDF of the same ligand") {
  for (const auto* stem : {"cdk2_12", "cdk2_13", "cdk2_14"}) {
    INFO(stem);
    auto xyz = read_molecules((molecules() / (std::string(stem) + ".xyz")).string());
    auto mol2 = read_molecules((molecules() / (std::string(stem) + ".mol2")).string());
    REQUIRE(xyz.size() == 1);
    REQUIRE(mol2.size() == 1);
    REQUIRE(xyz[0].ok());
    REQUIRE(mol2[0].ok());
    CHECK(xyz[0].mol->getNumAtoms() == mol2[0].mol->getNumAtoms());
    CHECK(smiles(*xyz[0].mol) == smiles(*mol2[0].mol));
    CHECK(xyz[0].hydrogens_added == 0);
  }
}

TEST_CASE("V3000 and V2000 of L-alanine give the same molecule and coordinates") {
  auto v2 = read_molecules((molecules() / "l_alanine_stereo.mol").string());
  auto v3 = read_molecules((molecules() / "l_alanine_v3000.mol").string());
  REQUIRE(v2.size() == 1);
  REQUIRE(v3.size() == 1);
  REQUIRE(v2[0].ok());
  REQUIRE(v3[0].ok());
  REQUIRE(v2[0].mol->getNumAtoms() == v3[0].mol->getNumAtoms());
  CHECK(RDKit::MolToSmiles(*v2[0].mol) == RDKit::MolToSmiles(*v3[0].mol));
  for (unsigned i = 0; i < v2[0].mol->getNumAtoms(); ++i)
    CHECK((v2[0].mol->getConformer().getAtomPos(i) - v3[0].mol->getConformer().getAtomPos(i)).length() < 1e-3);
}

TEST_CASE("added hydrogens get 3D positions at bonding distance") {
  auto recs = read_molecules((molecules() / "bzr_noH_5.sdf").string());
  for (const auto& r : recs) {
    REQUIRE(r.ok());
    const auto& conf = r.mol->getConformer();
    int hs = 0;
    for (const auto* a : r.mol->atoms()) {
      if (a->getAtomicNum() != 1) continue;
      ++hs;
      REQUIRE(a->getDegree() == 1);
      const auto* heavy = *r.mol->atomNeighbors(a).begin();
      double d = (conf.getAtomPos(a->getIdx()) - conf.getAtomPos(heavy->getIdx())).length();
      CHECK(d > 0.9);
      CHECK(d < 1.2);
    }
    CHECK(hs == r.hydrogens_added);
  }
  // Hydrogens that were in the file are kept as read, none added.
  auto cdk2 = read_molecules((molecules() / "cdk2_7.mol").string());
  REQUIRE(cdk2[0].ok());
  CHECK(cdk2[0].mol->getNumAtoms() == 57);
  CHECK(cdk2[0].hydrogens_added == 0);
}

TEST_CASE("options: no H added, 2D accepted on request") {
  bmx::mol3d::ReadOptions o;
  o.add_hydrogens = false;
  auto recs = read_molecules((molecules() / "bzr_10_noH.mol").string(), o);
  REQUIRE(recs[0].ok());
  CHECK(recs[0].hydrogens_added == 0);
  CHECK(recs[0].mol->getNumAtoms() == 19);
  o.require_3d = false;
  auto flat = read_molecules((molecules() / "pubchem_2d_3.sdf").string(), o);
  REQUIRE(flat.size() == 3);
  for (const auto& r : flat) CHECK(r.ok());
}

TEST_CASE("one streaming reader over many files, gzip, upper-case extensions, stdin, Open Babel formats") {
  auto dir = bmx::test::scratch_dir("molio_stream");
  // gzip copy of a multi-record SDF, and an upper-case extension.
  std::string sdf = bmx::test::read_file(molecules() / "cdk2_5.sdf");
  auto gz_path = (dir / "cdk2_5.SDF.gz").string();
  gzFile gz = gzopen(gz_path.c_str(), "wb");
  REQUIRE(gz);
  gzwrite(gz, sdf.data(), static_cast<unsigned>(sdf.size()));
  gzclose(gz);
  CHECK(bmx::mol3d::format_from_path(gz_path) == bmx::mol3d::MolFormat::sdf);
  CHECK(bmx::mol3d::format_from_path("a/B.MOL2") == bmx::mol3d::MolFormat::mol2);
  CHECK(bmx::mol3d::format_from_path("x.Xyz") == bmx::mol3d::MolFormat::xyz);
  CHECK(bmx::mol3d::format_from_path("x.mol") == bmx::mol3d::MolFormat::sdf);
  CHECK(bmx::mol3d::format_from_path("x.pdb") == bmx::mol3d::MolFormat::other);

  // A PDB written by Open Babel: read through Open Babel, H completed by RDKit.
  auto pdb = (dir / "cdk2_8.pdb").string();
  REQUIRE(bmx::test::run("obabel -imol " + (molecules() / "cdk2_8.mol").string() + " -opdb -O " + pdb + " 2>/dev/null") == 0);

  std::vector<std::string> paths = {gz_path, (molecules() / "empty.sdf").string(),
                                    (molecules() / "egfr_4.sdf").string(), pdb,
                                    (dir / "missing.sdf").string()};
  bmx::mol3d::MolReader reader(paths);
  MolRecord r;
  std::vector<std::string> seen;
  int good = 0;
  while (reader.next(r)) {
    seen.push_back(fs::path(r.file).filename().string() + "#" + std::to_string(r.index));
    good += r.ok();
  }
  std::vector<std::string> want = {"cdk2_5.SDF.gz#1", "cdk2_5.SDF.gz#2", "cdk2_5.SDF.gz#3", "cdk2_5.SDF.gz#4",
                                   "cdk2_5.SDF.gz#5", "empty.sdf#0",      "egfr_4.sdf#1",   "egfr_4.sdf#2",
                                   "egfr_4.sdf#3",    "egfr_4.sdf#4",     "cdk2_8.pdb#1",   "missing.sdf#0"};
  CHECK(seen == want);
  CHECK(good == 10);

  auto from_pdb = read_molecules(pdb);
  auto from_mol = read_molecules((molecules() / "cdk2_8.mol").string());
  REQUIRE(from_pdb.size() == 1);
  REQUIRE(from_pdb[0].ok());
  CHECK(from_pdb[0].mol->getNumAtoms() == from_mol[0].mol->getNumAtoms());

  // "-" reads standard input with a format hint.
  int saved = dup(0);
  int fd = open((molecules() / "sulfonAmide.mol2").c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  dup2(fd, 0);
  close(fd);
  bmx::mol3d::ReadOptions o;
  o.format = "mol2";
  auto in = read_molecules("-", o);
  dup2(saved, 0);
  close(saved);
  REQUIRE(in.size() == 1);
  REQUIRE(in[0].ok());
  CHECK(in[0].file == "-");
  CHECK(in[0].where() == "<stdin>:record 1 (NoName)");
  CHECK(in[0].mol->getNumAtoms() == 10);
}

TEST_CASE("a bad record in the middle of a batch is reported and the records after it are read") {
  auto dir = bmx::test::scratch_dir("molio_midfile");
  // SDF: record 2 has a corrupted atom line; CRLF line ends throughout.
  auto recs_text = bmx::test::read_file(molecules() / "egfr_4.sdf");
  std::vector<std::string> records;
  for (std::size_t start = 0, end; (end = recs_text.find("$$$$\n", start)) != std::string::npos; start = end + 5)
    records.push_back(recs_text.substr(start, end + 5 - start));
  REQUIRE(records.size() == 4);
  auto cut = records[1].find("\n", records[1].find("V2000")) + 1;
  records[1].replace(cut, 10, "   garbage");
  std::string joined;
  for (const auto& r : records) joined += r;
  std::string crlf;
  for (char c : joined) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  auto sdf = (dir / "mixed.sdf").string();
  std::ofstream(sdf, std::ios::binary) << crlf;
  auto recs = read_molecules(sdf);
  REQUIRE(recs.size() == 4);
  CHECK(recs[0].ok());
  CHECK(!recs[1].ok());
  CHECK(contains(recs[1].error, "mixed.sdf:record 2 (ZINC00020644)"));
  CHECK(recs[2].ok());
  CHECK(recs[3].ok());
  CHECK(recs[3].name == "ZINC03815361");
  CHECK(recs[3].fields.size() == read_molecules((molecules() / "egfr_4.sdf").string())[3].fields.size());

  // XYZ: three frames, the middle one with an unknown element.
  auto xyz = (dir / "frames.xyz").string();
  std::string bad = "3\nbad frame\nQq 0 0 0\nH 0.96 0 0\nH -0.24 0.93 0\n";
  std::ofstream(xyz) << bmx::test::read_file(molecules() / "methylbutene_test8.xyz") << bad
                     << bmx::test::read_file(molecules() / "enolate_test2.xyz");
  auto frames = read_molecules(xyz);
  REQUIRE(frames.size() == 3);
  CHECK(frames[0].ok());
  CHECK(!frames[1].ok());
  CHECK(contains(frames[1].error, "frames.xyz:record 2 (bad frame)"));
  CHECK(contains(frames[1].error, "unknown element 'Qq'"));
  REQUIRE(frames[2].ok());
  CHECK(total_charge(*frames[2].mol) == -1);

  // "charge=-1" on the comment line works like a SMILES there.
  auto text = bmx::test::read_file(molecules() / "enolate_test2.xyz");
  auto nl = text.find('\n');
  auto eol = text.find('\n', nl + 1);
  text.replace(nl + 1, eol - nl - 1, "butanone enolate charge=-1 mult=1");
  auto kv = (dir / "kv.xyz").string();
  std::ofstream(kv) << text;
  auto kv_recs = read_molecules(kv);
  REQUIRE(kv_recs.size() == 1);
  REQUIRE(kv_recs[0].ok());
  CHECK(kv_recs[0].name == "butanone enolate charge=-1 mult=1");
  CHECK(total_charge(*kv_recs[0].mol) == -1);
}

TEST_CASE("molblock in memory") {
  auto text = bmx::test::read_file(molecules() / "choline_cation.mol");
  auto mol = bmx::mol3d::mol_from_molblock(text, "choline");
  CHECK(mol->getNumAtoms() == 21);
  CHECK_THROWS_WITH_AS(bmx::mol3d::mol_from_molblock("junk\n\n\n  1  0\nM  END\n", "mem:record 4"),
                       doctest::Contains("mem:record 4"), bmx::InputError);
}

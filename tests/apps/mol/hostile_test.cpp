// Issue 17 (molecule side) and the leftovers of issue 16: bmx mol fed hostile or careless input, as a user runs it.
// Every written file is read back with RDKit; every refusal is one line naming the file, the record and the problem.
#include <GraphMol/Conformer.h>
#include <GraphMol/FileParsers/FileParsers.h>
#include <GraphMol/FileParsers/MolSupplier.h>
#include <GraphMol/ForceFieldHelpers/MMFF/AtomTyper.h>
#include <GraphMol/ForceFieldHelpers/UFF/AtomTyper.h>
#include <ForceField/UFF/Params.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/PeriodicTable.h>
#include <GraphMol/RWMol.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "bmx/mol3d/conformer.h"
#include "bmx/mol3d/sdf_writer.h"
#include "shared.h"

namespace fs = std::filesystem;

namespace {

std::string bmx_cmd() { return bmx::test::bmx_exe().string(); }
fs::path molecules() { return bmx::test::shared_dir() / "data/molecules"; }

void write_file(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

std::vector<std::unique_ptr<RDKit::ROMol>> read_sdf_text(const std::string& text) {
  RDKit::SDMolSupplier sup;
  sup.setData(text, /*sanitize=*/true, /*removeHs=*/false);
  std::vector<std::unique_ptr<RDKit::ROMol>> out;
  while (!sup.atEnd()) {
    std::unique_ptr<RDKit::ROMol> m(sup.next());
    REQUIRE(m);
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<std::unique_ptr<RDKit::ROMol>> read_sdf(const fs::path& p) {
  return read_sdf_text(bmx::test::read_file(p));
}

int lines_in(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// The closest approach of two atoms of different fragments, measured against the sum of their covalent radii
// (RDKit's periodic table) + 0.4 Å: >= 0 when the bound holds.
double worst_interfragment_clearance(const RDKit::ROMol& m, int* fragments = nullptr) {
  std::vector<int> frag;
  const unsigned nf = RDKit::MolOps::getMolFrags(m, frag);
  if (fragments) *fragments = int(nf);
  const auto* table = RDKit::PeriodicTable::getTable();
  const auto& conf = m.getConformer();
  double worst = 1e9;
  for (unsigned i = 0; i < m.getNumAtoms(); ++i)
    for (unsigned j = i + 1; j < m.getNumAtoms(); ++j) {
      if (frag[i] == frag[j]) continue;
      const double need = table->getRcovalent(m.getAtomWithIdx(i)->getAtomicNum()) +
                          table->getRcovalent(m.getAtomWithIdx(j)->getAtomicNum()) + 0.4;
      worst = std::min(worst, (conf.getAtomPos(i) - conf.getAtomPos(j)).length() - need);
    }
  return worst;
}

// A V2000 molblock of `n` atoms of `element` at the given coordinates, no bonds.
std::string molblock(const std::vector<std::array<double, 3>>& xyz, const std::string& element = "C",
                     const std::string& bonds = "", int nbonds = 0) {
  char buf[128];
  std::string s = "hostile\n  bmx     3D\n\n";
  std::snprintf(buf, sizeof buf, "%3zu%3d  0  0  0  0  0  0  0  0999 V2000\n", xyz.size(), nbonds);
  s += buf;
  for (const auto& p : xyz) {
    std::snprintf(buf, sizeof buf, "%10.4f%10.4f%10.4f %-3s 0  0  0  0  0  0  0  0  0  0  0  0\n", p[0], p[1], p[2],
                  element.c_str());
    s += buf;
  }
  return s + bonds + "M  END\n$$$$\n";
}

// `text` with the first `from` replaced by `to`.
std::string with(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("16.2: salt fragments keep the covalent-radius clearance, decoded and refined, read back by RDKit") {
  auto dir = bmx::test::scratch_dir("hostile_salts");
  // Inputs: the corpus' salts, the public vectors' multi-fragment molecules and salts built from SMILES.
  std::vector<fs::path> inputs = {molecules() / "methylammonium_chloride_salt.mol",
                                  molecules() / "sodium_acetate_salt.mol"};
  int k = 0;
  for (const auto& v : bmx::test::shared_jsonl("vectors/molstructok/public.jsonl")) {
    if (!v.contains("input_molblock") || v["input_molblock"].get<std::string>().empty()) continue;
    std::unique_ptr<RDKit::RWMol> m(RDKit::MolBlockToMol(v["input_molblock"].get<std::string>(), true, false));
    if (!m) continue;
    std::vector<int> frag;
    if (RDKit::MolOps::getMolFrags(*m, frag) < 2) continue;
    inputs.push_back(dir / ("vector_" + std::to_string(++k) + ".mol"));
    write_file(inputs.back(), v["input_molblock"].get<std::string>() + "$$$$\n");
  }
  CHECK(k == 3);  // sodium acetate, ammonium chloride, methylammonium chloride
  // (A bare K+ Br- pair is left out: MMFF's ionic contact, 2.94 Å, sits on this bound, 1.33 + 1.21 + 0.4 Å, where
  // the real KBr bond is 2.82 Å; the bound is for ions placed on other atoms, not for ion pairs in contact.)
  for (const char* smi : {"C[NH3+].[Cl-]", "CC(=O)[O-].[Na+]", "C[N+](C)(C)C.[I-]"}) {
    auto m = bmx::mol3d::molecule_from_smiles(smi, smi);
    inputs.push_back(dir / ("smiles_" + std::to_string(++k) + ".sdf"));
    write_file(inputs.back(), bmx::mol3d::sdf_record(*m, smi, {}, smi));
  }
  // One batch per command (each run loads the model): every input encoded, decoded refined and raw, refined.
  std::string all;
  for (const auto& in : inputs) all += " " + in.string();
  const auto jl = dir / "all.jsonl";
  std::string err;
  // The public vectors' ammonium chloride has N and Cl at one point (an embedding artefact): degenerate input,
  // refused as such (the batch exits 1 after writing the others), never decoded.
  CHECK(bmx::test::run(bmx_cmd() + " mol encode -q" + all + " -o " + jl.string(), &err, true) == 1);
  CHECK(lines_in(err) == 2);
  CHECK(err.find("vector_2.mol:record 1: degenerate geometry: atoms 1 and 2 coincide") != std::string::npos);
  // The decode-only vector with two fragments joins the decoded ones.
  std::string tokens = bmx::test::read_file(jl);
  for (const auto& v : bmx::test::shared_jsonl("vectors/molstructok/decode_only.jsonl"))
    if (v["struct_sfi"].get<std::string>().find("].[") != std::string::npos)
      tokens += v["struct_sfi"].get<std::string>() + "\n";
  write_file(jl, tokens);
  const int expected = int(inputs.size()) - 1 + 1;
  int checked = 0;
  for (const char* flags : {"", " --no-refine"}) {
    INFO("decode" << flags);
    std::string sdf;
    REQUIRE(bmx::test::run(bmx_cmd() + " mol decode -q" + flags + " -i " + jl.string(), &sdf) == 0);
    auto mols = read_sdf_text(sdf);
    REQUIRE(int(mols.size()) == expected);
    for (const auto& m : mols) {
      const std::string name = m->getProp<std::string>("_Name");
      INFO(name);
      int fragments = 0;
      CHECK(worst_interfragment_clearance(*m, &fragments) >= 0);
      CHECK(fragments >= 2);
      ++checked;
    }
  }
  std::string refined;
  CHECK(bmx::test::run(bmx_cmd() + " mol refine -q" + all + " 2>/dev/null", &refined) == 1);
  auto mols = read_sdf_text(refined);
  REQUIRE(int(mols.size()) == int(inputs.size()) - 1);
  for (const auto& m : mols) {
    const std::string name = m->getProp<std::string>("_Name");
    INFO(name);
    CHECK(worst_interfragment_clearance(*m) >= 0);
    ++checked;
  }
  CHECK(checked >= 21);
}

TEST_CASE("16.5: the force-field atom types are written and are RDKit's wherever RDKit has a type") {
  auto dir = bmx::test::scratch_dir("hostile_types");
  auto dimethylselenide = dir / "me2se.sdf";
  {
    auto m = bmx::mol3d::molecule_from_smiles("C[Se]C", "C[Se]C");
    write_file(dimethylselenide, bmx::mol3d::sdf_record(*m, "dimethyl selenide", {}, "x"));
  }
  int generic = 0, uff = 0, mmff = 0;
  for (const fs::path& in : {molecules() / "ebselen_se.mol", dimethylselenide, molecules() / "phenylboronic_acid_b.mol",
                             molecules() / "tbdms_ether_si.mol", molecules() / "cdk2_9.mol"}) {
    INFO(in.string());
    auto out = dir / (in.stem().string() + "_refined.sdf");
    REQUIRE(bmx::test::run(bmx_cmd() + " mol refine -q " + in.string() + " -o " + out.string()) == 0);
    auto mols = read_sdf(out);
    REQUIRE(mols.size() == 1);
    RDKit::ROMol& m = *mols[0];
    REQUIRE(m.hasProp("bmx_ff_atom_types"));
    std::istringstream in_types(m.getProp<std::string>("bmx_ff_atom_types"));
    std::vector<std::string> types;
    for (std::string t; in_types >> t;) types.push_back(t);
    REQUIRE(types.size() == m.getNumAtoms());
    const std::string how = m.getProp<std::string>("bmx_refinement");
    if (how.rfind("UFF", 0) == 0) {
      ++uff;
      auto [params, all] = RDKit::UFF::getAtomTypes(m);
      const auto* table = ForceFields::UFF::ParamCollection::getParams();
      for (const auto* a : m.atoms()) {
        INFO(a->getSymbol() << a->getIdx() + 1);
        if (params[a->getIdx()]) {
          CHECK(types[a->getIdx()] == RDKit::UFF::Tools::getAtomLabel(a));
        } else {
          // RDKit has no parameters for its label (aromatic Se is "Se2+2"): a UFF type of the same element.
          ++generic;
          CHECK((*table)(types[a->getIdx()]) != nullptr);
          CHECK(types[a->getIdx()].rfind(a->getSymbol(), 0) == 0);
          CHECK(how.find(types[a->getIdx()]) != std::string::npos);  // named in bmx_refinement
        }
      }
    } else {
      ++mmff;
      RDKit::MMFF::MMFFMolProperties props(m);
      REQUIRE(props.isValid());
      for (const auto* a : m.atoms()) CHECK(types[a->getIdx()] == std::to_string(int(props.getMMFFAtomType(a->getIdx()))));
    }
  }
  CHECK(uff >= 3);
  CHECK(mmff >= 1);
  // Dimethyl selenide: RDKit types Se3+2 itself, and so does bmx.
  auto me2se = read_sdf(dir / "me2se_refined.sdf");
  CHECK(me2se[0]->getProp<std::string>("bmx_ff_atom_types").find("Se3+2") != std::string::npos);
}

TEST_CASE("16 leftovers: mol decode and mol refine write to stdout without -o, as encode does") {
  std::string out;
  REQUIRE(bmx::test::run(bmx_cmd() + " mol decode -q '[H 3][O 26][H 304]'", &out) == 0);
  CHECK(read_sdf_text(out).size() == 1);
  REQUIRE(bmx::test::run(bmx_cmd() + " mol refine -q " + (molecules() / "cdk2_5.sdf").string(), &out) == 0);
  CHECK(read_sdf_text(out).size() == 5);
  REQUIRE(bmx::test::run(bmx_cmd() + " mol refine -q -o - " + (molecules() / "water.mol").string(), &out) == 0);
  CHECK(read_sdf_text(out).size() == 1);
}

TEST_CASE("17: --max-atoms bounds every mol command, before the work that grows with the atoms") {
  auto dir = bmx::test::scratch_dir("hostile_size");
  std::string many;
  for (int i = 0; i < 1001; ++i) many += "[C 0]";
  std::string err;
  // 1001 token atoms: refused before decoding, with the limit and the flag named.
  CHECK(bmx::test::run(bmx_cmd() + " mol decode -q '" + many + "' -o " + (dir / "x.sdf").string(), &err, true) == 1);
  CHECK(err.find("argument:1") != std::string::npos);
  CHECK(err.find("1001 atoms, more than the limit of 1000 (--max-atoms raises it)") != std::string::npos);
  CHECK(!fs::exists(dir / "x.sdf"));
  // 400 carbons are 1202 atoms once their hydrogens are added: refused too, and accepted with a higher limit.
  std::string c400;
  for (int i = 0; i < 400; ++i) c400 += "[C 0]";
  CHECK(bmx::test::run(bmx_cmd() + " mol decode -q --no-refine '" + c400 + "'", &err, true) == 1);
  CHECK(err.find("1202 atoms, more than the limit of 1000") != std::string::npos);
  std::string sdf;
  REQUIRE(bmx::test::run(bmx_cmd() + " mol decode -q --no-refine --max-atoms 1202 '" + c400 + "'", &sdf) == 0);
  auto mols = read_sdf_text(sdf);
  REQUIRE(mols.size() == 1);
  CHECK(mols[0]->getNumAtoms() == 1202);
  // The same flag, the same meaning, on encode, refine and eval (cdk2_9 has 29 atoms with H).
  const std::string in = (molecules() / "cdk2_9.mol").string();
  for (const char* cmd : {" mol encode -q --max-atoms 28 ", " mol refine -q --max-atoms 28 ", " mol eval -q --max-atoms 28 "}) {
    INFO(cmd);
    CHECK(bmx::test::run(bmx_cmd() + cmd + in, &err, true) == 1);
    CHECK(err.find("cdk2_9.mol:record 1") != std::string::npos);
    CHECK(err.find("more than the limit of 28") != std::string::npos);
  }
  CHECK(bmx::test::run(bmx_cmd() + " mol encode -q --max-atoms 29 " + in, &err) == 0);
  CHECK(bmx::test::run(bmx_cmd() + " mol encode -q --max-atoms 0 " + in, &err, true) != 0);  // must be positive
}

TEST_CASE("17: degenerate geometry is refused with the record named, from every reader format and by refine") {
  auto dir = bmx::test::scratch_dir("hostile_geometry");
  const std::vector<std::array<double, 3>> one_point(5, {1.0, 2.0, 3.0});
  struct Case {
    std::string name, text, problem;
  };
  std::vector<Case> cases = {
      {"one_point.sdf", molblock(one_point), "all 5 atoms at one point"},
      {"one_point.xyz", "3\nwater at one point\nO 0 0 0\nH 0 0 0\nH 0 0 0\n", "all 3 atoms at one point"},
      {"one_point.mol2",
       "@<TRIPOS>MOLECULE\nm\n 3 2 1 0 0\nSMALL\nNO_CHARGES\n\n@<TRIPOS>ATOM\n"
       "      1 O1          1.0000    1.0000    1.0000 O.3     1  MOL       0.0000\n"
       "      2 H1          1.0000    1.0000    1.0000 H       1  MOL       0.0000\n"
       "      3 H2          1.0000    1.0000    1.0000 H       1  MOL       0.0000\n"
       "@<TRIPOS>BOND\n     1     1     2    1\n     2     1     3    1\n",
       "all 3 atoms at one point"},
      {"huge.sdf",  // V3000: free-format coordinates (V2000's columns cannot hold 1e300)
       "huge\n  bmx     3D\n\n  0  0  0     0  0            999 V3000\nM  V30 BEGIN CTAB\nM  V30 COUNTS 4 0 0 0 0\n"
       "M  V30 BEGIN ATOM\nM  V30 1 C 0 1e300 0 0\nM  V30 2 C 1.5 0 0 0\nM  V30 3 C 0 1.5 0 0\nM  V30 4 C 0 0 1.5 0\n"
       "M  V30 END ATOM\nM  V30 END CTAB\nM  END\n$$$$\n",
       "atom 1 has a coordinate of 1e+300"},
      {"huge.xyz", "3\nwater far away\nO 1e300 0 0\nH 0.96 0 0\nH -0.24 0.93 0\n", "coordinate of 1e+300"},
      {"far.xyz", "3\nwater far away\nO 200000 0 0\nH 0.96 0 0\nH -0.24 0.93 0\n", "beyond ±100000 Å"},
      {"coincident.xyz", "5\nmethane with two H on one spot\nC 0 0 0\nH 0.63 0.63 0.63\nH 0.63 0.63 0.63\n"
                         "H 0.63 -0.63 -0.63\nH -0.63 -0.63 0.63\n",
       "atoms 2 and 3 coincide"},
      {"zero_bond.sdf",
       molblock({{0, 0, 0}, {0, 0, 0}, {1.5, 0, 0}, {0, 1.5, 0.2}}, "C", "  1  2  1  0\n  1  3  1  0\n  1  4  1  0\n", 3),
       "atoms 1 and 2 coincide"},
      {"one_point.pdb",
       "HETATM    1  O   HOH A   1       1.000   1.000   1.000  1.00  0.00           O\n"
       "HETATM    2  H1  HOH A   1       1.000   1.000   1.000  1.00  0.00           H\n"
       "HETATM    3  H2  HOH A   1       1.000   1.000   1.000  1.00  0.00           H\nEND\n",
       "all 3 atoms at one point"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    write_file(dir / c.name, c.text);
    std::string err;
    CHECK(bmx::test::run(bmx_cmd() + " mol encode -q " + (dir / c.name).string(), &err, true) == 1);
    CHECK(lines_in(err) == 2);  // the record's line and the batch summary
    CHECK(err.find((dir / c.name).string() + ":record 1") != std::string::npos);
    CHECK(err.find("degenerate geometry") != std::string::npos);
    CHECK(err.find(c.problem) != std::string::npos);
    // refine: the same refusal, no NaN energies, no file (one case per reader format: each run loads bmx).
    if (c.name != "one_point.sdf" && c.name != "one_point.xyz" && c.name != "one_point.pdb") continue;
    auto out = dir / (c.name + ".refined.sdf");
    CHECK(bmx::test::run(bmx_cmd() + " mol refine -q " + (dir / c.name).string() + " -o " + out.string(), &err, true) == 1);
    CHECK(err.find("degenerate geometry") != std::string::npos);
    CHECK(err.find("nan") == std::string::npos);
    CHECK(!fs::exists(out));
  }
  // A batch keeps its good records: the bad one is named, the good one written.
  std::string out, err;
  CHECK(bmx::test::run(bmx_cmd() + " mol refine -q " + (dir / "one_point.sdf").string() + " " +
                           (molecules() / "water.mol").string() + " 2>" + (dir / "err.txt").string(),
                       &out) == 1);
  CHECK(read_sdf_text(out).size() == 1);
  CHECK(bmx::test::read_file(dir / "err.txt").find("one_point.sdf:record 1") != std::string::npos);
}

TEST_CASE("17: coordinates wider than V2000's columns are written as V3000, which bmx and RDKit read back") {
  auto dir = bmx::test::scratch_dir("hostile_v3000");
  std::unique_ptr<RDKit::RWMol> m(RDKit::MolFileToMol((molecules() / "cdk2_9.mol").string(), true, false));
  REQUIRE(m);
  RDGeom::Point3D c0 = m->getConformer().getAtomPos(0);
  for (auto& p : m->getConformer().getPositions()) p.x -= 50000.0;
  auto in = dir / "far.mol";
  write_file(in, RDKit::MolToMolBlock(*m, true, -1, true, /*forceV3000=*/true) + "$$$$\n");
  auto out = dir / "far_refined.sdf";
  std::string err;
  REQUIRE(bmx::test::run(bmx_cmd() + " mol refine " + in.string() + " -o " + out.string() + " 2>&1 >/dev/null", &err) == 0);
  CHECK(err.find("written as V3000") != std::string::npos);
  const std::string text = bmx::test::read_file(out);
  CHECK(text.find("V3000") != std::string::npos);
  auto back = read_sdf(out);
  REQUIRE(back.size() == 1);
  CHECK(back[0]->getNumAtoms() == m->getNumAtoms());
  CHECK(std::abs(back[0]->getConformer().getAtomPos(0).x - (c0.x - 50000.0)) < 2.0);
  // bmx reads its own file back.
  std::string enc;
  CHECK(bmx::test::run(bmx_cmd() + " mol encode -q " + out.string(), &enc) == 0);
  CHECK(bmx::test::json_lines(enc).size() == 1);
}

TEST_CASE("17: counts the record cannot hold and bonds to missing atoms are one line naming file and record") {
  auto dir = bmx::test::scratch_dir("hostile_counts");
  // V3000 COUNTS of 2,000,000,000 atoms (RDKit would allocate them: std::bad_alloc).
  const std::string v3000 =
      "big\n  bmx     3D\n\n  0  0  0     0  0            999 V3000\nM  V30 BEGIN CTAB\n"
      "M  V30 COUNTS 2000000000 0 0 0 0\nM  V30 BEGIN ATOM\nM  V30 1 C 0 0 0 0\nM  V30 END ATOM\nM  V30 END CTAB\n"
      "M  END\n$$$$\n";
  write_file(dir / "big.sdf", v3000);
  // A V2000 bond to atom 9 of 3 (an RDKit invariant: bond_pin->getEndAtomIdx()).
  write_file(dir / "bond9.sdf", molblock({{0, 0, 0}, {1.5, 0, 0}, {0, 1.5, 0.3}}, "C", "  1  9  1  0\n", 1));
  // V3000 bond to atom 7 of 2.
  write_file(dir / "bond7.sdf",
             "b\n  bmx     3D\n\n  0  0  0     0  0            999 V3000\nM  V30 BEGIN CTAB\nM  V30 COUNTS 2 1 0 0 0\n"
             "M  V30 BEGIN ATOM\nM  V30 1 C 0 0 0 0\nM  V30 2 C 1.5 0 0 0\nM  V30 END ATOM\nM  V30 BEGIN BOND\n"
             "M  V30 1 1 1 7\nM  V30 END BOND\nM  V30 END CTAB\nM  END\n$$$$\n");
  // V2000 counts of 999 atoms in a 3-atom record; MOL2 counts of 2,000,000,000 atoms.
  write_file(dir / "short.sdf", with(molblock({{0, 0, 0}, {1.5, 0, 0}, {0, 1.5, 0.3}}), "\n  3  0  0", "\n999  0  0"));
  write_file(dir / "big.mol2", "@<TRIPOS>MOLECULE\nm\n 2000000000 0 1 0 0\nSMALL\nNO_CHARGES\n\n@<TRIPOS>ATOM\n"
                               "      1 C1          1.0000    1.0000    1.0000 C.3     1  MOL       0.0000\n");
  struct Case {
    std::string file, flags, problem;
  };
  for (const Case& c : {Case{"big.sdf", "", "2000000000 atoms, more than the limit of 1000"},
                        Case{"big.sdf", " --max-atoms 2100000000", "COUNTS line says 2000000000 atoms"},
                        Case{"bond9.sdf", "", "bond 1 joins atom 9, but the record has 3 atoms"},
                        Case{"bond7.sdf", "", "bond 1 joins atom 7, but the record has 2 atoms"},
                        Case{"short.sdf", " --max-atoms 5000", "counts line says 999 atoms"},
                        Case{"big.mol2", "", "2000000000 atoms, more than the limit"},
                        Case{"big.mol2", " --max-atoms 2100000000", "MOLECULE counts say 2000000000 atoms"}}) {
    INFO(c.file << c.flags);
    std::string err;
    CHECK(bmx::test::run(bmx_cmd() + " mol encode -q" + c.flags + " " + (dir / c.file).string(), &err, true) == 1);
    CHECK(err.find((dir / c.file).string() + ":record 1") != std::string::npos);
    CHECK(err.find(c.problem) != std::string::npos);
    CHECK(err.find("bad_alloc") == std::string::npos);
    CHECK(err.find("->") == std::string::npos);
    CHECK(lines_in(err) == 2);
  }
}

TEST_CASE("17: an output that is an input is refused and the input kept; write errors are errors; no torso") {
  auto dir = bmx::test::scratch_dir("hostile_outputs");
  auto x = dir / "x.sdf";
  fs::copy_file(molecules() / "cdk2_5.sdf", x);
  const std::string before = bmx::test::read_file(x);
  std::string err;
  for (const char* cmd : {" mol encode -q ", " mol refine -q ", " mol eval -q "}) {
    INFO(cmd);
    CHECK(bmx::test::run(bmx_cmd() + cmd + x.string() + " -o " + x.string(), &err, true) != 0);
    CHECK(err.find("is the input file") != std::string::npos);
    CHECK(bmx::test::read_file(x) == before);
  }
  // decode -i FILE -o FILE: the token file is kept too.
  auto jl = dir / "t.jsonl";
  REQUIRE(bmx::test::run(bmx_cmd() + " mol encode -q " + x.string() + " -o " + jl.string()) == 0);
  const std::string tokens = bmx::test::read_file(jl);
  CHECK(bmx::test::run(bmx_cmd() + " mol decode -q -i " + jl.string() + " -o " + jl.string(), &err, true) != 0);
  CHECK(err.find("is the input file") != std::string::npos);
  CHECK(bmx::test::read_file(jl) == tokens);
  // /dev/full: a non-zero exit with the path named, for encode, decode and refine.
  for (const std::string cmd : {" mol encode -q " + x.string(), " mol decode -q -i " + jl.string(),
                                " mol refine -q " + x.string()}) {
    INFO(cmd);
    CHECK(bmx::test::run(bmx_cmd() + cmd + " -o /dev/full", &err, true) != 0);
    CHECK(err.find("/dev/full") != std::string::npos);
    CHECK(err.find("write failed") != std::string::npos);
  }
  // A failed decode leaves the previous output as it was, and no temporary beside it.
  auto out = dir / "keep.sdf";
  write_file(out, "previous\n");
  CHECK(bmx::test::run(bmx_cmd() + " mol decode -q '[C 1][Q 3]' -o " + out.string(), &err, true) == 1);
  CHECK(bmx::test::read_file(out) == "previous\n");
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.path().filename().string().find(".bmx-") != std::string::npos;
  CHECK(files == 0);
}

TEST_CASE("17: negative, zero or NaN numeric flags of the mol commands are refused with a message") {
  const std::string in = (molecules() / "water.mol").string();
  for (const std::string flags : {" --max-iters -5", " --max-iters nan", " -t -2", " --threads nan", " --max-atoms -1",
                                  " --max-atoms nan"}) {
    INFO(flags);
    std::string err;
    CHECK(bmx::test::run(bmx_cmd() + " mol refine -q" + flags + " " + in, &err, true) != 0);
    CHECK(!err.empty());
    CHECK(err.find("$$$$") == std::string::npos);  // nothing written
  }
  // --threads beyond the cores is capped (the one thread_count rule), not an error.
  std::string out;
  CHECK(bmx::test::run(bmx_cmd() + " mol refine -q -t 10000 " + in, &out) == 0);
  CHECK(read_sdf_text(out).size() == 1);
}

// What independent tools found wrong in `bmx prot` (issue 16, items 9-13 and 17): each output read back with gemmi.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include <gemmi/cif.hpp>
#include <gemmi/mmcif.hpp>
#include <gemmi/mmread.hpp>
#include <gemmi/pdb.hpp>
// After gemmi: gemmi/pdb.hpp defines and undefines a CHECK macro of its own.
#include <doctest/doctest.h>

#include "bmx/core/geom/superpose.h"
#include "shared.h"

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string tiny() { return bmx::test::shared_file("vectors/gcp/tiny_model").string(); }
std::string q(const fs::path& p) { return "'" + p.string() + "'"; }
std::string bmx_prot() { return bmx::test::bmx_exe().string() + " prot "; }

gemmi::Structure read_pdb_text(const std::string& text, const std::string& name) {
  return gemmi::read_pdb_string(text, name);
}

int count_lines_with(const std::string& text, const std::string& what) {
  int n = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) n += line.find(what) != std::string::npos;
  return n;
}

}  // namespace

TEST_CASE("issue 16 item 9: the N-terminal MSE of 1A8O is listed in untokenized with the other three") {
  const fs::path out = bmx::test::scratch_dir("prot_issue16_mse") / "a.jsonl";
  const fs::path pdb = bmx::test::shared_file("data/proteins/1A8O.pdb");
  REQUIRE(bmx::test::run(bmx_prot() + "encode -q --model " + tiny() + " " + q(pdb) + " -o " + q(out)) == 0);
  const auto recs = bmx::test::json_lines(bmx::test::read_file(out));
  REQUIRE(recs.size() == 1);
  // gemmi's count of MSE residues in the chain is what untokenized must hold, in chain order.
  const gemmi::Structure st = gemmi::read_pdb_file(pdb.string());
  std::vector<std::string> mse;
  for (const gemmi::Residue& r : st.models[0].chains[0].residues)
    if (r.name == "MSE") mse.push_back(std::to_string(r.seqid.num.value) + " MSE");
  REQUIRE(mse.size() == 4);
  CHECK(recs[0]["untokenized"].get<std::vector<std::string>>() == mse);
}

TEST_CASE("issue 16 items 12 and 13: -o - writes to stdout, several records to one file name are refused, -q is "
          "silent, -t sets threads") {
  const fs::path dir = bmx::test::scratch_dir("prot_issue16_out");
  const fs::path pdb = bmx::test::shared_file("data/proteins/1A8O.pdb");
  const fs::path one = dir / "one.jsonl", two = dir / "two.jsonl";
  REQUIRE(bmx::test::run(bmx_prot() + "encode -q -t 1 --model " + tiny() + " " + q(pdb) + " -o " + q(one)) == 0);
  const std::string line = bmx::test::read_file(one);
  {
    std::ofstream f(two);
    f << line << line;
  }
  // One record to stdout: a PDB text that gemmi reads, no file named '-'.
  std::string text;
  REQUIRE(bmx::test::run("cd " + q(dir) + " && " + bmx_prot() + "decode -q --model " + tiny() + " -i " + q(one) +
                             " -o -",
                         &text) == 0);
  CHECK(!fs::exists(dir / "-"));
  const gemmi::Structure st = read_pdb_text(text, "stdout");
  REQUIRE(st.models.size() == 1);
  CHECK(st.models[0].chains[0].residues.size() == 66);
  // As mmCIF with --format cif.
  REQUIRE(bmx::test::run(bmx_prot() + "decode -q --format cif --model " + tiny() + " -i " + q(one) + " -o -", &text) == 0);
  const gemmi::Structure cif = gemmi::make_structure(gemmi::cif::read_string(text));
  CHECK(cif.models[0].chains[0].residues.size() == 66);
  // -q: nothing on stderr on success.
  std::string log;
  REQUIRE(bmx::test::run(bmx_prot() + "decode -q --model " + tiny() + " -i " + q(one) + " -o " + q(dir / "q.pdb") +
                             " 2>&1 >/dev/null",
                         &log) == 0);
  CHECK(log.empty());
  CHECK(gemmi::read_pdb_file((dir / "q.pdb").string()).models[0].chains[0].residues.size() == 66);
  // Several records to one .pdb name, or to stdout: refused with a message, nothing created.
  for (const std::string& target : {std::string("all.pdb"), std::string("-")}) {
    CHECK(bmx::test::run("cd " + q(dir) + " && " + bmx_prot() + "decode --model " + tiny() + " -i " + q(two) +
                             " -o " + target + " 2>&1 >/dev/null",
                         &log) != 0);
    CHECK(log.find("2 records") != std::string::npos);
    CHECK(log.find("folder") != std::string::npos);
    CHECK(!fs::exists(dir / target));
  }
  // A folder still takes them, one file per record.
  REQUIRE(bmx::test::run(bmx_prot() + "decode -q -t 2 --model " + tiny() + " -i " + q(two) + " -o " + q(dir / "all/")) == 0);
  CHECK(fs::exists(dir / "all" / "1A8O_A.pdb"));
  CHECK(fs::exists(dir / "all" / "1A8O_A_2.pdb"));
}

TEST_CASE("issue 16 item 10: residue names of the input (NLE, HIP) are written back, not UNK") {
  const fs::path dir = bmx::test::scratch_dir("prot_issue16_names");
  // 1L2Y (Trp-cage) with residue 2 renamed NLE and residue 8 renamed HIP in its ATOM records.
  std::istringstream in(bmx::test::read_file(bmx::test::shared_file("data/proteins/1l2y.pdb")));
  std::ofstream out(dir / "nle.pdb");
  for (std::string l; std::getline(in, l);) {
    if (l.rfind("ENDMDL", 0) == 0) break;
    if (l.rfind("ATOM", 0) == 0 && l.size() > 26) {
      const int num = std::stoi(l.substr(22, 4));
      if (num == 2) l.replace(17, 3, "NLE");
      if (num == 8) l.replace(17, 3, "HIP");
    }
    out << l << "\n";
  }
  out << "END\n";
  out.close();
  REQUIRE(bmx::test::run(bmx_prot() + "encode -q --model " + tiny() + " " + q(dir / "nle.pdb") + " -o " +
                         q(dir / "nle.jsonl")) == 0);
  const auto recs = bmx::test::json_lines(bmx::test::read_file(dir / "nle.jsonl"));
  REQUIRE(recs.size() == 1);
  REQUIRE(recs[0].contains("residue_names"));
  for (const char* ext : {".pdb", ".cif"}) {
    const fs::path file = dir / (std::string("dec") + ext);
    REQUIRE(bmx::test::run(bmx_prot() + "decode -q --model " + tiny() + " -i " + q(dir / "nle.jsonl") + " -o " +
                           q(file)) == 0);
    const gemmi::Structure st = gemmi::read_structure_file(file.string());
    const gemmi::Chain& ch = st.models[0].chains[0];
    int nle = 0, hip = 0, unk = 0;
    for (const gemmi::Residue& r : ch.residues) {
      nle += r.name == "NLE" && r.seqid.num.value == 2;
      hip += r.name == "HIP" && r.seqid.num.value == 8;
      unk += r.name == "UNK";
    }
    CHECK_MESSAGE(nle == 1, ext);
    CHECK_MESSAGE(hip == 1, ext);
    CHECK_MESSAGE(unk == 0, ext);
  }
}

TEST_CASE("issue 16 item 11: P 1 space group, _audit_conform, PDB HEADER id within columns 63-66") {
  const fs::path dir = bmx::test::scratch_dir("prot_issue16_header");
  // A long id (an AlphaFold file stem) and a PDB id, on short records.
  {
    std::ofstream f(dir / "long.jsonl");
    f << json{{"id", "AF-Q5VSL9-F1-model_v3"}, {"chain", "A"}, {"tokens", {1, 2, 3, 4, 5, 6, 7, 8}}}.dump() << "\n";
    std::ofstream g(dir / "short.jsonl");
    g << json{{"id", "1ABC"}, {"chain", "A"}, {"tokens", {1, 2, 3, 4, 5, 6, 7, 8}}}.dump() << "\n";
  }
  for (const char* stem : {"long", "short"}) {
    const fs::path p = dir / (std::string(stem) + ".pdb"), c = dir / (std::string(stem) + ".cif");
    REQUIRE(bmx::test::run(bmx_prot() + "decode -q --model " + tiny() + " -i " + q(dir / (std::string(stem) + ".jsonl")) +
                           " -o " + q(p)) == 0);
    REQUIRE(bmx::test::run(bmx_prot() + "decode -q --model " + tiny() + " -i " + q(dir / (std::string(stem) + ".jsonl")) +
                           " -o " + q(c)) == 0);
    const std::string text = bmx::test::read_file(p);
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) CHECK_MESSAGE(l.size() <= 80, l);
    const gemmi::Structure st = gemmi::read_pdb_file(p.string());
    CHECK(st.spacegroup_hm == "P 1");
    if (std::string(stem) == "short") CHECK(st.get_info("_entry.id") == "1ABC");
    else CHECK(count_lines_with(text, "AF-Q5VSL9") == 0);
    const gemmi::cif::Document doc = gemmi::cif::read_file(c.string());
    const gemmi::cif::Block& b = doc.blocks[0];
    REQUIRE(b.find_value("_symmetry.space_group_name_H-M"));
    CHECK(gemmi::cif::as_string(*b.find_value("_symmetry.space_group_name_H-M")) == "P 1");
    REQUIRE(b.find_value("_audit_conform.dict_name"));
    CHECK(gemmi::cif::as_string(*b.find_value("_audit_conform.dict_name")) == "mmcif_pdbx.dic");
    CHECK(gemmi::make_structure(gemmi::cif::Document(doc)).spacegroup_hm == "P 1");
  }
}

TEST_CASE("issue 16 item 17: the long-chain error says it once, with the way out") {
  const fs::path pdb = bmx::test::shared_file("data/proteins/AF-Q5VSL9-F1-model_v3.pdb");
  std::string log;
  CHECK(bmx::test::run(bmx_prot() + "encode -q --model " + tiny() + " " + q(pdb) + " -o /dev/null", &log, true) == 1);
  CHECK(count_lines_with(log, "more than the model maximum of 512") == 1);
  CHECK(log.find("windowed encoding") == std::string::npos);
  CHECK(log.find(") (") == std::string::npos);
  CHECK(log.find("pass --window") != std::string::npos);
}

TEST_CASE("issue 16 item 8: a windowed record (837 tokens) decodes in pieces superposed into one chain") {
  const fs::path dir = bmx::test::scratch_dir("prot_issue16_window");
  const fs::path pdb = bmx::test::shared_file("data/proteins/AF-Q5VSL9-F1-model_v3.pdb");
  REQUIRE(bmx::test::run(bmx_prot() + "encode -q --window --model " + tiny() + " " + q(pdb) + " -o " +
                         q(dir / "w.jsonl")) == 0);
  std::string log;
  REQUIRE(bmx::test::run(bmx_prot() + "decode --model " + tiny() + " -i " + q(dir / "w.jsonl") + " -o " +
                             q(dir / "w.pdb"),
                         &log, true) == 0);
  CHECK(log.find("decoded in 2 overlapping pieces") != std::string::npos);
  const gemmi::Structure dec = gemmi::read_pdb_file((dir / "w.pdb").string());
  const gemmi::Structure ref = gemmi::read_pdb_file(pdb.string());
  const gemmi::Chain& dc = dec.models[0].chains[0];
  REQUIRE(dc.residues.size() == 837);
  // One chain: residue numbers and names follow the input, and no CA-CA step breaks at the pieces' seams.
  std::vector<bmx::Vec3> dca, rca;
  for (const gemmi::Residue& r : dc.residues) {
    const gemmi::Atom* a = r.find_atom("CA", '*');
    REQUIRE(a);
    dca.push_back({a->pos.x, a->pos.y, a->pos.z});
  }
  for (const gemmi::Residue& r : ref.models[0].chains[0].residues)
    if (const gemmi::Atom* a = r.find_atom("CA", '*')) rca.push_back({a->pos.x, a->pos.y, a->pos.z});
  REQUIRE(rca.size() == dca.size());
  // Pieces of 512 from 0 and 325 (837 - 512): their overlap 325..511 splits at 418, the seam.
  std::vector<double> steps;
  for (std::size_t i = 1; i < dca.size(); ++i) {
    const double dx = dca[i][0] - dca[i - 1][0], dy = dca[i][1] - dca[i - 1][1], dz = dca[i][2] - dca[i - 1][2];
    steps.push_back(std::sqrt(dx * dx + dy * dy + dz * dz));
  }
  const double seam = steps[417];
  steps.erase(steps.begin() + 417);
  CHECK(seam < 4.5);
  CHECK(seam <= 1.5 * *std::max_element(steps.begin(), steps.end()));
  // The pieces agree on their overlap once superposed (the tiny test model decodes crude but consistent chains).
  const std::size_t at = log.find("largest overlap RMSD ");
  REQUIRE(at != std::string::npos);
  CHECK(std::stod(log.substr(at + 21)) < 1.0);
  // The whole chain against the input, in one superposition (only reported: the tiny model is not accurate).
  MESSAGE("windowed decode: TM-score ", bmx::tm_score(dca, rca), ", CA-RMSD ", bmx::superposed_rmsd(dca, rca));
}

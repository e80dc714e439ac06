// bmx prot as a careless user or an attacker runs it (issue 17): -t 10000, outputs that are inputs or cannot be
// written, batches with bad records, output names that say no format, cut-off token segments, degenerate and cut
// short structure files, a model folder whose config lies. Files bmx writes are read back with gemmi.
// gemmi before doctest: a header gemmi pulls in undefines CHECK.
#include <gemmi/mmread.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "shared.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string tiny() { return bmx::test::shared_file("vectors/gcp/tiny_model").string(); }
std::string q(const fs::path& p) { return "'" + p.string() + "'"; }
std::string protein(const std::string& name) { return bmx::test::shared_file("data/proteins/" + name).string(); }
std::string prot() { return bmx::test::bmx_exe().string() + " prot "; }
void write_file(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

// Exit status; stdout and stderr together in `log`.
int run(const std::string& args, std::string* log = nullptr) {
  std::string out;
  const int rc = bmx::test::run(prot() + args + " 2>&1", &out);
  if (log) *log = out;
  return rc;
}

double seconds(const std::string& args) {
  const auto t0 = std::chrono::steady_clock::now();
  std::string log;
  REQUIRE_MESSAGE(run(args, &log) == 0, log);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Residues of the first chain, as gemmi reads the file.
std::size_t gemmi_residues(const fs::path& p) {
  gemmi::Structure st = gemmi::read_structure_file(p.string());
  return st.models.empty() || st.models[0].chains.empty() ? 0 : st.models[0].chains[0].residues.size();
}

// Two encoded chains (1l2y A, 20 residues; 1aki A, 129) as JSON lines.
std::string two_records(const fs::path& dir) {
  const fs::path out = dir / "two.jsonl";
  if (!fs::exists(out)) {
    std::string log;
    REQUIRE_MESSAGE(run("encode -q --model " + tiny() + " " + protein("1l2y.pdb") + " " + protein("1aki.pdb") +
                            " -o " + q(out) + " --csv " + q(dir / "two.csv"),
                        &log) == 0,
                    log);
  }
  return bmx::test::read_file(out);
}

}  // namespace

TEST_CASE("--threads 10000 costs no more than the default (one thread-count rule)") {
  const fs::path dir = bmx::test::scratch_dir("prot_cli_threads");
  const std::string records = two_records(dir);
  for (const std::string& cmd : {"encode -q --model " + tiny() + " " + protein("1aki.pdb") + " -o /dev/null",
                                 "decode -q --model " + tiny() + " -i " + q(dir / "two.jsonl") + " -o " + q(dir / "d/")}) {
    CAPTURE(cmd);
    double base = 1e9, many = 1e9;
    for (int rep = 0; rep < 2; ++rep) {
      base = std::min(base, seconds(cmd));
      many = std::min(many, seconds(cmd + " -t 10000"));
    }
    MESSAGE(cmd.substr(0, 6) << ": default " << base << " s, -t 10000 " << many << " s");
    CHECK(many < base * 1.5 + 0.3);  // 10,000 threads once took 51 s for a 0.55 s run
  }
  // The same tokens whatever the thread count.
  std::string a, b;
  REQUIRE(bmx::test::run(prot() + "encode -q --model " + tiny() + " " + protein("1aki.pdb") + " -t 1", &a) == 0);
  REQUIRE(bmx::test::run(prot() + "encode -q --model " + tiny() + " " + protein("1aki.pdb") + " -t 10000", &b) == 0);
  CHECK(json::parse(a)["tokens"] == json::parse(b)["tokens"]);
}

TEST_CASE("outputs: an input is never overwritten, write errors fail, a failed run leaves the old file") {
  const fs::path dir = bmx::test::scratch_dir("prot_cli_outputs");
  const std::string records = two_records(dir);
  const fs::path one = dir / "one.jsonl";
  write_file(one, records.substr(0, records.find('\n') + 1));
  const std::string one_before = bmx::test::read_file(one);
  std::string log;

  // decode -o INPUT (also spelled differently), encode -o INPUT, --csv INPUT, eval --json INPUT.
  CHECK(run("decode --model " + tiny() + " -i " + q(one) + " -o " + q(one) + " --format pdb", &log) != 0);
  CHECK(log.find("is the input file") != std::string::npos);
  CHECK(run("decode --model " + tiny() + " -i " + q(one) + " -o " + q(dir / "." / "one.jsonl") + " --format pdb", &log) != 0);
  CHECK(bmx::test::read_file(one) == one_before);
  const fs::path pdb = dir / "in.pdb";
  fs::copy_file(protein("1l2y.pdb"), pdb, fs::copy_options::overwrite_existing);
  const std::string pdb_before = bmx::test::read_file(pdb);
  CHECK(run("encode --model " + tiny() + " " + q(pdb) + " -o " + q(pdb), &log) != 0);
  CHECK(log.find("is the input file") != std::string::npos);
  CHECK(run("encode --model " + tiny() + " " + q(pdb) + " -o " + q(dir / "x.jsonl") + " --csv " + q(pdb), &log) != 0);
  CHECK(run("eval --model " + tiny() + " " + q(pdb) + " --json " + q(pdb), &log) != 0);
  CHECK(bmx::test::read_file(pdb) == pdb_before);

  // A full device: non-zero exit and a message naming it.
  CHECK(run("encode -q --model " + tiny() + " " + protein("1l2y.pdb") + " -o /dev/full", &log) != 0);
  CHECK(log.find("/dev/full") != std::string::npos);
  CHECK(run("encode -q --model " + tiny() + " " + protein("1l2y.pdb") + " -o /dev/null --csv /dev/full", &log) != 0);
  CHECK(run("decode -q --model " + tiny() + " -i " + q(one) + " -o /dev/full --format pdb", &log) != 0);
  CHECK(log.find("/dev/full") != std::string::npos);

  // A run that encodes nothing leaves the previous output as it was (no empty or half-written file).
  const fs::path kept = dir / "kept.jsonl";
  write_file(kept, "previous\n");
  CHECK(run("encode -q --model " + tiny() + " " + protein("1bna.pdb") + " -o " + q(kept), &log) != 0);  // DNA only
  CHECK(bmx::test::read_file(kept) == "previous\n");
  // A successful one replaces it whole.
  REQUIRE(run("encode -q --model " + tiny() + " " + protein("1l2y.pdb") + " -o " + q(kept), &log) == 0);
  CHECK(bmx::test::json_lines(bmx::test::read_file(kept)).size() == 1);
  for (const auto& e : fs::directory_iterator(dir)) CHECK(e.path().filename().string().find(".bmx-") == std::string::npos);
}

TEST_CASE("decode batches: every bad record named by file:line, every good one written, exit 1 at the end") {
  const fs::path dir = bmx::test::scratch_dir("prot_cli_batches");
  const std::string records = two_records(dir);
  const std::string first = records.substr(0, records.find('\n'));
  const std::string second = records.substr(records.find('\n') + 1);
  std::string log;

  SUBCASE("JSON lines") {
    write_file(dir / "bad.jsonl", first + "\n{\"tokens\": [1, 2, 99999]}\nnot json\n[1, 2]\n" + second);
    fs::remove_all(dir / "out");
    CHECK(run("decode --model " + tiny() + " -i " + q(dir / "bad.jsonl") + " -o " + q(dir / "out/"), &log) == 1);
    CHECK(log.find("bad.jsonl:2: token 99999 is not a code in 0..511") != std::string::npos);
    CHECK(log.find("bad.jsonl:3: not JSON: parse error at byte 2: ") != std::string::npos);
    CHECK(log.find("bad.jsonl:4: not a JSON object") != std::string::npos);
    CHECK(log.find("json.exception") == std::string::npos);
    CHECK(log.find("2 of 5 record(s) written") != std::string::npos);
    CHECK(gemmi_residues(dir / "out/1l2y_A.pdb") == 20);
    CHECK(gemmi_residues(dir / "out/1aki_A.pdb") == 129);
  }
  SUBCASE("vq_indices.csv") {
    const std::string csv = bmx::test::read_file(dir / "two.csv");
    std::istringstream in(csv);
    std::string header, row1, row2;
    std::getline(in, header);
    std::getline(in, row1);
    std::getline(in, row2);
    write_file(dir / "bad.csv", header + "\n" + row1 + "\nx_chain_id_B,\"[1, 2, 99999]\",AAA\nshort\n" + row2 + "\n");
    fs::remove_all(dir / "outc");
    CHECK(run("decode --model " + tiny() + " -i " + q(dir / "bad.csv") + " -o " + q(dir / "outc/"), &log) == 1);
    CHECK(log.find("bad.csv:3: structure code 99999") != std::string::npos);
    CHECK(log.find("bad.csv:4:") != std::string::npos);
    CHECK(gemmi_residues(dir / "outc/1l2y_A.pdb") == 20);
    CHECK(gemmi_residues(dir / "outc/1aki_A.pdb") == 129);
  }
  SUBCASE("one good record and a bad one to one file: the good one is written") {
    write_file(dir / "onegood.jsonl", first + "\n{\"struct\": \"<|prot_3d_start|><S 1><S 2>\"}\n");
    fs::remove(dir / "one.cif");
    CHECK(run("decode --model " + tiny() + " -i " + q(dir / "onegood.jsonl") + " -o " + q(dir / "one.cif"), &log) == 1);
    CHECK(log.find("onegood.jsonl:2: <|prot_3d_start|> at character 0 is never closed") != std::string::npos);
    CHECK(gemmi_residues(dir / "one.cif") == 20);
  }
}

TEST_CASE("output names and token text: no format by accident, no cut-off segment read as a chain") {
  const fs::path dir = bmx::test::scratch_dir("prot_cli_names");
  std::string log;
  const std::string tokens = "'<|prot_3d_start|><S 1><S 2><S 3><S 4><|prot_3d_end|>'";
  CHECK(run("decode --model " + tiny() + " " + tokens + " -o " + q(dir / "x.xyz"), &log) != 0);
  CHECK(log.find("x.xyz: unknown extension .xyz") != std::string::npos);
  CHECK(log.find("--format") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "x.xyz"));
  // --format says it: the file is what it says it is.
  REQUIRE(run("decode -q --model " + tiny() + " " + tokens + " -o " + q(dir / "x.xyz") + " --format cif", &log) == 0);
  CHECK(bmx::test::read_file(dir / "x.xyz").rfind("data_", 0) == 0);
  REQUIRE(run("decode -q --model " + tiny() + " " + tokens + " -o " + q(dir / "x.PDB"), &log) == 0);
  CHECK(gemmi_residues(dir / "x.PDB") == 4);

  CHECK(run("decode --model " + tiny() + " '<|prot_3d_start|><S 1><S 2><S 3>' -o " + q(dir / "cut.pdb"), &log) != 0);
  CHECK(log.find("<|prot_3d_start|> at character 0 is never closed by <|prot_3d_end|>") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "cut.pdb"));
  CHECK(run("decode --model " + tiny() + " '<S 1><S 2><|prot_3d_end|>' -o " + q(dir / "cut.pdb"), &log) != 0);
  CHECK(log.find("<|prot_3d_end|> at character 10 has no <|prot_3d_start|>") != std::string::npos);

  // Flags and inputs that are wrong as a whole: one line before any work, not one per chain.
  CHECK(run("encode --model " + tiny() + " --window --window-overlap -5 " + protein("1aki.pdb"), &log) != 0);
  CHECK(log == "bmx: --window-overlap -5: must be in 0..511 (the model's window is 512 residues)\n");
  CHECK(run("decode --model " + tiny() + " -i " + q(dir) + " -o " + q(dir / "f.pdb"), &log) != 0);
  CHECK(log.find("is a folder, not a file") != std::string::npos);
}

TEST_CASE("structures: degenerate coordinates and a .gz cut short are refused, naming file and chain") {
  const fs::path dir = bmx::test::scratch_dir("prot_cli_structures");
  std::string log;
  // 1l2y with every atom moved to one point.
  std::istringstream in(bmx::test::read_file(protein("1l2y.pdb")));
  std::string collapsed;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("ATOM", 0) == 0 || line.rfind("HETATM", 0) == 0) line.replace(30, 24, "  12.000  12.000  12.000");
    collapsed += line + "\n";
  }
  write_file(dir / "point.pdb", collapsed);
  CHECK(run("eval --model " + tiny() + " " + q(dir / "point.pdb"), &log) == 1);
  CHECK(log.find("point.pdb chain A: skipped: all ") != std::string::npos);
  CHECK(log.find("lie at one point (12.000, 12.000, 12.000)") != std::string::npos);
  CHECK(log.find("TM-score mean") == std::string::npos);  // no score for it
  CHECK(run("encode --model " + tiny() + " " + q(dir / "point.pdb") + " -o " + q(dir / "p.jsonl"), &log) == 1);
  CHECK_FALSE(fs::exists(dir / "p.jsonl"));

  // A .gz cut at a line boundary in the middle (a full flush there makes the cut clean).
  const std::string text = bmx::test::read_file(protein("1l2y.pdb"));
  write_file(dir / "whole.pdb", text);
  REQUIRE(bmx::test::run("gzip -kf " + q(dir / "whole.pdb")) == 0);
  const std::string gz = bmx::test::read_file(dir / "whole.pdb.gz");
  write_file(dir / "cut.pdb.gz", gz.substr(0, gz.size() - 8));  // no CRC and length
  REQUIRE(run("encode -q --model " + tiny() + " " + q(dir / "whole.pdb.gz"), &log) == 0);
  CHECK(run("encode -q --model " + tiny() + " " + q(dir / "cut.pdb.gz") + " -o " + q(dir / "cut.jsonl"), &log) == 1);
  CHECK(log.find("cut.pdb.gz: truncated gzip data") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "cut.jsonl"));

  // The molecule readers share the gzip reader (mol3d's LineSource): a cut .sdf.gz is refused there too.
  fs::copy_file(bmx::test::shared_file("data/molecules/cdk2_5.sdf"), dir / "mol.sdf", fs::copy_options::overwrite_existing);
  REQUIRE(bmx::test::run("gzip -kf " + q(dir / "mol.sdf")) == 0);
  const std::string mgz = bmx::test::read_file(dir / "mol.sdf.gz");
  write_file(dir / "cutmol.sdf.gz", mgz.substr(0, mgz.size() - 8));
  std::string mlog;
  REQUIRE(bmx::test::run(bmx::test::bmx_exe().string() + " mol encode -q " + q(dir / "mol.sdf.gz") + " 2>&1", &mlog) == 0);
  CHECK(bmx::test::run(bmx::test::bmx_exe().string() + " mol encode -q " + q(dir / "cutmol.sdf.gz") + " 2>&1", &mlog) != 0);
  CHECK(mlog.find("truncated gzip data") != std::string::npos);
}

TEST_CASE("a model folder whose config claims a billion layers is refused at once") {
  const fs::path dir = bmx::test::scratch_dir("prot_cli_model");
  const fs::path model = dir / "model";
  fs::remove_all(model);
  fs::create_directories(model);
  for (const char* f : {"config_vqvae.yaml", "config_geometric_decoder.yaml"})
    fs::copy_file(fs::path(tiny()) / f, model / f);
  fs::create_directory_symlink(fs::path(tiny()) / "checkpoints", model / "checkpoints");
  std::string yaml = bmx::test::read_file(fs::path(tiny()) / "config_gcpnet_encoder.yaml");
  yaml.replace(yaml.find("      num_layers: 2\n      dropout"), 19, "      num_layers: 1000000000\n");
  write_file(model / "config_gcpnet_encoder.yaml", yaml);
  std::string log;
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(run("encode --model " + q(model) + " " + protein("1l2y.pdb"), &log) != 0);
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 30.0);
  CHECK(log.find("config_gcpnet_encoder.yaml:encoder.kwargs.model_cfg.num_layers: 1000000000, but the checkpoint") !=
        std::string::npos);
  CHECK(log.find("has 2 GCPNet interaction layers") != std::string::npos);
}

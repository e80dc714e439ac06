// End to end through the bmx executable with the tiny model: `bmx prot encode` over the whole data/proteins
// corpus, token parity on the 4 reference chains, decode from every input form, eval, and the no-model message.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "bmx/prot3d/structure_reader.h"
#include "shared.h"

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string tiny() { return bmx::test::shared_file("vectors/gcp/tiny_model").string(); }
std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

std::vector<json> read_jsonl(const fs::path& p) { return bmx::test::json_lines(bmx::test::read_file(p)); }

int count_lines_with(const std::string& text, const std::string& what) {
  int n = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) n += line.find(what) != std::string::npos;
  return n;
}

}  // namespace

TEST_CASE("bmx prot encode over the whole data/proteins corpus") {
  const fs::path dir = bmx::test::shared_file("data/proteins");
  const fs::path out = bmx::test::scratch_dir("prot_cli_corpus");
  std::vector<std::string> files;
  for (const std::string& line : bmx::test::read_lines(dir / "manifest.tsv"))
    if (line.rfind("file\t", 0) != 0) files.push_back(line.substr(0, line.find('\t')));
  REQUIRE(files.size() == 121);
  // What the reader says, file by file: the CLI must account for every chain. Protein chains that give no tokens
  // and unreadable files are bad records; chains that hold no protein are only named.
  int ok_chains = 0, skipped_chains = 0, refused_chains = 0, unreadable = 0;
  std::string args;
  for (const std::string& f : files) {
    args += " " + q(dir / f);
    try {
      const auto sc = bmx::prot3d::read_protein_chains((dir / f).string());
      ok_chains += sc.n_ok();
      skipped_chains += static_cast<int>(sc.chains.size()) - sc.n_ok();
      for (const auto& c : sc.chains)
        refused_chains += c.status != bmx::prot3d::ChainStatus::ok && c.status != bmx::prot3d::ChainStatus::not_protein;
    } catch (const std::exception&) {
      ++unreadable;
    }
  }
  REQUIRE(refused_chains + unreadable > 0);  // the corpus has both: the exit status must say so
  std::string log;
  const int rc = bmx::test::run(bmx::test::bmx_exe().string() + " prot encode" + args + " --model " + tiny() +
                                    " --window --threads 2 -q -o " + q(out / "all.jsonl") + " --csv " + q(out / "all.csv") +
                                    " 2>" + q(out / "stderr.txt"),
                                &log);
  const std::string err = bmx::test::read_file(out / "stderr.txt");
  INFO(err.substr(0, 3000));
  CHECK(rc == 1);  // after writing every good chain (below)
  const std::vector<json> recs = read_jsonl(out / "all.jsonl");
  CHECK(static_cast<int>(recs.size()) == ok_chains);
  CHECK(count_lines_with(err, "skipped:") == skipped_chains);
  CHECK(count_lines_with(err, "bmx prot: ") - count_lines_with(err, "skipped:") - count_lines_with(err, "models, using") ==
        unreadable);
  std::size_t windowed = 0;
  for (const json& r : recs) {
    const auto tokens = r["tokens"].get<std::vector<int>>();
    CAPTURE(r["pid"].get<std::string>());
    REQUIRE(!tokens.empty());
    CHECK(r["residues"].size() == tokens.size());
    CHECK(r["sequence"].get<std::string>().size() == tokens.size());
    for (int t : tokens) CHECK((t >= 0 && t < 512));
    const std::string s = r["struct"];
    CHECK(s.rfind("<|prot_3d_start|><S ", 0) == 0);
    CHECK(s.find("<|prot_3d_end|>") == s.size() - 15);
    CHECK(r["aa"].get<std::string>().size() == 17 + 15 + 5 * tokens.size());
    windowed += r["windows"].get<int>() > 1;
  }
  CHECK(windowed >= 8);  // the chains longer than 512 (AF models, 3G61, 4JSV, 7DDO)
  // vq_indices.csv: header plus one row per chain, the same tokens.
  const auto csv = bmx::test::read_lines(out / "all.csv");
  REQUIRE(csv.size() == recs.size() + 1);
  CHECK(csv[0] == "pid,indices,protein_sequence");

  // Without --window, chains longer than 512 are refused with a message naming the way out.
  const fs::path big = dir / "3G61.pdb.gz";
  CHECK(bmx::test::run(bmx::test::bmx_exe().string() + " prot encode " + q(big) + " --model " + tiny() + " -q -o " +
                           q(out / "big.jsonl"),
                       &log, true) != 0);
  CHECK(log.find("--window") != std::string::npos);

  // A file with no protein chain: an error message and a non-zero exit, never a silently empty output.
  CHECK(bmx::test::run(bmx::test::bmx_exe().string() + " prot encode " + q(dir / "1bna.pdb") + " --model " + tiny() +
                           " -q -o " + q(out / "dna.jsonl"),
                       &log, true) != 0);
  CHECK(log.find("nucleic acid") != std::string::npos);
  CHECK(log.find("no encodable protein chain") != std::string::npos);
}

TEST_CASE("bmx prot encode gives the reference tokens on the 4 vector chains; decode and eval read them back") {
  const fs::path out = bmx::test::scratch_dir("prot_cli_parity");
  const fs::path inputs = bmx::test::shared_file("vectors/gcp/inputs");
  int total = 0;
  for (const char* name : {"1A8O_A", "1aki_A", "7CFN_R", "1igy_B"}) {
    CAPTURE(name);
    const json v = json::parse(bmx::test::read_file(bmx::test::shared_file(std::string("vectors/gcp/") + name + ".json")));
    std::string file = v["file"];
    if (!fs::exists(inputs / file)) file += ".gz";
    const fs::path jl = out / (std::string(name) + ".jsonl");
    std::string log;
    REQUIRE(bmx::test::run(bmx::test::bmx_exe().string() + " prot encode " + q(inputs / file) + " --chain " +
                               v["chain"].get<std::string>() + " --model " + tiny() + " -q -o " + q(jl),
                           &log, true) == 0);
    const auto recs = read_jsonl(jl);
    REQUIRE(recs.size() == 1);
    CHECK(recs[0]["tokens"] == v["tokens"]);
    // The positions the reference imputes get no token, and the record names them (1A8O: three MSE holes), after
    // the HETATM amino acids beyond the chain's ends, which are no graph position (1A8O: the N-terminal MSE 151).
    const auto& all_untok = recs[0]["untokenized"];
    const auto number = [](const json& id) { return std::stoi(id.get<std::string>()); };
    const int first = number(recs[0]["residues"].front()), last = number(recs[0]["residues"].back());
    json untok = json::array();
    std::vector<std::string> outside;
    for (const auto& u : all_untok) {
      if (number(u) < first || number(u) > last) outside.push_back(u.get<std::string>());
      else untok.push_back(u);
    }
    if (std::string(name) == "1A8O_A") CHECK(outside == std::vector<std::string>{"151 MSE"});
    REQUIRE(untok.size() == v["length"].get<std::size_t>() - v["tokens"].size());
    CHECK(recs[0]["imputed"] == untok.size());
    std::size_t k = 0;
    for (std::size_t i = 0; i < v["valid"].size(); ++i)
      if (!v["valid"][i].get<bool>()) {
        REQUIRE(k < untok.size());
        const std::string id = untok[k++].get<std::string>();
        CHECK(id.substr(0, id.find(' ')) != "");
        if (std::string(name) == "1A8O_A") CHECK(id.substr(id.find(' ') + 1) == "MSE");
        for (const auto& r : recs[0]["residues"]) CHECK(r.get<std::string>() != id.substr(0, id.find(' ')));
      }
    CHECK(k == untok.size());
    total += static_cast<int>(recs[0]["tokens"].size());

    // decode from the JSON line: the vector's decoded N/CA/C (PDB keeps 3 decimals), names from the sequence.
    const fs::path pdb = out / (std::string(name) + ".pdb");
    REQUIRE(bmx::test::run(bmx::test::bmx_exe().string() + " prot decode -i " + q(jl) + " --model " + tiny() +
                               " -q -o " + q(pdb),
                           &log, true) == 0);
    const auto sc = bmx::prot3d::read_protein_chains(pdb.string());
    REQUIRE(sc.chains.size() == 1);
    // The file keeps the encoded residues' numbering, so holes (e.g. MSE in 1A8O) read back as gaps.
    const auto& bb = sc.chains[0].backbone;
    const std::vector<int> obs = bb.observed_positions();
    REQUIRE(obs.size() == recs[0]["tokens"].size());
    CHECK(bb.observed_sequence() == recs[0]["sequence"].get<std::string>());
    double max_d = 0;
    for (std::size_t i = 0; i < obs.size(); ++i) {
      const auto& res = bb.residues[obs[i]];
      CHECK(to_string(res.id) == recs[0]["residues"][i].get<std::string>());
      // Reading back re-imputes the holes, and step 9.4 moves the N that follows an imputed residue.
      const bool after_hole = obs[i] > 0 && !bb.residues[obs[i] - 1].observed;
      for (int a = after_hole ? 1 : 0; a < 3; ++a)
        for (int k = 0; k < 3; ++k)
          max_d = std::max(max_d, std::fabs(bb.coords[obs[i]][a][k] - v["decoded_N_CA_C"][i][a][k].get<double>()));
    }
    CHECK(max_d < 1.5e-3);
    // The decoded file (with ideal O) is accepted by the real DSSP.
    CHECK(bmx::test::run("mkdssp --output-format dssp " + q(pdb) + " " + q(out / (std::string(name) + ".dssp")), &log,
                         true) == 0);
  }
  CHECK(total == 903);

  // The other input forms give the same structure: bare codes, wrapped tokens, the CSV.
  const json v = json::parse(bmx::test::read_file(bmx::test::shared_file("vectors/gcp/1aki_A.json")));
  std::string bare, wrapped = "<|prot_3d_start|>";
  for (int t : v["tokens"]) {
    bare += std::to_string(t) + " ";
    wrapped += "<S " + std::to_string(t) + ">";
  }
  wrapped += "<|prot_3d_end|>";
  std::string log;
  const std::string base = bmx::test::bmx_exe().string() + " prot decode --model " + tiny() + " -q ";
  REQUIRE(bmx::test::run(base + "'" + bare + "' -o " + q(out / "bare.cif"), &log, true) == 0);
  REQUIRE(bmx::test::run(base + "'" + wrapped + "' --sequence " + v["seq"].get<std::string>() + " -o " + q(out / "w.pdb"),
                         &log, true) == 0);
  const auto w = bmx::prot3d::read_protein_chains((out / "w.pdb").string());
  CHECK(w.chains.at(0).backbone.sequence() == v["seq"].get<std::string>());
  const auto b = bmx::prot3d::read_protein_chains((out / "bare.cif").string());
  CHECK(b.chains.at(0).backbone.size() == 129);
  // --int16: the integer decoder lands within hundredths of an angstrom of the reference's atoms.
  REQUIRE(bmx::test::run(base + "--int16 '" + bare + "' -o " + q(out / "int16.pdb"), &log, true) == 0);
  const auto read16 = bmx::prot3d::read_protein_chains((out / "int16.pdb").string());
  const auto& i16 = read16.chains.at(0).backbone;
  REQUIRE(i16.size() == 129);
  double max_i16 = 0;
  for (std::size_t i = 0; i < 129; ++i)
    for (int a = 0; a < 3; ++a)
      for (int k = 0; k < 3; ++k)
        max_i16 = std::max(max_i16, std::fabs(i16.coords[i][a][k] - v["decoded_N_CA_C"][i][a][k].get<double>()));
  CHECK(max_i16 < 0.01);
  CHECK(bmx::test::run(base + "'" + wrapped + "' --sequence MKV -o " + q(out / "bad.pdb"), &log, true) != 0);
  CHECK(log.find("sequence has 3 residues but there are 129 structure tokens") != std::string::npos);
  CHECK(bmx::test::run(base + "'1 2 999' -o " + q(out / "bad.pdb"), &log, true) != 0);  // tiny codebook: 512
  CHECK(log.find("999") != std::string::npos);

  // CSV in, several records out into a folder.
  REQUIRE(bmx::test::run(bmx::test::bmx_exe().string() + " prot encode " + q(inputs / "1aki.pdb") + " " +
                             q(inputs / "1A8O.pdb.gz") + " --model " + tiny() + " -q -o " + q(out / "two.jsonl") +
                             " --csv " + q(out / "two.csv"),
                         &log, true) == 0);
  REQUIRE(bmx::test::run(base + "-i " + q(out / "two.csv") + " -o " + q(out / "dec") + "/", &log, true) == 0);
  CHECK(fs::exists(out / "dec" / "1aki_A.pdb"));
  CHECK(fs::exists(out / "dec" / "1A8O_A.pdb"));
  // Records that would share a file name each get their own file (never two writers on one file).
  {
    std::ofstream twice(out / "twice.jsonl");
    const std::string once = bmx::test::read_file(out / "two.jsonl");
    twice << once << once;
  }
  REQUIRE(bmx::test::run(base + "-i " + q(out / "twice.jsonl") + " -o " + q(out / "dec2") + "/", &log, true) == 0);
  for (const char* f : {"1aki_A.pdb", "1aki_A_2.pdb", "1A8O_A.pdb", "1A8O_A_2.pdb"}) CHECK(fs::exists(out / "dec2" / f));
  // A bad record is one line naming file and line; every good one is written, and the exit status is 1.
  {
    std::ofstream mixed(out / "mixed.jsonl");
    const std::string good = bmx::test::read_lines(out / "two.jsonl").at(0);
    mixed << good << "\n{\"tokens\": [1, 999]}\n" << good << "\n";
  }
  CHECK(bmx::test::run(base + "-i " + q(out / "mixed.jsonl") + " -o " + q(out / "dec3") + "/", &log, true) == 1);
  CHECK(log.find("mixed.jsonl:2: token 999 is not a code in 0..511") != std::string::npos);
  CHECK(log.find("2 of 3 record(s) written") != std::string::npos);
  for (const char* f : {"1aki_A.pdb", "1aki_A_2.pdb"}) CHECK(fs::exists(out / "dec3" / f));

  // eval: one line per chain and a summary with CA-RMSD and TM-score.
  REQUIRE(bmx::test::run(bmx::test::bmx_exe().string() + " prot eval " + q(inputs / "1aki.pdb") + " " +
                             q(inputs / "1A8O.pdb.gz") + " --model " + tiny() + " -q --json " + q(out / "eval.jsonl"),
                         &log) == 0);
  CHECK(log.find("2 chain(s): CA-RMSD mean") != std::string::npos);
  const auto ev = read_jsonl(out / "eval.jsonl");
  REQUIRE(ev.size() == 2);
  for (const json& e : ev) {
    CHECK(std::isfinite(e["ca_rmsd"].get<double>()));
    CHECK(e["ca_rmsd"].get<double>() > 0.5);  // random tiny weights: the round trip is far from exact
    CHECK(e["tm_score"].get<double>() > 0);
    CHECK(e["tm_score"].get<double>() <= 1.0);
  }
  // eval --int16: the same round trip through the integer decoder, within hundredths of an angstrom.
  REQUIRE(bmx::test::run(bmx::test::bmx_exe().string() + " prot eval " + q(inputs / "1aki.pdb") + " " +
                             q(inputs / "1A8O.pdb.gz") + " --model " + tiny() + " -q --int16 --json " +
                             q(out / "eval16.jsonl"),
                         &log) == 0);
  const auto ev16 = read_jsonl(out / "eval16.jsonl");
  REQUIRE(ev16.size() == 2);
  for (std::size_t i = 0; i < 2; ++i)
    CHECK(std::fabs(ev16[i]["ca_rmsd"].get<double>() - ev[i]["ca_rmsd"].get<double>()) < 0.01);
}

TEST_CASE("the model comes from --model or BMX_GCP_VQVAE; without either, bmx prot says where to put it") {
  std::string log;
  const fs::path pdb = bmx::test::shared_file("data/proteins/1aki.pdb");
  CHECK(bmx::test::run("env -u BMX_GCP_VQVAE " + bmx::test::bmx_exe().string() + " prot encode " + q(pdb), &log, true) ==
        1);
  CHECK(log.find("BMX_GCP_VQVAE") != std::string::npos);
  CHECK(log.find("--model") != std::string::npos);
  CHECK(bmx::test::run(bmx::test::bmx_exe().string() + " prot encode " + q(pdb) + " --model /nonexistent", &log, true) == 1);
  CHECK(log.find("/nonexistent") != std::string::npos);

  // BMX_GCP_VQVAE names the model when --model is not given; progress and the summary go to stderr.
  std::string out;
  const fs::path err_file = bmx::test::scratch_dir("prot_cli_env") / "err.txt";
  REQUIRE(bmx::test::run("BMX_GCP_VQVAE=" + tiny() + " " + bmx::test::bmx_exe().string() + " prot encode " + q(pdb) +
                             " --threads 1 2>" + q(err_file),
                         &out) == 0);
  CHECK(json::parse(out)["tokens"].size() == 129);
  const std::string err = bmx::test::read_file(err_file);
  CHECK(err.find("encode: 1/1 chains") != std::string::npos);
  CHECK(err.find("1 chain(s) encoded (129 tokens)") != std::string::npos);
}

TEST_CASE("bmx prot eval of a chain longer than 512: refused with the way out, or windowed and decoded in pieces") {
  const fs::path pdb = bmx::test::shared_file("data/proteins/AF-Q5VSL9-F1-model_v3.pdb");
  const fs::path out = bmx::test::scratch_dir("prot_cli_eval_window") / "eval.jsonl";
  const std::string eval = bmx::test::bmx_exe().string() + " prot eval -q --model " + tiny() + " " + q(pdb);
  std::string log;
  CHECK(bmx::test::run(eval, &log, true) == 1);
  CHECK(log.find("more than the model maximum of 512") != std::string::npos);
  CHECK(log.find("--window") != std::string::npos);
  REQUIRE(bmx::test::run(eval + " --window --json " + q(out), &log) == 0);
  CHECK(log.find("decoded in 2 pieces") != std::string::npos);
  const json j = json::parse(bmx::test::read_file(out));
  CHECK(j["tokens"].get<int>() > 512);
  CHECK(j["decoded_pieces"].get<int>() == 2);
  CHECK(std::isfinite(j["ca_rmsd"].get<double>()));
  CHECK(j["tm_score"].get<double>() > 0);
  CHECK(j["tm_score"].get<double>() <= 1);
}

TEST_CASE("the model can come from the bmx config file; a broken config file is named") {
  const fs::path pdb = bmx::test::shared_file("data/proteins/1aki.pdb");
  const fs::path dir = bmx::test::scratch_dir("prot_cli_config");
  const std::string exe = "env -u BMX_GCP_VQVAE BMX_CONFIG=";
  {
    std::ofstream(dir / "config.json") << json{{"gcp_vqvae", tiny()}}.dump();
  }
  std::string out;
  REQUIRE(bmx::test::run(exe + q(dir / "config.json") + " " + bmx::test::bmx_exe().string() + " prot encode -q " +
                             q(pdb) + " --threads 1",
                         &out) == 0);
  CHECK(json::parse(out)["tokens"].size() == 129);
  // Without the key: the message says which file would be read.
  {
    std::ofstream(dir / "empty.json") << "{}";
  }
  std::string log;
  CHECK(bmx::test::run(exe + q(dir / "empty.json") + " " + bmx::test::bmx_exe().string() + " prot encode " + q(pdb),
                       &log, true) == 1);
  CHECK(log.find("empty.json") != std::string::npos);
  // Not JSON: one line naming the file.
  {
    std::ofstream(dir / "broken.json") << "gcp_vqvae = /x";
  }
  CHECK(bmx::test::run(exe + q(dir / "broken.json") + " " + bmx::test::bmx_exe().string() + " prot encode " + q(pdb),
                       &log, true) == 1);
  CHECK(log.find("broken.json: not valid JSON") != std::string::npos);
}

TEST_CASE("bmx bench prot reports seconds, residues/s and the ratio to the original code's timings") {
  std::string out;
  const std::string bench = bmx::test::bmx_exe().string() + " bench prot --repeats 1 --json ";
  REQUIRE(bmx::test::run(bench + "--arch lite --lengths 20,33", &out) == 0);
  const json j = json::parse(out);
  CHECK(j["arch"] == "lite");
  CHECK(j["threads"] == 2);
  REQUIRE(j["chains"].size() == 2);
  CHECK(j["chains"][1]["length"] == 33);
  for (const auto& c : j["chains"]) {
    CHECK(c["encode_s"].get<double>() > 0);
    CHECK(c["decode_s"].get<double>() > 0);
    CHECK(c["encode_res_per_s"].get<double>() == doctest::Approx(c["length"].get<double>() / c["encode_s"].get<double>()));
    CHECK_FALSE(c.contains("encode_speedup"));  // the original's timings are for Large only
  }
  CHECK(j["encode_residues_per_s"].get<double>() > 0);

  // Large at one of the original's lengths: the ratio to its 6.0 s / 6.3 s.
  REQUIRE(bmx::test::run(bench + "--arch large --lengths 69", &out) == 0);
  const json c = json::parse(out)["chains"][0];
  CHECK(c["original_encode_s"] == 6.0);
  CHECK(c["original_decode_s"] == 6.3);
  CHECK(c["encode_speedup"].get<double>() == doctest::Approx(6.0 / c["encode_s"].get<double>()));
  CHECK(c["decode_speedup"].get<double>() == doctest::Approx(6.3 / c["decode_s"].get<double>()));
  // The integer decoder side by side, with its deviation from the float32 one.
  CHECK(c["decode_int16_speedup"].get<double>() == doctest::Approx(6.3 / c["decode_int16_s"].get<double>()));
  CHECK(c["decode_int16_max_deviation_angstrom"].get<double>() > 0);
  CHECK(c["decode_int16_max_deviation_angstrom"].get<double>() < 0.05);

  CHECK(bmx::test::run(bench + "--lengths 50,x", &out, true) != 0);
  CHECK(out.find("--lengths") != std::string::npos);
}

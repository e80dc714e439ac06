// bmx mol encode / decode / refine / eval as a user runs them: the molecule corpus with its broken files, the
// public vectors' molecules, bad token strings, stdin/stdout, threads; SD files read back by RDKit and obabel.
#include <GraphMol/FileParsers/MolSupplier.h>
#include <GraphMol/RWMol.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "shared.h"

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string bmx_cmd() { return bmx::test::bmx_exe().string(); }
fs::path molecules() { return bmx::test::shared_dir() / "data/molecules"; }

using bmx::test::json_lines;

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream(p) << text;
}

// Every record of an SD file through RDKit (sanitized, hydrogens kept); a record RDKit refuses fails the test.
std::vector<std::unique_ptr<RDKit::ROMol>> read_sdf(const fs::path& p) {
  RDKit::SDMolSupplier sup(p.string(), /*sanitize=*/true, /*removeHs=*/false);
  std::vector<std::unique_ptr<RDKit::ROMol>> out;
  for (unsigned i = 0; !sup.atEnd(); ++i) {
    std::unique_ptr<RDKit::ROMol> m(sup.next());
    INFO(p.string() << " record " << i + 1);
    REQUIRE(m);
    out.push_back(std::move(m));
  }
  return out;
}

int obabel_records(const fs::path& sdf) {
  std::string smi;
  REQUIRE(bmx::test::run("obabel -isdf " + sdf.string() + " -osmi 2>/dev/null", &smi) == 0);
  int n = 0;
  for (char c : smi) n += c == '\n';
  return n;
}

// Files of the corpus, the manifest's BROKEN ones apart.
struct Corpus {
  std::vector<std::string> all, broken;
};

Corpus corpus() {
  Corpus c;
  auto lines = bmx::test::read_lines(bmx::test::shared_file("data/molecules/manifest.tsv"));
  for (size_t i = 1; i < lines.size(); ++i) {
    auto tab = lines[i].find('\t');
    if (tab == std::string::npos) continue;
    std::string file = lines[i].substr(0, tab);
    c.all.push_back(file);
    if (lines[i].find("BROKEN") != std::string::npos) c.broken.push_back(file);
  }
  return c;
}

std::string quoted_corpus_paths(const std::vector<std::string>& files) {
  std::string s;
  for (const auto& f : files) s += " " + (molecules() / f).string();
  return s;
}

}  // namespace

TEST_CASE("bmx mol encode over the molecule corpus: every bad record reported, every good one written") {
  auto dir = bmx::test::scratch_dir("mol_cli_corpus");
  auto c = corpus();
  REQUIRE(c.all.size() >= 30);
  REQUIRE(c.broken.size() >= 4);
  std::string err;
  auto out = dir / "enc.jsonl";
  int rc = bmx::test::run(bmx_cmd() + " mol encode -q" + quoted_corpus_paths(c.all) + " -o " + out.string() + " 2>&1",
                          &err);
  CHECK(rc == 1);  // some records failed, and said so
  for (const auto& f : c.broken) {
    INFO(f);
    CHECK(err.find(f) != std::string::npos);
  }
  // One line per problem, each naming the file.
  std::istringstream lines(err);
  for (std::string line; std::getline(lines, line);) {
    INFO(line);
    if (line.find("molecules failed (reported above)") != std::string::npos) continue;  // the closing count
    CHECK(line.rfind("bmx: ", 0) == 0);
    CHECK(line.find("/data/molecules/") != std::string::npos);
  }
  // 2D-only records are refused, not encoded with z = 0.
  CHECK(err.find("pubchem_2d_3.sdf:record 3") != std::string::npos);
  CHECK(err.find("3D coordinates are required") != std::string::npos);

  auto recs = json_lines(bmx::test::read_file(out));
  std::map<std::string, json> by_file;
  std::set<std::string> files_written;
  for (const auto& r : recs) {
    for (const char* key : {"name", "smiles", "selfies", "struct_sfi", "codes", "tokens"}) CHECK(r.contains(key));
    std::string tokens = r["tokens"];
    CHECK(tokens.rfind("<|mol_3d_start|>", 0) == 0);
    CHECK(tokens.find("<|mol_3d_end|>") == tokens.size() - std::string("<|mol_3d_end|>").size());
    for (int code : r["codes"].get<std::vector<int>>()) CHECK((code >= 0 && code < 512));
    std::string file = fs::path(r["file"].get<std::string>()).filename().string();
    files_written.insert(file);
    by_file[file + ":" + std::to_string(r["record"].get<int>())] = r;
  }
  // The first record of the truncated file and the second (3D) record of the two-molecule MOL2 are kept.
  CHECK(by_file.count("broken_truncated.sdf:1"));
  CHECK(by_file.count("pyrazole_pyridine.mol2:2"));
  CHECK_FALSE(by_file.count("pyrazole_pyridine.mol2:1"));
  // Every good file of the manifest produced output: nothing dropped silently.
  for (const auto& f : c.all) {
    if (std::find(c.broken.begin(), c.broken.end(), f) != c.broken.end() || f == "pubchem_2d_3.sdf") continue;
    INFO(f);
    CHECK(files_written.count(f));
  }
  // Hydrogens added with coordinates, and said so; bzr files have none.
  for (int i = 1; i <= 5; ++i) {
    const auto& r = by_file.at("bzr_noH_5.sdf:" + std::to_string(i));
    CHECK(r["hydrogens_added"].get<int>() > 0);
    CHECK(r["smiles"].get<std::string>().find("[H]") != std::string::npos);
  }
  CHECK(by_file.at("cdk2_8.mol:1")["hydrogens_added"].get<int>() == 0);
  // Small molecules the reference cannot encode; salts keep both fragments.
  CHECK(by_file.at("water.mol:1")["codes"].size() == 3);
  CHECK(by_file.at("propyne_linear.mol:1")["codes"].size() == 7);
  for (const char* salt : {"sodium_acetate_salt.mol:1", "methylammonium_chloride_salt.mol:1"}) {
    INFO(salt);
    CHECK(by_file.at(salt)["smiles"].get<std::string>().find('.') != std::string::npos);
    CHECK(by_file.at(salt)["selfies"].get<std::string>().find('.') != std::string::npos);
  }

  // Decode it all back: valid 3D SD records that RDKit and obabel read, the same molecules.
  auto sdf = dir / "dec.sdf";
  REQUIRE(bmx::test::run(bmx_cmd() + " mol decode -q -i " + out.string() + " -o " + sdf.string()) == 0);
  auto text = bmx::test::read_file(sdf);
  CHECK(text.find("nan") == std::string::npos);
  auto mols = read_sdf(sdf);
  REQUIRE(mols.size() == recs.size());
  CHECK(obabel_records(sdf) == static_cast<int>(recs.size()));
  for (size_t i = 0; i < mols.size(); ++i) {
    INFO(recs[i]["name"]);
    CHECK(mols[i]->getNumAtoms() == recs[i]["codes"].size());
    // Flagged 3D, or 2D where the decoded geometry is flat (every z = 0, up to 3 atoms: water).
    bool flat = true;
    for (const auto& p : mols[i]->getConformer().getPositions()) flat = flat && std::abs(p.z) < 1e-4;
    CHECK((mols[i]->getConformer().is3D() || (flat && mols[i]->getNumAtoms() <= 3)));
    CHECK(mols[i]->getProp<std::string>("_Name") == recs[i]["name"].get<std::string>());
    CHECK(mols[i]->getProp<std::string>("bmx_tokens") == recs[i]["struct_sfi"].get<std::string>());
    // Refined by MMFF94, or by UFF where MMFF has no parameters: never left unrefined.
    auto status = mols[i]->getProp<std::string>("bmx_refinement");
    CHECK((status.rfind("MMFF94 ", 0) == 0 || status.rfind("UFF ", 0) == 0));
    CHECK(status.find("no_parameters") == std::string::npos);
    for (const auto& p : mols[i]->getConformer().getPositions())
      CHECK((std::isfinite(p.x) && std::isfinite(p.y) && std::isfinite(p.z)));
    // The same molecule as encoded.
    std::unique_ptr<RDKit::ROMol> encoded(RDKit::SmilesToMol(recs[i]["smiles"].get<std::string>()));
    std::unique_ptr<RDKit::ROMol> decoded(RDKit::MolOps::removeHs(*mols[i]));
    REQUIRE(encoded);
    CHECK(RDKit::MolToSmiles(*decoded, false) == RDKit::MolToSmiles(*encoded, false));
  }
  // Se has no MMFF parameters: UFF refines it, and the SD field says so.
  bool saw_uff = false;
  for (auto& m : mols)
    if (m->getProp<std::string>("_Name") == "ebselen") {
      saw_uff = true;
      CHECK(m->getProp<std::string>("bmx_refinement").find("UFF") != std::string::npos);
    }
  CHECK(saw_uff);
}

TEST_CASE("bmx mol encode equals the reference's tokens on the public vectors; decode matches its geometry") {
  auto dir = bmx::test::scratch_dir("mol_cli_vectors");
  auto lines = bmx::test::read_lines(bmx::test::shared_file("vectors/molstructok/public.jsonl"));
  std::vector<json> picked;
  std::string sdf_text;
  for (size_t i = 0; i < lines.size() && picked.size() < 40; i += 3) {
    auto j = json::parse(lines[i]);
    // Records whose molblock holds the exact coordinates the reference encoded (its ETKDG ones are rounded).
    if (j.contains("encode_error") || j.contains("decode_error") || j["source"].get<std::string>().find("ETKDG") != std::string::npos) continue;
    picked.push_back(j);
    sdf_text += j["input_molblock"].get<std::string>() + "$$$$\n";
  }
  write_file(dir / "in.sdf", sdf_text);
  std::string out;
  REQUIRE(bmx::test::run(bmx_cmd() + " mol encode -q " + (dir / "in.sdf").string() + " -t 2", &out) == 0);
  auto recs = json_lines(out);
  REQUIRE(recs.size() == picked.size());
  std::string tokens;
  for (size_t i = 0; i < recs.size(); ++i) {
    INFO(picked[i]["name"]);
    CHECK(recs[i]["smiles"] == picked[i]["canonical_smiles"]);
    CHECK(recs[i]["selfies"] == picked[i]["selfies"]);
    CHECK(recs[i]["atom_order"] == picked[i]["atom_order"]);
    auto codes = recs[i]["codes"].get<std::vector<int>>();
    auto want = picked[i]["codes"].get<std::vector<int>>();
    auto margin = picked[i]["code_distance_margin"].get<std::vector<double>>();
    REQUIRE(codes.size() == want.size());
    for (size_t k = 0; k < codes.size(); ++k)
      if (margin[k] >= 1e-4) CHECK(codes[k] == want[k]);
    tokens += picked[i]["struct_sfi"].get<std::string>() + "\n";
  }
  // The reference's token strings decode (before refinement) to its coordinates within 1e-4 A.
  write_file(dir / "tokens.txt", tokens);
  auto sdf = dir / "dec.sdf";
  REQUIRE(bmx::test::run(bmx_cmd() + " mol decode -q --no-refine -i " + (dir / "tokens.txt").string() + " -o " +
                         sdf.string()) == 0);
  auto mols = read_sdf(sdf);
  REQUIRE(mols.size() == picked.size());
  for (size_t i = 0; i < mols.size(); ++i) {
    INFO(picked[i]["name"]);
    const auto& want = picked[i]["decoded_coords"];
    const auto& conf = mols[i]->getConformer();
    REQUIRE(conf.getNumAtoms() == want.size());
    double worst = 0;
    for (unsigned a = 0; a < want.size(); ++a) {
      const auto& p = conf.getAtomPos(a);
      worst = std::max({worst, std::abs(p.x - want[a][0].get<double>()), std::abs(p.y - want[a][1].get<double>()),
                        std::abs(p.z - want[a][2].get<double>())});
    }
    CHECK(worst < 1e-4 + 5e-5);  // the SD file keeps 4 decimals
    CHECK(mols[i]->getProp<std::string>("bmx_refinement") == "not refined");
  }
}

TEST_CASE("bmx mol decode: bad token strings are one-line errors with the position; the good ones are written") {
  auto dir = bmx::test::scratch_dir("mol_cli_bad_tokens");
  const std::string water = "[H 3][O 26][H 304]";
  write_file(dir / "tokens.txt", water + "\n" +
                                     "[C 1][C 600][C 2][C 3][C 4]\n" +          // code outside 0..511
                                     "[C 1][C 2][Xx 3]\n" +                     // unknown symbol
                                     "<|mol_3d_start|>" + water + "<|mol_3d_end|>\n" +
                                     "[C 1][Branch1 3][C 2][C 4]\n" +           // -1 expected on Branch1
                                     "[C 1][C -1][C 2]\n" +                     // atom without a code
                                     "\n");
  std::string err;
  auto sdf = dir / "out.sdf";
  int rc = bmx::test::run(bmx_cmd() + " mol decode -q --no-refine -i " + (dir / "tokens.txt").string() + " -o " +
                              sdf.string() + " 2>&1 >/dev/null",
                          &err);
  CHECK(rc == 1);
  std::vector<std::string> messages;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("bmx: ", 0) == 0 && line.find("tokens.txt:") != std::string::npos) messages.push_back(line);
  REQUIRE(messages.size() == 4);
  CHECK(messages[0].find("tokens.txt:2") != std::string::npos);
  CHECK(messages[0].find("600") != std::string::npos);
  CHECK(messages[1].find("tokens.txt:3") != std::string::npos);
  CHECK(messages[1].find("Xx") != std::string::npos);
  CHECK(messages[2].find("tokens.txt:5") != std::string::npos);
  CHECK(messages[3].find("tokens.txt:6") != std::string::npos);
  for (const auto& m : messages) {
    INFO(m);
    CHECK(m.find("token") != std::string::npos);  // says which token
  }
  auto mols = read_sdf(sdf);
  CHECK(mols.size() == 2);
  CHECK(obabel_records(sdf) == 2);
  for (auto& m : mols) CHECK(m->getNumAtoms() == 3);
}

TEST_CASE("bmx mol decode reads a wrapped argument and stdin, writes stdout; refine and eval on small molecules") {
  auto dir = bmx::test::scratch_dir("mol_cli_stdio");
  std::string enc;
  REQUIRE(bmx::test::run(bmx_cmd() + " mol encode -q " + (molecules() / "propyne_linear.mol").string() + " " +
                             (molecules() / "water.mol").string() + " " +
                             (molecules() / "sodium_acetate_salt.mol").string(),
                         &enc) == 0);
  auto recs = json_lines(enc);
  REQUIRE(recs.size() == 3);
  // Wrapped tokens as the argument, SD file on stdout.
  std::string sdf;
  REQUIRE(bmx::test::run(bmx_cmd() + " mol decode -q '" + recs[0]["tokens"].get<std::string>() + "' -o -", &sdf) == 0);
  write_file(dir / "propyne.sdf", sdf);
  auto propyne = read_sdf(dir / "propyne.sdf");
  REQUIRE(propyne.size() == 1);
  CHECK(propyne[0]->getNumAtoms() == 7);
  // JSON lines on stdin.
  write_file(dir / "enc.jsonl", enc);
  REQUIRE(bmx::test::run("cat " + (dir / "enc.jsonl").string() + " | " + bmx_cmd() + " mol decode -q -i - -o " +
                         (dir / "all.sdf").string()) == 0);
  auto all = read_sdf(dir / "all.sdf");
  REQUIRE(all.size() == 3);
  CHECK(all[1]->getNumAtoms() == 3);
  CHECK(RDKit::MolToSmiles(*all[2]).find('.') != std::string::npos);  // the salt keeps its sodium
  CHECK(all[2]->getNumAtoms() == recs[2]["codes"].size());

  // refine: an SD file of RDKit-readable records with the refinement status, nothing else changed.
  auto refined = dir / "refined.sdf";
  REQUIRE(bmx::test::run(bmx_cmd() + " mol refine -q " + (dir / "all.sdf").string() + " -o " + refined.string()) == 0);
  auto ref = read_sdf(refined);
  REQUIRE(ref.size() == 3);
  for (size_t i = 0; i < ref.size(); ++i) {
    CHECK(ref[i]->getNumAtoms() == all[i]->getNumAtoms());
    CHECK(ref[i]->getProp<std::string>("bmx_refinement").find("MMFF94") != std::string::npos);
    CHECK(std::stod(ref[i]->getProp<std::string>("bmx_energy_after")) <=
          std::stod(ref[i]->getProp<std::string>("bmx_energy_before")) + 1e-9);
  }

  // eval --json: per-molecule figures and a summary; the collinear propyne stays exact enough.
  std::string ev;
  REQUIRE(bmx::test::run(bmx_cmd() + " mol eval -q --json " + (molecules() / "propyne_linear.mol").string() + " " +
                             (molecules() / "l_alanine_stereo.mol").string(),
                         &ev) == 0);
  auto rows = json_lines(ev);
  REQUIRE(rows.size() == 3);
  for (int i = 0; i < 2; ++i) {
    CHECK(rows[i]["heavy_rmsd_decoded"].get<double>() < 0.5);
    CHECK(rows[i]["heavy_rmsd_refined"].get<double>() < 0.5);
    CHECK(rows[i]["same_graph"].get<bool>());
    CHECK(rows[i]["codes_reencoded_same"].get<int>() <= rows[i]["codes_reencoded_total"].get<int>());
  }
  CHECK(rows[1]["stereo_centres"].get<int>() == 1);
  CHECK(rows[1]["stereo_kept_decoded"].get<int>() == 1);
  const auto& s = rows[2]["summary"];
  CHECK(s["evaluated"].get<int>() == 2);
  CHECK(s["failed"].get<int>() == 0);
  CHECK(s["stereo_kept_decoded_pct"].get<double>() == 100.0);
}

TEST_CASE("bmx mol encode gives the same output with 1 and 2 threads") {
  std::string one, two;
  auto files = molecules() / "cdk2_5.sdf";
  std::string more = " " + (molecules() / "egfr_4.sdf").string() + " " + (molecules() / "bzr_noH_5.sdf").string();
  REQUIRE(bmx::test::run(bmx_cmd() + " mol encode -q -t 1 " + files.string() + more, &one) == 0);
  REQUIRE(bmx::test::run(bmx_cmd() + " mol encode -q -t 2 " + files.string() + more, &two) == 0);
  CHECK(json_lines(one).size() == 14);
  CHECK(one == two);
}

TEST_CASE("bmx bench mol --json prints the figures the issue asks for") {
  std::string out;
  REQUIRE(bmx::test::run(bmx_cmd() + " bench mol --json --seconds 0.05 " +
                             bmx::test::shared_file("vectors/molstructok/public.jsonl").string(),
                         &out) == 0);
  auto j = json::parse(out);
  CHECK(j["molecules"].get<int>() == 273);  // the records the reference round-trips
  for (const char* key : {"encode_mol_s", "encode_atoms_s", "decode_mol_s", "decode_atoms_s", "decode_refine_mol_s",
                          "decode_refine_atoms_s"})
    CHECK(j[key].get<double>() > 0);
}

TEST_CASE("an interrupted command leaves no temporary and the old output as it was (SIGTERM, SIGINT)") {
  // bmx mol encode - -o out.jsonl holds its output's temporary open while it waits on stdin, a pipe kept open
  // here; the signal comes once the temporary is there.
  for (int sig : {SIGTERM, SIGINT}) {
    const fs::path dir = bmx::test::scratch_dir("mol_signal_" + std::to_string(sig));
    const fs::path out = dir / "out.jsonl";
    std::ofstream(out) << "before\n";
    int in[2];
    REQUIRE(::pipe(in) == 0);
    const std::string exe = bmx::test::bmx_exe().string(), out_s = out.string();
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      ::dup2(in[0], 0);
      ::close(in[1]);
      const int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::execl(exe.c_str(), exe.c_str(), "mol", "encode", "-", "-o", out_s.c_str(), static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    ::close(in[0]);
    auto temporaries = [&] {
      int n = 0;
      for (const auto& e : fs::directory_iterator(dir)) n += e.path().filename() != out.filename();
      return n;
    };
    for (int waited = 0; temporaries() == 0 && waited < 1000; ++waited) ::usleep(10'000);
    CHECK(temporaries() == 1);
    ::kill(child, sig);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    ::close(in[1]);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == sig);
    CHECK(temporaries() == 0);
    CHECK(bmx::test::read_file(out) == "before\n");
  }
}

#include "run_support.h"

#include <GraphMol/FileParsers/MolSupplier.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/RWMol.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <doctest/doctest.h>

#include <gemmi/cif.hpp>
#include <gemmi/mmcif.hpp>
#include <gemmi/pdb.hpp>
#include <sstream>

#include "shared.h"

namespace fs = std::filesystem;

namespace bmx::test {

int BmxRun::err_lines() const {
  int n = 0;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) n += !line.empty();
  return n;
}

std::string quote(const fs::path& p) { return "'" + p.string() + "'"; }

namespace {
// Made once per test program (scratch_dir empties the folder it returns).
const fs::path& work_dir() {
  static const fs::path dir = scratch_dir("run_support");
  return dir;
}
}  // namespace

BmxRun run_bmx(const std::string& args) {
  static int counter = 0;
  const fs::path err = work_dir() / ("stderr_" + std::to_string(++counter) + ".txt");
  BmxRun r;
  r.status = run(bmx_exe().string() + " " + args + " 2>" + quote(err), &r.out);
  r.err = read_file(err);
  return r;
}

namespace {
fs::path make_model(const std::string& name, const std::string& tokenizer) {
  const fs::path dir = work_dir() / name;
  if (fs::exists(dir / "config.json")) return dir;
  const BmxRun r = run_bmx("dev random-model --like tiny --tokenizer " + quote(shared_file(tokenizer)) + " -o " + quote(dir));
  INFO(r.err);
  REQUIRE(r.status == 0);
  return dir;
}
}  // namespace

fs::path tiny_biomatrix_model() { return make_model("tiny_biomatrix", "models/tokenizers/biomatrix"); }
fs::path tiny_qwen3_model() { return make_model("tiny_qwen3", "models/tokenizers/qwen3"); }
std::string tiny_gcp() { return shared_file("vectors/gcp/tiny_model").string(); }

nlohmann::json read_json(const fs::path& p) {
  REQUIRE(fs::exists(p));
  return nlohmann::json::parse(read_file(p));
}

std::vector<unsigned> sdf_atom_counts(const fs::path& p) {
  REQUIRE(fs::exists(p));
  RDKit::SDMolSupplier sup(p.string(), /*sanitize=*/true, /*removeHs=*/false);
  std::vector<unsigned> out;
  while (!sup.atEnd()) {
    std::unique_ptr<RDKit::ROMol> m(sup.next());
    INFO(p.string());
    REQUIRE(m);
    out.push_back(m->getNumAtoms());
  }
  return out;
}

std::vector<std::string> residue_names(const fs::path& p) {
  REQUIRE(fs::exists(p));
  const std::string text = read_file(p);
  gemmi::Structure st = p.extension() == ".cif"
                            ? gemmi::make_structure_from_block(gemmi::cif::read_memory(text.data(), text.size(),
                                                                                       p.string().c_str()).blocks.at(0))
                            : gemmi::read_pdb_from_memory(text.data(), text.size(), p.string());
  REQUIRE(!st.models.empty());
  REQUIRE(!st.models[0].chains.empty());
  std::vector<std::string> names;
  for (const gemmi::Residue& r : st.models[0].chains[0].residues) names.push_back(r.name);
  return names;
}

unsigned atoms_with_h(const std::string& smiles) {
  std::unique_ptr<RDKit::RWMol> m;
  try {
    m.reset(RDKit::SmilesToMol(smiles));
  } catch (const std::exception&) {
    return 0;
  }
  if (!m) return 0;
  RDKit::MolOps::addHs(*m);
  return m->getNumAtoms();
}

std::string three_letter(char one) {
  static const std::string letters = "ACDEFGHIKLMNPQRSTVWYBZUO";
  static const char* names[] = {"ALA", "CYS", "ASP", "GLU", "PHE", "GLY", "HIS", "ILE", "LYS", "LEU", "MET", "ASN",
                                "PRO", "GLN", "ARG", "SER", "THR", "VAL", "TRP", "TYR", "ASX", "GLX", "SEC", "PYL"};
  const auto i = letters.find(one);
  return i == std::string::npos ? "UNK" : names[i];
}

}  // namespace bmx::test

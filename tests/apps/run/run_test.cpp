// bmx run end to end with a tiny random decoder (BioMatrix stand-in vocabulary), the real MolStrucTok checkpoint
// and the tiny GCP-VQVAE: the task presets' prompts, constrained answers that always decode, files read back,
// --samples ranking, -i lists with a bad record, and one line for each kind of bad input.
#include <doctest/doctest.h>

#include <fstream>
#include <set>

#include "run_support.h"
#include "shared.h"

using nlohmann::json;
namespace fs = std::filesystem;
using bmx::test::run_bmx;
using bmx::test::quote;

namespace {

void write_file(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

std::string run_args(const std::string& task) {
  return "run -m " + quote(bmx::test::tiny_biomatrix_model()) + " --task " + task + " -t 2 -q ";
}

std::string gcp() { return " --gcp-vqvae " + bmx::test::tiny_gcp(); }

std::string aa(const std::string& letters) {
  std::string s = "<|prot_aa_start|>";
  for (char c : letters) s += std::string("<A ") + c + ">";
  return s + "<|prot_aa_end|>";
}

// The fold answer of one folder: one prot3d segment of n residues, decoded to PDB and mmCIF named after `letters`.
void check_fold(const fs::path& dir, const std::string& letters) {
  const json s = bmx::test::read_json(dir / "summary.json");
  INFO(s.dump().substr(0, 2000));
  CHECK(s["decodable"] == true);
  CHECK(s["valid"] == true);
  CHECK(s["length_match"] == true);
  REQUIRE(s["segments"].size() >= 1);
  const json& seg = s["segments"][0];
  CHECK(seg["modality"] == "prot3d");
  CHECK(seg["n_tokens"] == letters.size());
  CHECK(seg["residue_names"] == "prompt");
  for (const char* ext : {".pdb", ".cif"}) {
    const auto names = bmx::test::residue_names(dir / (std::string("seg01_prot3d") + ext));
    REQUIRE(names.size() == letters.size());
    for (std::size_t k = 0; k < names.size(); ++k) CHECK(names[k] == bmx::test::three_letter(letters[k]));
  }
}

}  // namespace

TEST_CASE("bmx run --list-tasks: every preset with inputs, output and sampling") {
  const auto r = run_bmx("run --list-tasks");
  CHECK(r.status == 0);
  for (const char* t : {"fold", "inverse-fold", "cogen", "backbone", "mol3d", "mol-uncond", "text2mol", "caption",
                        "iupac2smiles", "forward", "retro", "affinity-1d", "affinity-3d", "ppi", "chat"})
    CHECK(("\n" + r.out).find(std::string("\n") + t + " ") != std::string::npos);
  CHECK(r.out.find("Given a protein amino acid sequence, predict its 3D structure.") != std::string::npos);
  CHECK(r.out.find("homo (HOMO energy, Hartree)") != std::string::npos);
  CHECK(r.out.find("sampling: greedy") != std::string::npos);
  CHECK(r.out.find("sampling: temperature 1, top-p 1") != std::string::npos);
}

TEST_CASE("bmx run fold: the published prompt, one <S n> per residue, PDB and mmCIF named after the sequence") {
  const fs::path out = bmx::test::scratch_dir("run_fold");
  const auto r = run_bmx(run_args("fold") + "--sequence mktAYIAK -n 40 -o " + quote(out) + gcp());
  INFO(r.err);
  REQUIRE(r.status == 0);
  const json s = bmx::test::read_json(out / "summary.json");
  CHECK(s["task"] == "fold");
  CHECK(s["prompt"] == "Given a protein amino acid sequence, predict its 3D structure.\n" + aa("MKTAYIAK"));
  CHECK(s["expected_length"] == 8);
  CHECK(s["constrained"] == true);
  CHECK(s["sampling"]["temperature"] == 0.0);
  CHECK(s["mean_logprob"].is_number());
  check_fold(out, "MKTAYIAK");
}

TEST_CASE("bmx run mol3d: a 3D molecule that decodes, MMFF94-refined; the QM9 property wording") {
  const fs::path out = bmx::test::scratch_dir("run_mol3d");
  auto r = run_bmx(run_args("mol3d") + "-n 48 -s 3 -o " + quote(out / "uncond"));
  INFO(r.err);
  REQUIRE(r.status == 0);
  json s = bmx::test::read_json(out / "uncond" / "summary.json");
  CHECK(s["prompt"] == "Generate a molecule 3D structure.");
  CHECK(s["sampling"]["temperature"] == 1.0);
  CHECK(s["decodable"] == true);
  REQUIRE(s["segments"].size() >= 1);
  const json& seg = s["segments"][0];
  CHECK(seg["modality"] == "mol3d");
  const auto atoms = bmx::test::sdf_atom_counts(out / "uncond" / "seg01_mol3d.sdf");
  REQUIRE(atoms.size() == 1);
  CHECK(atoms[0] == seg["n_atoms"].get<unsigned>());

  r = run_bmx(run_args("mol3d") + "--property HOMO=-0.2530 -n 48 -o " + quote(out / "homo"));
  CHECK(r.status == 0);
  s = bmx::test::read_json(out / "homo" / "summary.json");
  CHECK(s["prompt"] == "Generate a molecule 3D structure with HOMO energy (homo) = -0.2530.");
  r = run_bmx(run_args("mol3d") + "--property Cv=31.6 -n 48 -o " + quote(out / "cv"));
  CHECK(r.status == 0);
  CHECK(bmx::test::read_json(out / "cv" / "summary.json")["prompt"] ==
        "Generate a molecule 3D structure with heat capacity (Cv) = 31.6.");
}

TEST_CASE("bmx run caption: the card's wording with the SELFIES wrapped; SMILES named as such") {
  const fs::path out = bmx::test::scratch_dir("run_caption");
  auto r = run_bmx(run_args("caption") + "--selfies '[C][C][O]' -n 12 -o " + quote(out / "sfi"));
  INFO(r.err);
  REQUIRE(r.status == 0);
  json s = bmx::test::read_json(out / "sfi" / "summary.json");
  CHECK(s["prompt"] == "I need a brief explanation of the molecule denoted in this SELFIES notation.\n"
                       "<|mol_sfi_start|>[C][C][O]<|mol_sfi_end|>");
  CHECK(s["sampling"]["temperature"] == 0.0);
  CHECK(s["new_tokens"].get<int>() <= 12);
  CHECK(s.contains("answer"));
  r = run_bmx(run_args("caption") + "--smiles CCO -n 4 -o " + quote(out / "smi"));
  REQUIRE(r.status == 0);
  s = bmx::test::read_json(out / "smi" / "summary.json");
  CHECK(s["prompt"] == "I need a brief explanation of the molecule denoted in this SMILES notation.\n"
                       "<|mol_smi_start|>CCO<|mol_smi_end|>");
  // Unconstrained sampling runs too, and says so.
  r = run_bmx(run_args("caption") + "--smiles CCO -n 4 --no-constrain -o " + quote(out / "free"));
  REQUIRE(r.status == 0);
  CHECK(bmx::test::read_json(out / "free" / "summary.json")["constrained"] == false);
  // --instruction replaces the wording; PPI labels its two proteins.
  r = run_bmx(run_args("ppi") + "--sequence MKV --sequence GAL --instruction 'Do they bind?' -n 4 -o " + quote(out / "ppi"));
  REQUIRE(r.status == 0);
  CHECK(bmx::test::read_json(out / "ppi" / "summary.json")["prompt"] ==
        "Do they bind?\nProtein A: " + aa("MKV") + "\nProtein B: " + aa("GAL"));
}

TEST_CASE("bmx run --samples 3: one batch, a folder per sample, ranked in summary.json") {
  const fs::path out = bmx::test::scratch_dir("run_samples");
  const auto r = run_bmx(run_args("fold") + "--sequence GAVLIPFM --samples 3 -s 7 -n 40 -o " + quote(out) + gcp());
  INFO(r.err);
  REQUIRE(r.status == 0);
  const json s = bmx::test::read_json(out / "summary.json");
  CHECK(s["sampling"]["temperature"] == 1.0);  // several samples of a greedy task are drawn at temperature 1
  REQUIRE(s["samples"].size() == 3);
  std::set<std::string> folders;
  double previous = 1e30;
  for (std::size_t i = 0; i < 3; ++i) {
    const json& row = s["samples"][i];
    CHECK(row["rank"] == i + 1);
    folders.insert(row["folder"]);
    // All decode and match the length (the constraint), so the log-probability orders them.
    CHECK(row["decodable"] == true);
    CHECK(row["length_match"] == true);
    CHECK(row["mean_logprob"].get<double>() <= previous);
    previous = row["mean_logprob"];
    check_fold(out / row["folder"].get<std::string>(), "GAVLIPFM");
  }
  CHECK(folders == std::set<std::string>{"sample_01", "sample_02", "sample_03"});
}

TEST_CASE("bmx run -i FASTA: one run per record, a bad record reported and the others done") {
  const fs::path out = bmx::test::scratch_dir("run_list");
  write_file(out / "in.fasta", ">first protein one\nMKTA\nYIAK\n>bad\nMK7A\n>third\nGAVL\n>first\nPPG\n");
  const auto r = run_bmx(run_args("fold") + "-i " + quote(out / "in.fasta") + " -n 20 -o " + quote(out / "res") + gcp());
  CHECK(r.status == 1);
  CHECK(r.err.find("in.fasta:4 (bad): protein sequence: '7' at position 3") != std::string::npos);
  check_fold(out / "res" / "first", "MKTAYIAK");
  check_fold(out / "res" / "third", "GAVL");
  check_fold(out / "res" / "first_2", "PPG");
  CHECK(!fs::exists(out / "res" / "bad" / "summary.json"));
  const json s = bmx::test::read_json(out / "res" / "summary.json");
  REQUIRE(s["records"].size() == 4);
  CHECK(s["records"][1]["status"] == "failed");
  CHECK(s["records"][1]["error"].get<std::string>().find("'7'") != std::string::npos);
  CHECK(s["records"][2]["status"] == "ok");
}

TEST_CASE("bmx run: structure and molecule files are tokenized (inverse-fold, affinity-3d)") {
  const fs::path out = bmx::test::scratch_dir("run_files");
  const fs::path pdb = bmx::test::shared_file("vectors/gcp/inputs/1aki.pdb");
  auto r = run_bmx(run_args("inverse-fold") + "--structure " + quote(pdb) + " -n 160 -o " + quote(out / "inv") + gcp());
  INFO(r.err);
  REQUIRE(r.status == 0);
  json s = bmx::test::read_json(out / "inv" / "summary.json");
  CHECK(s["expected_length"] == 129);
  CHECK(s["prompt"].get<std::string>().rfind("Design an amino acid sequence that folds into this backbone structure:\n"
                                             "<|prot_3d_start|><S ", 0) == 0);
  CHECK(s["length_match"] == true);
  CHECK(fs::exists(out / "inv" / "seg01_prot_aa.fasta"));

  // affinity-3d: the ligand's MolStrucTok tokens, then the pocket's sequence and structure.
  const fs::path mol = bmx::test::shared_file("data/molecules/cdk2_7.mol");
  r = run_bmx(run_args("affinity-3d") + "--molecule " + quote(mol) + " --structure " + quote(pdb) + " -n 4 -o " +
          quote(out / "aff") + gcp());
  REQUIRE(r.status == 0);
  s = bmx::test::read_json(out / "aff" / "summary.json");
  const std::string p = s["prompt"];
  CHECK(p.rfind("Predict the binding affinity of this ligand to the pocket.\n<|mol_3d_start|>[", 0) == 0);
  CHECK(p.find("<|mol_3d_end|>\n<|prot_aa_start|><A K><A V><A F>") != std::string::npos);
  CHECK(p.find("<|prot_aa_end|><|prot_3d_start|>") != std::string::npos);
}

TEST_CASE("bmx generate --extract: the generated answer's segments to files") {
  const fs::path out = bmx::test::scratch_dir("run_generate_extract");
  const auto r = run_bmx("generate -m " + quote(bmx::test::tiny_biomatrix_model()) + " --chat -p 'Describe water.' -n 6 "
                     "--extract " + quote(out));
  INFO(r.err);
  CHECK(r.status == 0);
  const json s = bmx::test::read_json(out / "summary.json");
  CHECK(s["prompt"] == "Describe water.");
  CHECK(s["answer"].get<std::string>() + "\n" == r.out);
  CHECK(s["segments"].is_array());
  // -o is --extract (the output folder, as on bmx run and extract); -q drops the timing line.
  const fs::path out2 = bmx::test::scratch_dir("run_generate_extract_o");
  const auto q = run_bmx("generate -m " + quote(bmx::test::tiny_biomatrix_model()) + " --chat -p 'Describe water.' -n 6 "
                     "-t 1 -q -o " + quote(out2));
  INFO(q.err);
  CHECK(q.status == 0);
  CHECK(q.out == r.out);
  CHECK(q.err.find("prompt tokens") == std::string::npos);
  CHECK(r.err.find("prompt tokens") != std::string::npos);
  CHECK(bmx::test::read_json(out2 / "summary.json")["answer"] == s["answer"]);
}

TEST_CASE("bmx run: each bad input is one line naming the problem, and a non-zero exit") {
  const fs::path out = bmx::test::scratch_dir("run_bad");
  write_file(out / "not_a_structure.pdb", "this is no PDB file\n");
  write_file(out / "not_fasta.fa", "MKTAYIAK\n>x\nMK\n");
  struct Case {
    std::string args, expect;
  };
  const std::string qwen = "run -m " + quote(bmx::test::tiny_qwen3_model()) + " --task fold --sequence MKV -o " +
                           quote(out / "q") + gcp();
  const std::vector<Case> cases = {
      {run_args("folding") + "--sequence MKV -o " + quote(out / "a"), "unknown task 'folding' (known: fold, inverse-fold"},
      {run_args("fold") + "-o " + quote(out / "b") + gcp(), "task 'fold' needs a protein sequence input"},
      {run_args("caption") + "--sequence MKV -o " + quote(out / "b2"), "task 'caption' needs a SELFIES or SMILES input"},
      {run_args("fold") + "--sequence MKV --smiles CCO -o " + quote(out / "b3") + gcp(), "takes no SMILES input"},
      {run_args("fold") + "--sequence 'MK V1' -o " + quote(out / "c") + gcp(), "'1' at position 5 is not one of the 26"},
      {run_args("fold") + "--sequence MKVé -o " + quote(out / "c2") + gcp(), "'é' at position 4"},
      {run_args("inverse-fold") + "--structure " + quote(out / "not_a_structure.pdb") + " -o " + quote(out / "d") + gcp(),
       "not_a_structure.pdb"},
      {run_args("affinity-3d") + "--molecule " + quote(bmx::test::shared_file("data/molecules/broken_counts.mol")) +
           " --structure " + quote(bmx::test::shared_file("vectors/gcp/inputs/1aki.pdb")) + " -o " + quote(out / "d2") + gcp(),
       "broken_counts.mol"},
      {run_args("fold") + "-i " + quote(out / "not_fasta.fa") + " -o " + quote(out / "e") + gcp(),
       "not_fasta.fa:1: not FASTA"},
      {run_args("fold") + "-i " + quote(out / "missing.fa") + " -o " + quote(out / "f") + gcp(), "missing.fa"},
      {run_args("fold") + "--sequence MKTAYIAKQRQISFVKSHFSRQ -c 20 -o " + quote(out / "g") + gcp(),
       "leaves no room in the context of 20 tokens (-c 20)"},
      {"run -m " + quote(out / "BioMatrix-4B") + " --task fold --sequence MKV -o " + quote(out / "g2") + gcp(),
       "BioMatrix-4B: no such model folder; BioMatrix's weights are the Hugging Face repositories "
       "QizhiPei/BioMatrix-4B-SFT and QizhiPei/BioMatrix-1.7B-SFT"},
      {run_args("mol3d") + "--property homo=high -o " + quote(out / "h"), "'high' is not a number"},
      {run_args("mol3d") + "--property zpve=1 -o " + quote(out / "h2"), "unknown property 'zpve'"},
      {run_args("fold") + "--sequence MKV -o " + quote(out / "i") + " --gcp-vqvae " + quote(out / "no_such_model"),
       "no_such_model"},
      {qwen, "no BioMatrix control tokens"},
      {qwen + " --no-constrain", "no BioMatrix control tokens"},
  };
  for (const Case& c : cases) {
    const auto r = run_bmx(c.args);
    INFO(c.args << "\n" << r.err);
    CHECK(r.status != 0);
    CHECK(r.err_lines() == 1);
    CHECK(r.err.find(c.expect) != std::string::npos);
  }
}

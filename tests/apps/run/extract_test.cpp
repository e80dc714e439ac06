// bmx extract on every answer of shared/vectors/biomatrix/answers.jsonl (and on answers made here whose
// structure codes the tiny GCP-VQVAE can decode): the parse in summary.json is the vectors' own, every file
// written reads back in RDKit (SDF) or gemmi (PDB, mmCIF) with the right size, every malformed or undecodable
// segment is listed with its problem and no file.
#include <doctest/doctest.h>

#include <sstream>

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

// The residue letters of every <|prot_aa_start|>...<|prot_aa_end|> of a prompt.
std::vector<std::string> prompt_sequences(const std::string& prompt) {
  std::vector<std::string> out;
  const std::string start = "<|prot_aa_start|>", end = "<|prot_aa_end|>";
  for (std::size_t p = prompt.find(start); p != std::string::npos; p = prompt.find(start, p + 1)) {
    const std::size_t e = prompt.find(end, p);
    if (e == std::string::npos) break;
    std::string letters;
    for (std::size_t k = p + start.size(); k + 4 < e + 1; k += 5) letters += prompt[k + 3];
    out.push_back(letters);
  }
  return out;
}

// The residue letters bmx should name a prot3d segment after: the nearest well-formed prot_aa segment of the
// answer with as many residues, else the prompt's, else none.
std::string expected_letters(const json& segs, std::size_t index, const std::vector<std::string>& prompt_seqs) {
  const std::size_t n = segs[index]["n_tokens"].get<std::size_t>();
  std::string best;
  std::size_t best_distance = 1000;
  for (std::size_t i = 0; i < segs.size(); ++i) {
    const json& s = segs[i];
    const std::size_t d = i > index ? i - index : index - i;
    if (s["modality"] == "prot_aa" && s["well_formed"].get<bool>() && s["sequence"].get<std::string>().size() == n &&
        d < best_distance) {
      best = s["sequence"];
      best_distance = d;
    }
  }
  if (!best.empty()) return best;
  for (const std::string& seq : prompt_seqs)
    if (seq.size() == n) return seq;
  return std::string(n, 'X');
}

// Checks one extraction against the expected parse; returns how many files were checked.
int check_extraction(const json& rec, const fs::path& out, const bmx::test::BmxRun& r) {
  const json summary = bmx::test::read_json(out / "summary.json");
  INFO("record " << rec["id"].get<std::string>() << "\n" << r.err);
  CHECK(summary["answer"] == rec["answer"]);
  CHECK(summary["prompt"] == rec["prompt"]);
  const json& segs = summary["segments"];
  const json& expected = rec["segments"];
  REQUIRE(segs.size() == expected.size());
  CHECK(summary["stray_markers"].size() == rec["stray_markers"].size());
  int checked = 0, failed = 0;
  for (std::size_t i = 0; i < segs.size(); ++i) {
    const json& s = segs[i];
    const json& e = expected[i];
    INFO("segment " << i + 1 << ": " << s.dump().substr(0, 600));
    for (const char* key : {"modality", "start", "end", "content_start", "content_end", "content", "tokens",
                            "n_tokens", "foreign", "problems", "well_formed"})
      CHECK(s[key] == e[key]);
    for (const char* key : {"selfies", "codes", "n_atoms", "sequence"})
      if (e.contains(key)) CHECK(s[key] == e[key]);
    const std::vector<std::string> files = s["files"];
    const std::string modality = s["modality"];
    if (!s["well_formed"].get<bool>()) {
      CHECK(files.empty());
      CHECK(s["error"].get<std::string>().find("malformed") != std::string::npos);
      CHECK(s["valid"] == false);
      ++failed;
      continue;
    }
    if (modality == "mol3d") {
      REQUIRE(files.size() == 1);
      const auto atoms = bmx::test::sdf_atom_counts(out / files[0]);
      REQUIRE(atoms.size() == 1);
      CHECK(atoms[0] == s["n_atoms"].get<unsigned>());
      CHECK(s["checks"]["atoms_match_codes"] == true);
      CHECK(s["refinement"].get<std::string>().find("MMFF94") == 0);
      CHECK(bmx::test::read_file(out / files[0]).find("bmx_refinement") != std::string::npos);
      ++checked;
    } else if (modality == "smiles" || modality == "selfies") {
      const std::string smiles = modality == "smiles" ? e["content"].get<std::string>() : e["decoded_smiles"].get<std::string>();
      const unsigned atoms = bmx::test::atoms_with_h(smiles);
      if (atoms == 0) {  // lexically fine, chemically not (smiles_lexical_ok_chem_bad)
        CHECK(e.value("smiles_parses", true) == false);
        CHECK(files.empty());
        CHECK(s["error"].get<std::string>().find("RDKit") != std::string::npos);
        ++failed;
        continue;
      }
      REQUIRE(files.size() == 1);
      const auto counts = bmx::test::sdf_atom_counts(out / files[0]);
      REQUIRE(counts.size() == 1);
      CHECK(counts[0] == atoms);
      CHECK(s["refinement"].get<std::string>().find("MMFF94") == 0);
      ++checked;
    } else if (modality == "prot3d") {
      const std::vector<int> codes = s["codes"];
      bool decodable = true;
      for (int c : codes) decodable = decodable && c < 512;  // the tiny model's codebook
      if (!decodable) {
        CHECK(files.empty());
        CHECK(s["error"].get<std::string>().find("outside the GCP-VQVAE codebook 0..511") != std::string::npos);
        ++failed;
        continue;
      }
      REQUIRE(files.size() == 2);
      const std::string letters = expected_letters(segs, i, prompt_sequences(rec["prompt"]));
      for (const std::string& f : files) {
        const auto names = bmx::test::residue_names(out / f);
        REQUIRE(names.size() == codes.size());
        for (std::size_t k = 0; k < names.size(); ++k) CHECK(names[k] == bmx::test::three_letter(letters[k]));
        ++checked;
      }
      CHECK(s["checks"]["residues_match_tokens"] == true);
    } else if (modality == "prot_aa") {
      REQUIRE(files.size() == 1);
      const std::string fasta = bmx::test::read_file(out / files[0]);
      std::string seq;
      for (std::size_t p = fasta.find('\n') + 1; p < fasta.size(); ++p)
        if (fasta[p] != '\n') seq += fasta[p];
      CHECK(seq == s["sequence"].get<std::string>());
      ++checked;
    }
  }
  CHECK(r.status == (failed ? 1 : 0));
  CHECK(summary["decodable"] == (failed == 0));
  return checked;
}

int extract_record(const json& rec, const fs::path& work) {
  const fs::path dir = work / rec["id"].get<std::string>();
  fs::create_directories(dir);
  write_file(dir / "answer.txt", rec["answer"].get<std::string>());
  write_file(dir / "prompt.txt", rec["prompt"].get<std::string>());
  const fs::path out = dir / "out";
  const auto r = run_bmx("extract " + quote(dir / "answer.txt") + " -o " + quote(out) + " --prompt-file " +
                     quote(dir / "prompt.txt") + " --gcp-vqvae " + bmx::test::tiny_gcp());
  return check_extraction(rec, out, r);
}

}  // namespace

TEST_CASE("bmx extract: every answer of vectors/biomatrix, parse as expected, every file read back") {
  const auto records = bmx::test::shared_jsonl("vectors/biomatrix/answers.jsonl");
  REQUIRE(records.size() == 45);
  const fs::path work = bmx::test::scratch_dir("run_extract_vectors");
  int files = 0, malformed = 0;
  std::set<std::string> modalities;
  for (const json& rec : records) {
    files += extract_record(rec, work);
    bool bad = !rec["stray_markers"].empty();
    for (const json& s : rec["segments"]) {
      bad = bad || !s["well_formed"].get<bool>();
      modalities.insert(s["modality"]);
    }
    malformed += bad;
  }
  CHECK(modalities.size() == 5);
  CHECK(malformed == 18);
  CHECK(files >= 25);  // every mol3d/smiles/selfies/prot_aa segment of the vectors that RDKit accepts
}

TEST_CASE("bmx extract: protein structures the tiny GCP-VQVAE decodes, named from the answer or the prompt") {
  const fs::path work = bmx::test::scratch_dir("run_extract_proteins");
  auto aa = [](const std::string& letters) {
    std::string s = "<|prot_aa_start|>";
    for (char c : letters) s += std::string("<A ") + c + ">";
    return s + "<|prot_aa_end|>";
  };
  auto p3d = [](const std::vector<int>& codes) {
    std::string s = "<|prot_3d_start|>";
    for (int c : codes) s += "<S " + std::to_string(c) + ">";
    return s + "<|prot_3d_end|>";
  };
  const std::vector<int> six = {5, 17, 300, 42, 511, 0}, four = {1, 2, 3, 4};
  // cogen: the sequence names the structure; a second structure of another length gets UNK; fold: the prompt.
  const json cogen = {{"id", "cogen"}, {"prompt", "Generate a protein sequence together with its 3D structure."},
                      {"answer", "<think>\n\n</think>\n\n" + aa("MKTAYW") + "\n" + p3d(six) + " and " + p3d(four) + "<|im_end|>"}};
  const json fold = {{"id", "fold"}, {"prompt", "Given a protein amino acid sequence, predict its 3D structure.\n" + aa("GAVLIP")},
                     {"answer", p3d(six)}};
  for (const json& rec : {cogen, fold}) {
    INFO(rec["id"].get<std::string>());
    const fs::path dir = work / rec["id"].get<std::string>();
    fs::create_directories(dir);
    write_file(dir / "answer.txt", rec["answer"].get<std::string>());
    const fs::path out = dir / "out";
    const auto r = run_bmx("extract " + quote(dir / "answer.txt") + " -o " + quote(out) + " --prompt " +
                       quote(rec["prompt"].get<std::string>()) + " --gcp-vqvae " + bmx::test::tiny_gcp());
    INFO(r.err);
    CHECK(r.status == 0);
    const json summary = bmx::test::read_json(out / "summary.json");
    const json& segs = summary["segments"];
    const std::string want = rec["id"] == "cogen" ? "MKTAYW" : "GAVLIP";
    const json& s = segs[rec["id"] == "cogen" ? 1 : 0];
    CHECK(s["residue_names"] == (rec["id"] == "cogen" ? "answer segment 1" : "prompt"));
    for (const char* ext : {".pdb", ".cif"}) {
      const auto names = bmx::test::residue_names(out / (s["files"][0].get<std::string>().substr(0, 12) + ext));
      REQUIRE(names.size() == 6);
      for (std::size_t k = 0; k < 6; ++k) CHECK(names[k] == bmx::test::three_letter(want[k]));
    }
    if (rec["id"] == "cogen") {
      CHECK(segs[2]["residue_names"].get<std::string>().find("unknown") == 0);
      const auto names = bmx::test::residue_names(out / "seg03_prot3d.pdb");
      CHECK(names == std::vector<std::string>(4, "UNK"));
      CHECK(segs.size() == 3);
      CHECK(summary["valid"] == true);
    }
  }
}

TEST_CASE("bmx extract: 2D only, stdin, bad segments, no model, and never over an input file") {
  const fs::path work = bmx::test::scratch_dir("run_extract_misc");
  // --no-3d: SMILES and SELFIES as 2D depictions (no hydrogens added, no refinement); the answer from stdin.
  const std::string answer = "<|mol_smi_start|>CCO<|mol_smi_end|> <|mol_sfi_start|>[C][=O]<|mol_sfi_end|>";
  write_file(work / "a.txt", answer);
  auto r = run_bmx("extract - -o " + quote(work / "flat") + " --no-3d < " + quote(work / "a.txt"));
  INFO(r.err);
  CHECK(r.status == 0);
  CHECK(bmx::test::sdf_atom_counts(work / "flat" / "seg01_smiles.sdf") == std::vector<unsigned>{3});
  CHECK(bmx::test::sdf_atom_counts(work / "flat" / "seg02_selfies.sdf") == std::vector<unsigned>{2});
  const json flat = bmx::test::read_json(work / "flat" / "summary.json");
  CHECK(flat["segments"][0]["refinement"].get<std::string>().find("not refined") == 0);
  // The depiction says it is 2D (the molblock's program line), so no reader takes it for a conformer.
  const auto program_line = [](const fs::path& p) {
    std::istringstream in(bmx::test::read_file(p));
    std::string title, line;
    std::getline(in, title);
    std::getline(in, line);
    return line;
  };
  CHECK(program_line(work / "flat" / "seg01_smiles.sdf").find("2D") != std::string::npos);
  // Without --no-3d the same answer has hydrogens and an MMFF94-refined conformer.
  r = run_bmx("extract " + quote(work / "a.txt") + " -o " + quote(work / "full"));
  CHECK(r.status == 0);
  CHECK(bmx::test::sdf_atom_counts(work / "full" / "seg01_smiles.sdf") == std::vector<unsigned>{9});
  CHECK(bmx::test::sdf_atom_counts(work / "full" / "seg02_selfies.sdf") == std::vector<unsigned>{4});
  CHECK(program_line(work / "full" / "seg01_smiles.sdf").find("3D") != std::string::npos);

  // A prot3d segment without any GCP-VQVAE model: listed with the reason, the molecule still written.
  write_file(work / "p.txt", "<|prot_3d_start|><S 1><S 2><|prot_3d_end|><|mol_smi_start|>C<|mol_smi_end|>");
  r = run_bmx("extract " + quote(work / "p.txt") + " -o " + quote(work / "nomodel") + " --gcp-vqvae " +
          quote(work / "missing_model"));
  CHECK(r.status == 1);
  const json nm = bmx::test::read_json(work / "nomodel" / "summary.json");
  CHECK(nm["segments"][0]["files"].empty());
  CHECK(nm["segments"][0]["error"].get<std::string>().find("missing_model") != std::string::npos);
  CHECK(nm["segments"][1]["files"].size() == 1);
  CHECK(r.err.find("segment 1 (prot3d)") != std::string::npos);

  // Bytes that are not UTF-8 around a segment: the summary is still written (U+FFFD), the molecule too.
  write_file(work / "bin.txt", std::string("\xff\xfe<|mol_smi_start|>CO<|mol_smi_end|>\x80", 37));
  r = run_bmx("extract " + quote(work / "bin.txt") + " -o " + quote(work / "bin"));
  INFO(r.err);
  CHECK(r.status == 0);
  CHECK(bmx::test::read_json(work / "bin" / "summary.json")["segments"][0]["files"].size() == 1);

  // A 3D segment whose SELFIES needs more atoms than it has codes: no file, the problem named.
  write_file(work / "m.txt", "<|mol_3d_start|>[C 3][C -1]<|mol_3d_end|>");
  r = run_bmx("extract " + quote(work / "m.txt") + " -o " + quote(work / "mismatch"));
  CHECK(r.status == 1);
  const json mm = bmx::test::read_json(work / "mismatch" / "summary.json");
  CHECK(mm["segments"][0]["files"].empty());
  CHECK(!mm["segments"][0]["error"].get<std::string>().empty());
  CHECK(mm["decodable"] == false);

  // The answer file lies where the summary would go: refused, the file untouched.
  fs::create_directories(work / "clash");
  write_file(work / "clash" / "summary.json", answer);
  r = run_bmx("extract " + quote(work / "clash" / "summary.json") + " -o " + quote(work / "clash"));
  CHECK(r.status != 0);
  CHECK(r.err_lines() == 1);
  CHECK(r.err.find("input file") != std::string::npos);
  CHECK(bmx::test::read_file(work / "clash" / "summary.json") == answer);

  // A missing answer file: one line.
  r = run_bmx("extract " + quote(work / "nothing.txt") + " -o " + quote(work / "x"));
  CHECK(r.status != 0);
  CHECK(r.err_lines() == 1);
}

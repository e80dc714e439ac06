// Helpers of the bmx run / extract end-to-end tests: the bmx executable with stderr kept apart, tiny random
// decoder models made once per test run, and structure files read back by RDKit and gemmi.
#pragma once
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace bmx::test {

struct BmxRun {
  int status = -1;
  std::string out, err;
  int err_lines() const;  // non-empty stderr lines
};

// Runs `bmx <args>` (args are passed to the shell as written).
BmxRun run_bmx(const std::string& args);
std::string quote(const std::filesystem::path& p);

// A tiny random Qwen3 model with the BioMatrix stand-in tokenizer (or the plain Qwen3 one), made on first use.
std::filesystem::path tiny_biomatrix_model();
std::filesystem::path tiny_qwen3_model();
// The tiny GCP-VQVAE (codebook 512) of shared/vectors/gcp.
std::string tiny_gcp();

nlohmann::json read_json(const std::filesystem::path& p);

// Atom count of every record of an SD file read by RDKit (sanitized, H kept); a record RDKit refuses fails.
std::vector<unsigned> sdf_atom_counts(const std::filesystem::path& p);
// Residue names of the first chain of a PDB or mmCIF file read by gemmi.
std::vector<std::string> residue_names(const std::filesystem::path& p);
// Atoms with explicit hydrogens of the molecule a SMILES spells (RDKit, sanitized); 0 when RDKit refuses it.
unsigned atoms_with_h(const std::string& smiles);
// "ALA" for 'A' ... as the bmx writers name residues (X and unknown letters: UNK).
std::string three_letter(char one);

}  // namespace bmx::test

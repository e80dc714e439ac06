// Protein chains from PDB / mmCIF files (plain or .gz) through gemmi, preprocessed for GCP-VQVAE (spec §1).
// Only the first model is read. Every chain of that model is reported in file order, accepted or with the reason
// it gives no tokens; a file that cannot be read at all throws bmx::InputError naming the file.
#pragma once
#include <string>
#include <vector>

#include "bmx/prot3d/preprocess.h"
#include "bmx/prot3d/structure_format.h"

namespace bmx::prot3d {

struct ReadOptions {
  std::string chain;          // only this chain ("_" = blank chain id); empty: every chain
  StructureFormat format = StructureFormat::from_extension;
  ChainLimits limits;
};

struct ChainResult {
  std::string chain;          // chain name as in the file
  ChainStatus status = ChainStatus::ok;
  std::string message;        // why the chain gives no tokens (empty when ok); also notes for accepted chains
  std::vector<std::string> notes;  // accepted chains: things worth saying (HETATM amino acids, imputed residues)
  BackboneChain backbone;     // filled when status is ok
  // Accepted chains: HETATM amino acids before the first / after the last residue of the graph (e.g. an
  // N-terminal MSE). They get no token and no graph position, but belong to the chain: records list them.
  std::vector<std::pair<ResidueId, std::string>> het_before, het_after;
};

struct StructureChains {
  std::string path;
  std::string id;             // file name without folders, .gz and extension
  int n_models = 0;           // models in the file (only the first is used)
  std::vector<ChainResult> chains;
  int n_ok() const;
};

// Throws InputError: unreadable or empty file, a parse error, no model, no atoms, BinaryCIF, an unknown --chain.
StructureChains read_protein_chains(const std::string& path, const ReadOptions& options = {});

// The structure id used in outputs: "dir/1abc.cif.gz" -> "1abc".
std::string structure_id(const std::string& path);

}  // namespace bmx::prot3d

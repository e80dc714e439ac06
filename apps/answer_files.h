// One answer of the model to files (bmx extract, bmx generate --extract, bmx run): every segment the parser finds
// (tokenizers/segments.h) decoded with the structure tokenizers and written as SDF (mol3d, smiles, selfies), PDB +
// mmCIF (prot3d) or FASTA (prot_aa), and a summary that accounts for every segment: its parse, the files, the
// validity checks and refinement, or why it gave no file. Nothing is dropped silently.
#pragma once
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bmx/tokenizers/modality.h"
#include "protein_model.h"

namespace bmx::mol3d {
class MolStrucTok;
}
namespace bmx::prot3d {
class GcpVqvae;
}

namespace bmx::app {

// The structure tokenizers, each loaded the first time a segment needs it: an answer without proteins needs no
// GCP-VQVAE model. `gcp_dir` finds the model directory (throws UnsupportedError when there is none); `load_gcp`
// loads it (bmx extract: through bmx_torch.so, torch_part.h; the default links libtorch).
class StructureDecoders {
 public:
  StructureDecoders(std::string molstructok_checkpoint, std::function<std::string()> gcp_dir,
                    ProteinModelLoader load_gcp = load_protein_model);
  ~StructureDecoders();
  const mol3d::MolStrucTok& molstructok();
  const ProteinModel& protein_model();
  const prot3d::GcpVqvae& gcp_vqvae() { return *protein_model().gcp; }

 private:
  std::string molstructok_checkpoint_;
  std::function<std::string()> gcp_dir_;
  ProteinModelLoader load_gcp_;
  std::unique_ptr<mol3d::MolStrucTok> molstructok_;
  std::optional<ProteinModel> gcp_;
};

struct ExtractSettings {
  bool no_3d = false;                      // smiles/selfies: 2D depiction only (no ETKDG, no MMFF94)
  std::vector<std::string> inputs;         // files that must never be overwritten (the answer, the prompt, ...)
  std::vector<Modality> required;          // a task's outputs: the answer is decodable only with each of them
  std::optional<int> expected_length;      // fold / inverse-fold: tokens of the required segment
};

struct AnswerOutcome {
  nlohmann::ordered_json summary;  // answer, stray_markers, segments (one object each), counts and verdicts
  int segments = 0, written = 0;
  std::vector<std::string> failures;  // "segment 2 (prot3d): unclosed", one per segment that gave no file
  bool decodable = false;             // every segment gave its files and every required output is there
  bool valid = false;                 // decodable and every validity check passed
  std::optional<bool> length_match;   // with expected_length: the required segment has that many tokens
};

// Writes the files of `answer` into `outdir` (created) as segNN_<modality>.<ext>; `prompt` (the user turn) names
// the residues of a prot3d segment when no prot_aa segment of the answer has its length.
AnswerOutcome extract_answer(const std::string& answer, const std::string& prompt, const std::string& outdir,
                             StructureDecoders& decoders, const ExtractSettings& settings);

// extract_answer, then OUTDIR/summary.json (the prompt and the outcome's summary), one stderr line per segment
// that gave no file and a count. Returns the exit status: 1 when a segment gave no file.
int extract_to_folder(const std::string& command, const std::string& answer, const std::string& prompt,
                      const std::string& outdir, StructureDecoders& decoders, const ExtractSettings& settings);

// Writes JSON (2-space indented) to `path`; refuses to overwrite one of `inputs`.
void write_json_file(const std::string& path, const nlohmann::ordered_json& j, const std::vector<std::string>& inputs);

// Creates `dir` (and its parents); InputError naming it when it is a file or cannot be made.
void make_output_folder(const std::string& dir);

// Throws InputError when `path` is one of `inputs` (the same file, whatever the spelling).
void refuse_overwriting_input(const std::string& path, const std::vector<std::string>& inputs);

}  // namespace bmx::app

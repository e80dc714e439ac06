// BioMatrix task presets as data (specs/biomatrix_format.md §4-5): what each of the model's main uses takes as
// input, the instruction it was trained with (the published wording where there is one, §5.7's otherwise), what
// the answer must contain, and how to sample it. The user turn is built the way the SFT data was
// (LLaMA-Factory): instruction + "\n" + input, one user turn, no system message; molecules and proteins in the
// input are wrapped in their control tokens. Structure files are tokenized by the caller (mol3d/prot3d) and come
// here as codes, so this file knows text only.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bmx/tokenizers/modality.h"
#include "bmx/tokenizers/modality_constraint.h"

namespace bmx {

class Tokenizer;

// The BioMatrix control tokens (<|mol_3d_start|>, ...) that `tokenizer` lacks: wrapping an input or reading an
// answer needs all ten as single tokens. Empty for a BioMatrix tokenizer; all ten for plain Qwen3.
std::vector<std::string> missing_control_tokens(const Tokenizer& tokenizer);

enum class InputKind {
  protein_sequence,   // residue letters (raw, or <A X> tokens) -> prot_aa segment
  protein_structure,  // a PDB/mmCIF chain tokenized by GCP-VQVAE -> prot3d segment (+ prot_aa where asked)
  smiles,             // -> smiles segment
  selfies,            // -> selfies segment
  molecule_3d,        // an SDF/MOL molecule tokenized by MolStrucTok -> mol3d segment
  text,               // free text, never wrapped (a description, an IUPAC name, a question)
  property,           // a QM9 target "homo=-0.2530", written into the instruction
};
const char* to_string(InputKind k);  // "protein sequence", "protein structure", "SMILES", ...

// One input a task takes: any one of `accepts`, written after `label` when there is one (PPI: "Protein A:").
struct InputSlot {
  std::vector<InputKind> accepts;
  std::string label;
  bool required = true;
  bool with_sequence = false;  // protein_structure: write the prot_aa segment before the prot3d one
};

// An input as the user gave it, already tokenized where it came from a file.
struct InputValue {
  InputKind kind = InputKind::text;
  std::string text;            // letters, SMILES, SELFIES, bare MolStrucTok tokens, free text or "key=value"
  std::vector<int> structure;  // protein_structure: GCP-VQVAE codes, one per residue
  std::string sequence;        // protein_structure: the residue letters of those codes (same length)
};

struct Sampling {
  double temperature = 0;  // 0: greedy
  double top_p = 1.0;
  bool greedy() const { return temperature <= 0; }
};

struct TaskPreset {
  std::string name;
  std::string description;     // one line for --list-tasks
  std::vector<InputSlot> inputs;
  std::vector<Modality> outputs;  // segments the answer must contain (the constraint opens and closes them)
  std::string instruction;     // "{notation}" is replaced by SMILES/SELFIES after the molecule input's kind
  Sampling sampling;           // greedy for deterministic tasks, nucleus sampling for diversity tasks (report §5)
  // The required segment's exact length is the number of residues of the first protein input
  // (fold: one <S n> per residue; inverse-fold: one <A X> per structure token).
  bool length_from_input = false;
};

const std::vector<TaskPreset>& task_presets();
// The sampling of a run: the preset's, except that several samples of a greedy task are drawn at temperature 1,
// top-p 1 (greedy rows would all be equal; the report samples folding and inverse folding at an "elevated"
// temperature and keeps the samples whose length matches).
Sampling default_sampling(const TaskPreset& task, int samples);
// Throws InputError naming the unknown task and listing the known ones.
const TaskPreset& find_task(std::string_view name);

// The six QM9 targets of conditional 3D generation (report Table 17): key as in the prompt, wording, unit.
struct Qm9Property {
  std::string key;    // "homo"
  std::string label;  // "HOMO energy"
  std::string unit;   // "Hartree"
};
const std::vector<Qm9Property>& qm9_properties();

// Residue letters out of raw text ("mkt..."), <A X> tokens or a wrapped prot_aa segment, upper-cased; spaces
// and newlines ignored. Throws InputError naming `where`, the character and its position (1-based) when
// something is not one of the 26 residue letters.
std::string parse_protein_sequence(std::string_view text, const std::string& where);

// One input of a list (bmx run -i FILE): FASTA records for protein sequences (id = the first word of the
// header), else one value per non-blank line (id "line<N>").
struct ListRecord {
  std::string id;
  std::string text;
  int line = 0;  // where the record starts in the file (1-based)
};
// Throws InputError naming `where` when the file holds no record, or FASTA text comes before the first '>'.
std::vector<ListRecord> parse_input_list(std::string_view text, InputKind kind, const std::string& where);

// The prompt of one run.
struct TaskPrompt {
  std::string user_turn;       // the one user message (to be rendered with the model's chat template)
  AnswerConstraint constraint;  // the outputs, with exact lengths where the task knows them
  std::optional<int> expected_length;  // fold / inverse-fold: the input's residue count
  std::string input_sequence;  // the first protein input's residues (names for a decoded structure), or ""
};

// Assigns `values` to the task's input slots in order (each slot takes the next value of a kind it accepts)
// and writes the user turn. `instruction` replaces the preset's wording when not empty. Throws InputError
// (one line) for a missing required input, an input the task does not take, a bad sequence letter, an
// unknown property or a value that is not a number.
TaskPrompt build_task_prompt(const TaskPreset& task, const std::vector<InputValue>& values,
                             const std::string& instruction = {});

}  // namespace bmx

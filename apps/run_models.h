// What `bmx run` loads: the decoder and its tokenizer, the modality vocabulary and the structure tokenizers. One
// `bmx run` loads what it needs for its records; a caller that runs many tasks in one process (the Python module's
// bmx.Model.run) keeps a RunModels and hands it to every run, so that each model is loaded once.
#pragma once
#include <CLI/CLI.hpp>

#include <map>
#include <memory>
#include <string>

namespace bmx {
struct Qwen3Model;
class Tokenizer;
class ModalityVocabulary;
}  // namespace bmx

namespace bmx::app {

class StructureDecoders;

struct RunModels {
  RunModels();
  ~RunModels();
  // The caller's decoder and tokenizer of `model_dir`, loaded without --weights: a run of that folder without
  // --weights uses them instead of loading its own. Either may be null (then the run loads it).
  std::string model_dir;
  const Qwen3Model* decoder = nullptr;
  const Tokenizer* tokenizer = nullptr;
  // Made by the first run that needs them, kept for the next: the vocabulary's analysis (with the caller's
  // decoder and tokenizer), and the structure tokenizers, each loaded when first used, one set per
  // combination of --molstructok, --gcp-vqvae and -m that runs name.
  std::shared_ptr<const ModalityVocabulary> vocabulary;
  std::map<std::string, std::unique_ptr<StructureDecoders>> structures;
};

// `bmx run` as a subcommand of `app` (commands.h's add_run_commands is this with no RunModels); `keep` (may be
// null) outlives every parse of `app`.
void add_run_commands(CLI::App& app, RunModels* keep);

}  // namespace bmx::app

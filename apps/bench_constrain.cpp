// bmx bench constrain: how many answers of a model decode to structure files with and without the modality
// constraint, and what the constraint's mask costs per token beside a decode step of the same model.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "answer_files.h"
#include "bmx/core/util/error.h"
#include "bmx/core/llm/generation.h"
#include "bmx/core/llm/qwen3.h"
#include "bmx/prot3d/gcp_vqvae.h"
#include "bmx/tokenizers/bpe_tokenizer.h"
#include "bmx/tokenizers/modality_constraint.h"
#include "bmx/tokenizers/tasks.h"
#include "bmx/tokenizers/text_generation.h"
#include "commands.h"
#include "llm_common.h"
#include "measure.h"
#include "structure_models.h"

namespace bmx::app {
namespace {

namespace fs = std::filesystem;
using ordered_json = nlohmann::ordered_json;

struct ConstrainBenchOptions {
  std::string model, speed_model, gcp, scratch;
  std::vector<std::string> tasks = {"fold", "inverse-fold", "backbone", "cogen", "mol3d", "mol-uncond"};
  int samples = 8, speed_tokens = 16, threads = 0;
  int64_t max_new_tokens = 96;
  uint64_t seed = 1;
  bool json = false;
};

// Counts the time a rule spends deciding, around the real rule.
class TimedConstraint final : public TokenConstraint {
 public:
  TimedConstraint(std::unique_ptr<TokenConstraint> inner, double* seconds) : inner_(std::move(inner)), seconds_(seconds) {}
  void mask(std::vector<float>& scores, int64_t remaining) override {
    const auto t0 = std::chrono::steady_clock::now();
    inner_->mask(scores, remaining);
    *seconds_ += seconds_since(t0);
  }
  void accept(TokenId id) override {
    const auto t0 = std::chrono::steady_clock::now();
    inner_->accept(id);
    *seconds_ += seconds_since(t0);
  }

 private:
  std::unique_ptr<TokenConstraint> inner_;
  double* seconds_;
};

// A fixed input per task: Trp-cage (20 residues) for the protein tasks, its structure as stand-in codes.
std::vector<InputValue> bench_inputs(const TaskPreset& task, int codebook) {
  const std::string trp_cage = "NLYIQWLKDGGPSSGRPPPS";
  std::vector<InputValue> values;
  for (const InputSlot& slot : task.inputs) {
    if (!slot.required) continue;
    InputValue v;
    v.kind = slot.accepts.front();
    if (v.kind == InputKind::protein_structure) {
      v.sequence = trp_cage;
      for (size_t k = 0; k < trp_cage.size(); ++k) v.structure.push_back(int((k * 131 + 17) % size_t(codebook)));
    } else if (v.kind == InputKind::protein_sequence) {
      v.text = trp_cage;
    } else if (v.kind == InputKind::smiles) {
      v.text = "CC(=O)Oc1ccccc1C(=O)O";
    } else if (v.kind == InputKind::selfies) {
      v.text = "[C][C][=Branch1][C][=O][O]";
    } else {
      v.text = "A small aromatic molecule.";
    }
    values.push_back(v);
  }
  return values;
}

struct Prepared {
  std::vector<TokenId> ids;
  TaskPrompt prompt;
  GenerationOptions options;
};

Prepared prepare(const Qwen3Model& model, const Tokenizer& tok, const TaskPreset& task, const ConstrainBenchOptions& o,
                 int codebook) {
  Prepared p;
  p.prompt = build_task_prompt(task, bench_inputs(task, codebook));
  auto messages = ordered_json::array();
  messages.push_back(message("user", p.prompt.user_turn));
  p.ids = tok.encode(render(tok, messages, false));
  p.options = text_generation_options(model, tok);
  const Sampling s = default_sampling(task, o.samples);
  p.options.sampling.temperature = s.greedy() ? 1.0 : s.temperature;  // rows must differ to count anything
  p.options.sampling.top_p = s.top_p;
  p.options.sampling.top_k = 0;
  p.options.sampling.min_p.reset();
  p.options.max_new_tokens = std::max<int64_t>(o.max_new_tokens, p.prompt.expected_length.value_or(0) + 8);
  p.options.seed = o.seed;
  p.prompt.constraint.structure_codebook = codebook;
  return p;
}

struct TaskFigures {
  std::string task;
  int decodable_free = 0, decodable_constrained = 0, samples = 0;
  double seconds_free = 0, seconds_constrained = 0;
};

TaskFigures measure_task(const Qwen3Model& model, const Tokenizer& tok, std::shared_ptr<const ModalityVocabulary> vocab,
                         StructureDecoders& decoders, const TaskPreset& task, const ConstrainBenchOptions& o,
                         int codebook) {
  TaskFigures f;
  f.task = task.name;
  f.samples = o.samples;
  Prepared p = prepare(model, tok, task, o, codebook);
  ExtractSettings settings;
  settings.required = task.outputs;
  settings.expected_length = p.prompt.expected_length;
  for (int constrained = 0; constrained < 2; ++constrained) {
    GenerationOptions g = p.options;
    if (constrained) {
      const AnswerConstraint a = p.prompt.constraint;
      g.constraint = [vocab, a](size_t) { return make_modality_constraint(vocab, a); };
    }
    const auto t0 = std::chrono::steady_clock::now();
    const auto gens = generate(model, std::vector<std::vector<TokenId>>(size_t(o.samples), p.ids), g);
    (constrained ? f.seconds_constrained : f.seconds_free) = seconds_since(t0);
    int& decodable = constrained ? f.decodable_constrained : f.decodable_free;
    for (size_t i = 0; i < gens.size(); ++i) {
      const fs::path dir = fs::path(o.scratch) / task.name / (constrained ? "constrained" : "free") / std::to_string(i);
      fs::remove_all(dir);
      const AnswerOutcome out = extract_answer(tok.decode(gens[i].ids), p.prompt.user_turn, dir.string(), decoders, settings);
      decodable += out.decodable && out.length_match.value_or(true);
    }
  }
  return f;
}

struct MaskCost {
  double free_s_per_token = 0, constrained_s_per_token = 0, mask_s_per_token = 0;
  int64_t tokens = 0;
};

// Greedy mol3d answers, the segment opened at once (no lead-in), so every step runs the in-segment mask: the
// costly case. Alternates free and constrained runs twice and keeps each one's best.
MaskCost measure_mask_cost(const std::string& dir, const ConstrainBenchOptions& o) {
  const Qwen3Model model = load_qwen3(dir);
  const auto tok = load_tokenizer(dir, "bench constrain needs the tokenizer");
  const auto vocab = analyse_vocabulary(*tok, eos_token_ids(model, *tok));
  ConstrainBenchOptions greedy = o;
  greedy.samples = 1;
  Prepared p = prepare(model, *tok, find_task("mol3d"), greedy, kProt3dCodebookSize);
  p.options.sampling.temperature = 0;
  p.options.max_new_tokens = o.speed_tokens;
  p.options.eos_token_ids.clear();  // always the same number of tokens
  AnswerConstraint a = p.prompt.constraint;
  a.max_lead_in = 0;
  MaskCost c;
  c.free_s_per_token = c.constrained_s_per_token = c.mask_s_per_token = 1e30;
  for (int round = 0; round < 4; ++round) {
    const bool constrained = round % 2 == 1;
    GenerationOptions g = p.options;
    double mask_s = 0;
    if (constrained)
      g.constraint = [&](size_t) { return std::make_unique<TimedConstraint>(make_modality_constraint(vocab, a), &mask_s); };
    const auto t0 = std::chrono::steady_clock::now();
    const auto gens = generate(model, {p.ids}, g);
    const double per = seconds_since(t0) / double(gens[0].ids.size());
    c.tokens = int64_t(gens[0].ids.size());
    if (constrained) {
      c.constrained_s_per_token = std::min(c.constrained_s_per_token, per);
      c.mask_s_per_token = std::min(c.mask_s_per_token, mask_s / double(gens[0].ids.size()));
    } else {
      c.free_s_per_token = std::min(c.free_s_per_token, per);
    }
  }
  return c;
}

void run_bench(const ConstrainBenchOptions& o) {
  set_llm_threads(o.threads);
  const Qwen3Model model = load_qwen3(o.model);
  const auto tok = load_tokenizer(o.model, "bench constrain needs the tokenizer");
  const auto vocab = analyse_vocabulary(*tok, eos_token_ids(model, *tok));
  StructureDecoders decoders(molstructok_checkpoint("", o.model), [&] { return gcp_vqvae_dir(o.gcp, o.model); });
  const int codebook = decoders.gcp_vqvae().codebook_size();
  std::vector<TaskFigures> figures;
  for (const std::string& name : o.tasks) {
    figures.push_back(measure_task(model, *tok, vocab, decoders, find_task(name), o, codebook));
    const TaskFigures& f = figures.back();
    if (!o.json)
      std::fprintf(stderr, "bmx bench constrain: %s done (%.1f s)\n", f.task.c_str(), f.seconds_free + f.seconds_constrained);
  }
  std::optional<MaskCost> cost;
  if (!o.speed_model.empty()) cost = measure_mask_cost(o.speed_model, o);

  if (o.json) {
    ordered_json j;
    j["model"] = o.model;
    j["samples"] = o.samples;
    j["max_new_tokens"] = o.max_new_tokens;
    j["tasks"] = ordered_json::array();
    for (const TaskFigures& f : figures)
      j["tasks"].push_back({{"task", f.task}, {"samples", f.samples}, {"decodable_unconstrained", f.decodable_free},
                            {"decodable_constrained", f.decodable_constrained}, {"seconds_unconstrained", f.seconds_free},
                            {"seconds_constrained", f.seconds_constrained}});
    if (cost)
      j["mask_cost"] = {{"model", o.speed_model}, {"tokens", cost->tokens},
                        {"decode_s_per_token_unconstrained", cost->free_s_per_token},
                        {"decode_s_per_token_constrained", cost->constrained_s_per_token},
                        {"mask_s_per_token", cost->mask_s_per_token},
                        {"mask_share", cost->mask_s_per_token / cost->free_s_per_token}};
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf("decodable answers, %d samples per task (temperature from the task preset, 1 where it is greedy), -n %lld\n",
              o.samples, (long long)o.max_new_tokens);
  std::printf("%-14s %14s %14s\n", "task", "unconstrained", "constrained");
  for (const TaskFigures& f : figures)
    std::printf("%-14s %8d/%-5d %8d/%-5d\n", f.task.c_str(), f.decodable_free, f.samples, f.decodable_constrained,
                f.samples);
  if (cost) {
    std::printf("\nmask cost on %s (greedy mol3d, %lld tokens, all inside the segment; best of 2 runs each)\n",
                o.speed_model.c_str(), (long long)cost->tokens);
    std::printf("  decode, unconstrained  %9.2f ms/token\n", 1e3 * cost->free_s_per_token);
    std::printf("  decode, constrained    %9.2f ms/token\n", 1e3 * cost->constrained_s_per_token);
    std::printf("  mask alone             %9.3f ms/token = %.2f %% of an unconstrained decode step (target < 5 %%)\n",
                1e3 * cost->mask_s_per_token, 100.0 * cost->mask_s_per_token / cost->free_s_per_token);
  }
}

}  // namespace

void add_constrain_bench(CLI::App& bench) {
  auto o = std::make_shared<ConstrainBenchOptions>();
  auto* c = bench.add_subcommand("constrain", "Decodable answers with and without the modality constraint, and the mask's cost");
  c->add_option("-m,--model", o->model, "Model folder with a BioMatrix tokenizer (e.g. bmx dev random-model --like tiny "
                                        "--tokenizer shared/models/tokenizers/biomatrix)")
      ->required();
  c->add_option("--gcp-vqvae", o->gcp, kGcpVqvaeHelp);
  c->add_option("--speed-model", o->speed_model, "Model folder of the shape to time the mask on (e.g. --like qwen3-4b)");
  c->add_option("--tasks", o->tasks, "Tasks to draw answers for")->delimiter(',');
  c->add_option("--samples", o->samples, "Answers per task and setting")->check(CLI::Range(1, 256));
  c->add_option("-n,--max-new-tokens", o->max_new_tokens, "Token budget of each answer (cut answers count as they decode)")
      ->check(CLI::Range(4, 100000));
  c->add_option("--speed-tokens", o->speed_tokens, "Tokens per timed run on --speed-model")->check(CLI::Range(2, 4096));
  c->add_option("-s,--seed", o->seed, "Sampling seed");
  add_threads_flag(c, o->threads);
  c->add_option("--scratch", o->scratch, "Folder for the decoded files (default: a temporary folder)");
  c->add_flag("--json", o->json, "One JSON object with the same figures");
  c->callback([o] {
    check_model_folder(o->model);
    if (!o->speed_model.empty()) check_model_folder(o->speed_model);
    if (o->scratch.empty()) o->scratch = (fs::temp_directory_path() / ("bmx-bench-constrain-" + std::to_string(::getpid()))).string();
    run_bench(*o);
  });
}

}  // namespace bmx::app

// bmx run: one of BioMatrix's main uses as one command. The task preset (tokenizers/tasks.h) writes the prompt,
// file inputs are tokenized with mol3d/prot3d, the answer is generated under the modality constraint and its
// segments become files (answer_files.h). --samples N draws N answers as one batch and ranks them; -i FILE runs
// every record of a list.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <numeric>

#include "answer_files.h"
#include "bmx/core/util/error.h"
#include "bmx/core/util/math_threads.h"
#include "bmx/core/util/progress.h"
#include "bmx/core/llm/qwen3.h"
#include "bmx/core/io/read_file.h"
#include "bmx/mol3d/molecule_io.h"
#include "bmx/mol3d/molstructok.h"
#include "bmx/prot3d/gcp_vqvae.h"
#include "bmx/prot3d/structure_reader.h"
#include "bmx/tokenizers/bpe_tokenizer.h"
#include "bmx/tokenizers/modality_constraint.h"
#include "bmx/tokenizers/tasks.h"
#include "bmx/tokenizers/text_generation.h"
#include "commands.h"
#include "llm_common.h"
#include "run_models.h"
#include "structure_models.h"
#include "task_inputs.h"

namespace bmx::app {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

struct RunArgs : LlmOptions {
  std::string task, out, instruction, list, chain, gcp_vqvae, molstructok, smiles, selfies, text, property;
  std::vector<std::string> sequences, structures, molecules;
  int samples = 1;
  bool list_tasks = false, no_3d = false;
};

bool outputs(const TaskPreset& t, Modality m) { return std::find(t.outputs.begin(), t.outputs.end(), m) != t.outputs.end(); }

std::string sampling_text(const Sampling& s) {
  if (s.greedy()) return "greedy";
  char buf[64];
  std::snprintf(buf, sizeof buf, "temperature %.2g, top-p %.2g", s.temperature, s.top_p);
  return buf;
}

void list_tasks() {
  for (const TaskPreset& t : task_presets()) {
    std::string in, out;
    for (const InputSlot& s : t.inputs) {
      std::string kinds;
      for (InputKind k : s.accepts) kinds += (kinds.empty() ? "" : "|") + std::string(to_string(k));
      in += (in.empty() ? "" : ", ") + (s.label.empty() ? "" : s.label + " ") + kinds + (s.required ? "" : " (optional)");
    }
    for (Modality m : t.outputs) out += (out.empty() ? "" : " + ") + std::string(to_string(m));
    std::printf("%-13s %s\n", t.name.c_str(), t.description.c_str());
    const std::string several =
        t.sampling.greedy() ? " (--samples N > 1: " + sampling_text(default_sampling(t, 2)) + ")" : "";
    std::printf("%-13s   inputs: %s; output: %s; sampling: %s%s\n", "", in.empty() ? "none" : in.c_str(),
                out.empty() ? "text" : out.c_str(), sampling_text(t.sampling).c_str(), several.c_str());
    if (!t.instruction.empty()) std::printf("%-13s   instruction: %s\n", "", t.instruction.c_str());
  }
  std::printf("\nInputs: --sequence, --structure FILE (PDB/mmCIF), --smiles, --selfies, --molecule FILE (SDF/MOL, "
              "3D), --text, --property KEY=VALUE; -i FILE runs a list (FASTA for sequences, else one per line).\n"
              "QM9 properties for mol3d:");
  for (const Qm9Property& p : qm9_properties()) std::printf(" %s (%s, %s)", p.key.c_str(), p.label.c_str(), p.unit.c_str());
  std::printf("\n");
}

// Everything that stays the same over the records of a run. The models are this run's own (own_*) or those a
// RunModels keeps between runs.
struct Session {
  const RunArgs& args;
  const TaskPreset& task;
  std::vector<std::string> input_files;
  const Qwen3Model* model = nullptr;
  const Tokenizer* tok = nullptr;
  std::shared_ptr<const ModalityVocabulary> vocabulary;  // null with --no-constrain
  int structure_codebook = kProt3dCodebookSize;            // <S n> codes the GCP-VQVAE in use can decode
  StructureDecoders* decoders = nullptr;
  std::vector<InputValue> fixed;                          // inputs given by flags
  Qwen3Model own_model;
  std::unique_ptr<Tokenizer> own_tok;
  std::unique_ptr<StructureDecoders> own_decoders;
};

ordered_json sampling_json(const GenerationOptions& g) {
  ordered_json j;
  j["temperature"] = g.sampling.temperature;
  j["top_p"] = g.sampling.top_p;
  j["top_k"] = g.sampling.top_k;
  j["max_new_tokens"] = g.max_new_tokens;
  j["seed"] = g.seed;
  return j;
}

struct SampleOutcome {
  std::string folder;
  AnswerOutcome answer;
  std::optional<double> mean_logprob;
  std::size_t tokens = 0;
  std::string finish;
};

// Length match (fold/inverse-fold), decodable, valid, then the model's own confidence.
bool better(const SampleOutcome& a, const SampleOutcome& b) {
  const auto key = [](const SampleOutcome& s) {
    return std::make_tuple(s.answer.length_match.value_or(false), s.answer.decodable, s.answer.valid,
                           s.mean_logprob.value_or(-std::numeric_limits<double>::infinity()));
  };
  return key(a) > key(b);
}

// One prompt through the model (N samples as one batch) and every answer into files. Returns whether some
// sample is decodable.
bool run_one(Session& s, const std::vector<InputValue>& values, const std::string& outdir) {
  const RunArgs& a = s.args;
  const TaskPrompt prompt = build_task_prompt(s.task, values, a.instruction);
  auto messages = ordered_json::array();
  messages.push_back(message("user", prompt.user_turn));
  const std::vector<TokenId> ids = s.tok->encode(render(*s.tok, messages, false));

  GenerationOptions g = text_generation_options(*s.model, *s.tok);
  const Sampling sampling = default_sampling(s.task, a.samples);
  g.sampling.temperature = sampling.temperature;
  g.sampling.top_p = sampling.top_p;
  g.sampling.top_k = 0;
  g.sampling.min_p.reset();
  if (s.model->generation.max_new_tokens <= 0) g.max_new_tokens = 2048;  // the card's max_new_tokens
  if (prompt.expected_length) g.max_new_tokens = std::max<int64_t>(g.max_new_tokens, *prompt.expected_length + 64);
  apply_sampling_flags(g, *s.model, a);
  apply_stop_strings(g, *s.model, s.tok, a);
  check_prompt_fits(ids.size(), g, *s.model);
  if (prompt.expected_length && !a.no_constrain && g.max_new_tokens < *prompt.expected_length + 2)
    throw InputError("-n " + std::to_string(g.max_new_tokens) + " is too small for an answer of " +
                     std::to_string(*prompt.expected_length) + " residues (needs at least " +
                     std::to_string(*prompt.expected_length + 2) + ")");
  if (s.vocabulary) {
    const auto vocabulary = s.vocabulary;
    AnswerConstraint constraint = prompt.constraint;
    constraint.structure_codebook = s.structure_codebook;
    g.constraint = [vocabulary, constraint](size_t) { return make_modality_constraint(vocabulary, constraint); };
  }
  const std::vector<Generation> gens =
      generate(*s.model, std::vector<std::vector<TokenId>>(static_cast<std::size_t>(a.samples), ids), g);

  ExtractSettings settings;
  settings.no_3d = a.no_3d;
  settings.inputs = s.input_files;
  settings.required = s.task.outputs;
  settings.expected_length = prompt.expected_length;
  ordered_json run;
  run["task"] = s.task.name;
  run["model"] = a.model;
  run["prompt"] = prompt.user_turn;
  run["prompt_tokens"] = ids.size();
  run["constrained"] = !a.no_constrain;
  run["sampling"] = sampling_json(g);
  if (prompt.expected_length) run["expected_length"] = *prompt.expected_length;

  std::vector<SampleOutcome> samples(gens.size());
  for (std::size_t i = 0; i < gens.size(); ++i) {
    std::vector<TokenId> answer_ids = gens[i].ids;
    while (!answer_ids.empty() &&
           std::find(g.eos_token_ids.begin(), g.eos_token_ids.end(), answer_ids.back()) != g.eos_token_ids.end())
      answer_ids.pop_back();
    SampleOutcome& so = samples[i];
    char name[32];
    std::snprintf(name, sizeof name, "sample_%02zu", i + 1);
    so.folder = gens.size() == 1 ? outdir : (fs::path(outdir) / name).string();
    so.answer = extract_answer(s.tok->decode(answer_ids), prompt.user_turn, so.folder, *s.decoders, settings);
    so.tokens = gens[i].ids.size();
    so.finish = to_string(gens[i].finish);
    double sum = 0;
    for (float lp : gens[i].logprobs) sum += lp;
    if (!gens[i].logprobs.empty() && std::isfinite(sum)) so.mean_logprob = sum / double(gens[i].logprobs.size());
    ordered_json j = gens.size() == 1 ? run : ordered_json::object();
    j["new_tokens"] = so.tokens;
    j["finish"] = so.finish;
    j["mean_logprob"] = so.mean_logprob ? ordered_json(*so.mean_logprob) : ordered_json(nullptr);
    j.update(so.answer.summary);
    write_json_file((fs::path(so.folder) / "summary.json").string(), j, s.input_files);
    for (const std::string& f : so.answer.failures)
      if (!a.quiet) std::fprintf(stderr, "bmx run: %s: %s\n", so.folder.c_str(), f.c_str());
  }
  std::vector<std::size_t> order(samples.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return better(samples[x], samples[y]); });
  if (samples.size() > 1) {
    ordered_json ranked = ordered_json::array();
    for (std::size_t r = 0; r < order.size(); ++r) {
      const SampleOutcome& so = samples[order[r]];
      ordered_json j;
      j["rank"] = r + 1;
      j["folder"] = fs::path(so.folder).filename().string();
      j["decodable"] = so.answer.decodable;
      j["valid"] = so.answer.valid;
      j["length_match"] = so.answer.length_match ? ordered_json(*so.answer.length_match) : ordered_json(nullptr);
      j["mean_logprob"] = so.mean_logprob ? ordered_json(*so.mean_logprob) : ordered_json(nullptr);
      j["new_tokens"] = so.tokens;
      j["finish"] = so.finish;
      ranked.push_back(j);
    }
    run["ranking"] = "length match (fold, inverse-fold), decodable, valid, then mean log-probability";
    run["samples"] = ranked;
    write_json_file((fs::path(outdir) / "summary.json").string(), run, s.input_files);
  }
  return samples[order[0]].answer.decodable;
}

// A folder name from a record id: letters, digits, '.', '_' and '-' kept, the rest '_'; repeats get _2, _3, ...
std::string folder_name(const std::string& id, std::map<std::string, int>& seen) {
  std::string s;
  for (char c : id) s += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-') ? c : '_';
  if (s.empty() || s == "." || s == "..") s = "record";
  const int n = ++seen[s];
  return n == 1 ? s : s + "_" + std::to_string(n);
}

// The kind of the records of -i FILE: the task's first input that can be written as text.
InputKind list_kind(const TaskPreset& t) {
  for (const InputSlot& s : t.inputs)
    for (InputKind k : s.accepts)
      if (k == InputKind::protein_sequence || k == InputKind::smiles || k == InputKind::selfies || k == InputKind::text)
        return k;
  throw InputError("task '" + t.name + "' takes no input that -i can list");
}

int run_list(Session& s) {
  const RunArgs& a = s.args;
  const InputKind kind = list_kind(s.task);
  const std::vector<ListRecord> records = parse_input_list(read_file(a.list), kind, a.list);
  std::map<std::string, int> seen;
  ordered_json summary;
  summary["task"] = s.task.name;
  summary["model"] = a.model;
  summary["input"] = a.list;
  ordered_json rows = ordered_json::array();
  int failed = 0;
  {
    Progress progress("run " + s.task.name, records.size(), "records", !a.quiet);
    for (const ListRecord& r : records) {
      const std::string folder = folder_name(r.id, seen);
      ordered_json row;
      row["id"] = r.id;
      row["line"] = r.line;
      row["folder"] = folder;
      std::vector<InputValue> values{InputValue{kind, r.text, {}, {}}};
      values.insert(values.end(), s.fixed.begin(), s.fixed.end());
      try {
        const bool ok = run_one(s, values, (fs::path(a.out) / folder).string());
        row["status"] = ok ? "ok" : "not decodable";
        if (!ok) throw InputError("no sample gave a decodable answer (see " + folder + "/summary.json)");
      } catch (const std::exception& e) {
        ++failed;
        if (!row.contains("status")) row["status"] = "failed";
        row["error"] = e.what();
        std::fprintf(stderr, "bmx run: %s:%d (%s): %s\n", a.list.c_str(), r.line, r.id.c_str(), e.what());
      }
      rows.push_back(row);
      progress.tick();
    }
  }
  summary["records"] = rows;
  write_json_file((fs::path(a.out) / "summary.json").string(), summary, s.input_files);
  if (failed || !a.quiet)
    std::fprintf(stderr, "bmx run: %zu of %zu record(s) done, %d failed; results in %s\n", records.size() - failed,
                 records.size(), failed, a.out.c_str());
  return failed ? 1 : 0;
}

int run_task(const RunArgs& a, RunModels* keep) {
  if (a.list_tasks) {
    list_tasks();
    return 0;
  }
  if (a.task.empty()) throw InputError("bmx run: --task TASK is required (bmx run --list-tasks shows them)");
  const TaskPreset& task = find_task(a.task);
  if (a.out.empty()) throw InputError("bmx run: -o OUTDIR is required");
  check_model_folder(a.model);
  if (a.samples < 1) throw InputError("bmx run: --samples must be at least 1");
  mol3d::silence_rdkit_logs();
  apply_runtime_options(a);
  set_math_threads(a.threads);

  // The structure tokenizers first: a missing GCP-VQVAE model is said before the decoder is loaded.
  std::vector<std::string> files = a.structures;
  files.insert(files.end(), a.molecules.begin(), a.molecules.end());
  if (!a.list.empty()) files.push_back(a.list);
  Session s{a, task, files, nullptr, nullptr, {}, kProt3dCodebookSize, nullptr, {}, {}, {}, {}};
  const std::string molstructok = molstructok_checkpoint(a.molstructok, a.model);
  auto structures = [&] {
    return std::make_unique<StructureDecoders>(
        molstructok, [flag = a.gcp_vqvae, model = a.model] { return gcp_vqvae_dir(flag, model); });
  };
  if (keep) {
    auto& slot = keep->structures[molstructok + '\n' + a.gcp_vqvae + '\n' + a.model];
    if (!slot) slot = structures();
    s.decoders = slot.get();
  } else {
    s.own_decoders = structures();
    s.decoders = s.own_decoders.get();
  }
  if (outputs(task, Modality::prot3d) || !a.structures.empty()) (void)s.decoders->gcp_vqvae();
  for (const std::string& f : a.sequences) s.fixed.push_back({InputKind::protein_sequence, f, {}, {}});
  for (const std::string& f : a.structures) s.fixed.push_back(structure_input(f, a.chain, s.decoders->gcp_vqvae()));
  if (!a.smiles.empty()) s.fixed.push_back({InputKind::smiles, a.smiles, {}, {}});
  if (!a.selfies.empty()) s.fixed.push_back({InputKind::selfies, a.selfies, {}, {}});
  for (const std::string& f : a.molecules) s.fixed.push_back(molecule_input(f, s.decoders->molstructok()));
  if (!a.text.empty()) s.fixed.push_back({InputKind::text, a.text, {}, {}});
  if (!a.property.empty()) s.fixed.push_back({InputKind::property, a.property, {}, {}});

  if (a.list.empty()) (void)build_task_prompt(task, s.fixed, a.instruction);  // bad input said before loading the model
  // The caller's decoder and tokenizer when they are of this folder as it loads them (no --weights).
  const bool kept = keep && keep->model_dir == a.model && a.weights.empty();
  if (kept && keep->tokenizer) {
    s.tok = keep->tokenizer;
  } else {
    s.own_tok = load_tokenizer(a.model, "bmx run needs the model's tokenizer");
    s.tok = s.own_tok.get();
  }
  if (const auto missing = missing_control_tokens(*s.tok); !missing.empty())
    throw InputError(a.model + ": the tokenizer has no BioMatrix control tokens (" + missing.front() + " and " +
                     std::to_string(missing.size() - 1) + " more missing); bmx run needs a BioMatrix model");
  if (kept && keep->decoder) {
    s.model = keep->decoder;
  } else {
    s.own_model = load_decoder(a);
    s.model = &s.own_model;
  }
  const bool keep_vocabulary = kept && keep->decoder && keep->tokenizer;
  if (!a.no_constrain) {
    if (keep_vocabulary && keep->vocabulary) {
      s.vocabulary = keep->vocabulary;
    } else {
      s.vocabulary = analyse_vocabulary(*s.tok, eos_token_ids(*s.model, *s.tok));
      if (keep_vocabulary) keep->vocabulary = s.vocabulary;
    }
    // The tiny test GCP-VQVAE has 512 codes, the vocabulary 4096: answers keep to what can be decoded.
    if (outputs(task, Modality::prot3d)) s.structure_codebook = int(s.decoders->gcp_vqvae().codebook_size());
  }
  if (!a.list.empty()) return run_list(s);
  if (!run_one(s, s.fixed, a.out)) {
    std::fprintf(stderr, "bmx run: no decodable answer (see %s/summary.json)\n", a.out.c_str());
    return 1;
  }
  if (!a.quiet) std::fprintf(stderr, "bmx run: %s done; results in %s\n", task.name.c_str(), a.out.c_str());
  return 0;
}

}  // namespace

RunModels::RunModels() = default;
RunModels::~RunModels() = default;

void add_run_commands(CLI::App& app) { add_run_commands(app, nullptr); }

void add_run_commands(CLI::App& app, RunModels* keep) {
  auto a = std::make_shared<RunArgs>();
  auto* c = app.add_subcommand("run", "One BioMatrix task end to end: prompt from a preset, generation (modality-"
                                      "constrained), answer segments to SDF / PDB + mmCIF / FASTA and summary.json");
  c->add_option("-m,--model", a->model, std::string(kModelHelp) + "; may hold molstructok/ and gcp_vqvae/");
  c->add_option("--task", a->task, "Task preset (bmx run --list-tasks)");
  c->add_flag("--list-tasks", a->list_tasks, "Print every preset with its inputs, output and default sampling");
  c->add_option("-o,--output", a->out, "Output folder (summary.json, segment files; sample_NN/ or one folder per "
                                       "record of -i)");
  c->add_option("--instruction", a->instruction, "Instruction text instead of the preset's wording");
  c->add_option("--sequence", a->sequences, "Protein sequence: letters or <A X> tokens (repeatable: ppi takes two)");
  c->add_option("--structure", a->structures, "Protein structure file (PDB/mmCIF, .gz), tokenized with GCP-VQVAE");
  c->add_option("--chain", a->chain, "Chain of --structure (default: the first protein chain)");
  c->add_option("--smiles", a->smiles, "Molecule as SMILES");
  c->add_option("--selfies", a->selfies, "Molecule as SELFIES");
  c->add_option("--molecule", a->molecules, "Molecule file with 3D coordinates (SDF/MOL/...), tokenized with MolStrucTok");
  c->add_option("--text", a->text, "Text input: a description, an IUPAC name, a question (chat)");
  c->add_option("--property", a->property, "mol3d: QM9 target KEY=VALUE (mu, alpha, homo, lumo, gap, Cv), e.g. "
                                             "homo=-0.2530 (Hartree)");
  c->add_option("-i,--input", a->list, "List of inputs, one run each: FASTA for protein sequences, else one per line; "
                                       "results in OUTDIR/<record id>/");
  c->add_option("--samples", a->samples, "Answers drawn per prompt, as one batch (ranked in summary.json)");
  c->add_flag("--no-3d", a->no_3d, "SMILES/SELFIES answers: 2D depiction only");
  c->add_option("--gcp-vqvae", a->gcp_vqvae, kGcpVqvaeHelp);
  c->add_option("--molstructok", a->molstructok, "MolStrucTok checkpoint (default: MODEL/molstructok/, else the one "
                                                 "installed with bmx)");
  c->add_flag("-q,--quiet", a->quiet, "No progress or per-sample notes on stderr (errors still)");
  add_sampling_flags(c, *a);
  c->callback([a, keep] { exit_status = run_task(*a, keep); });
}

}  // namespace bmx::app

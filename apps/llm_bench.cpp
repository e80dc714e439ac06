// bmx bench llm: prefill (pp) and decode (tg) speed of the Qwen3 runtime, peak resident memory, and decode
// speed as a fraction of the memory-bandwidth ceiling measured in the same run.
#include <ATen/ATen.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>

#include "bmx/core/nn/bandwidth.h"
#include "bmx/core/nn/kernels.h"
#include "bmx/core/llm/qwen3.h"
#include "bmx/core/io/safetensors.h"
#include "bmx/core/util/error.h"
#include "bmx/core/util/memory_info.h"
#include "bmx/core/util/thread_pool.h"
#include "bmx/tokenizers/bpe_tokenizer.h"
#include "bmx/tokenizers/modality.h"
#include "bmx/tokenizers/text_generation.h"
#include "isa_flag.h"
#include "llm_common.h"
#include "measure.h"

namespace bmx::app {
namespace {

struct BenchOptions {
  std::string model;
  int threads = 0, pp = 512, tg = 128, repetitions = 1;
  bool json = false, bf16_prefill = false, warmup = true;
  int agreement = 128;     // positions compared with the reference weights (0 = skip)
  std::vector<int> batch;  // --batch 1,4,8,16: aggregate decode rates
  std::string precision = "auto";
  std::optional<kernels::Isa> isa;  // --isa: a lower kernel level than detected
  std::string weights;    // --weights q8_0|q4_0
  FileAccess access = FileAccess::automatic;  // --mmap / --no-mmap
  std::string reference;  // --reference: BF16 model the agreement compares with
};

double peak_rss_gib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_maxrss) * 1024.0 / double(1ull << 30);
}

// The memory-read ceiling of one run: the best of every probe taken in it (the host's bandwidth drifts within
// minutes, and the best reading is what the hardware gave): a huge-page scratch buffer, the embedding matrix
// between decode windows, and all the weights before and after decoding.
struct Ceiling {
  double gbs = 0;
  // A plain read of every weight file as loaded, once each: the bandwidth of the very memory decoding streams,
  // best of the runs. On a virtual machine regions of memory differ (a 1 GiB probe here read 47-80 GB/s by where
  // it lay), so this is the figure that says how close decoding comes to its own memory's rate.
  double all_weights_gbs = 0;
  void probe_scratch() { gbs = std::max(gbs, kernels::measure_read_bandwidth_gbs()); }
  void probe_all_weights(const Qwen3Model& model) {
    double seconds = 0;
    uint64_t bytes = 0;
    for (const MappedFile* f : model.checkpoint->files()) {
      const double g = kernels::measure_read_bandwidth_gbs(f->data, f->size, 1);
      if (g <= 0) continue;
      seconds += double(f->size) / (g * 1e9);
      bytes += f->size;
    }
    if (seconds <= 0) return;
    all_weights_gbs = std::max(all_weights_gbs, double(bytes) / seconds / 1e9);
    gbs = std::max(gbs, all_weights_gbs);
  }
  void probe_weights(const Qwen3Model& model) {
    const auto& e = model.embed_tokens;
    const std::size_t bytes = std::size_t(e.numel()) * e.element_size();
    if (e.is_contiguous() && bytes >= (std::size_t(256) << 20))
      gbs = std::max(gbs, kernels::measure_read_bandwidth_gbs(e.data_ptr(), std::min(bytes, std::size_t(1) << 30), 3));
  }
  // A model whose per-token reads are within a few times the last-level cache is partly served from cache:
  // no memory ceiling applies to it (a tiny model decodes far "above" it).
  static bool applies(uint64_t bytes_per_token) {
    return bytes_per_token >= 8 * uint64_t(kernels::last_level_cache_bytes());
  }
};

// One decode run of `tokens` greedy steps: time per token (the probes between windows are not counted).
struct DecodeRun {
  double tokens_per_s = 0, fastest_token = 0, median_token = 0, cpu_share = 0;
  // Shares of the decode steps' wall time: in runs on the kernels' threads (the products, attention), and the
  // thread time inside those runs spent waiting (hand-offs, the last thread of a product finishing alone).
  double parallel_share = 0, waiting_share = 0;
};

DecodeRun measure_decode(const Qwen3Model& model, int tokens, TokenId first, int64_t ids_max, Ceiling& ceiling,
                         uint64_t& kv_bytes) {
  constexpr int kWindow = 32;  // tokens between bandwidth probes
  auto cache = make_kv_cache(model.config, 1, tokens);
  kv_bytes = std::max(kv_bytes, cache.bytes());
  TokenId id = first;
  std::vector<double> token_s;
  double cpu = 0;
  for (int t = 0; t < tokens; ++t) {
    if (t % kWindow == 0) ceiling.probe_weights(model);
    const double c0 = cpu_seconds();
    const auto t1 = std::chrono::steady_clock::now();
    auto ids = at::full({1, 1}, id, at::kLong);
    auto pos = at::full({1, 1}, int64_t(t), at::kLong);
    kernels::thread_pool().set_timing(true);
    auto logits = qwen3_forward(model, ids, pos, {}, &cache, true);
    id = TokenId(std::min<int64_t>(logits.reshape({-1}).narrow(0, 0, ids_max).argmax().item<int64_t>(), ids_max - 1));
    kernels::thread_pool().set_timing(false);
    token_s.push_back(seconds_since(t1));
    cpu += cpu_seconds() - c0;
  }
  ceiling.probe_weights(model);
  DecodeRun r;
  double wall = 0;
  for (double s : token_s) wall += s;
  ThreadPool& kernel_pool = kernels::thread_pool();
  const PoolTimes pool = kernel_pool.take_times();
  r.parallel_share = pool.run_s / wall;
  r.waiting_share = pool.run_s > 0 ? pool.waiting_s / (pool.run_s * kernel_pool.size()) : 0.0;
  r.tokens_per_s = tokens / wall;
  r.fastest_token = 1.0 / *std::min_element(token_s.begin(), token_s.end());
  r.median_token = 1.0 / median(token_s);
  r.cpu_share = cpu / (wall * kernels::threads());
  return r;
}

// How a quantized model's next-token choice and logits compare with the reference weights (BF16 as stored),
// teacher-forced over one sequence (one prefill each, so every position is scored against the same context).
// Positions are reported by what they predict: prose, or the content of a mol_3d / prot_3d segment, since
// structure tokens are less forgiving than prose (a wrong code is a wrong atom or residue).
struct Agreement {
  struct Part {
    int64_t positions = 0, agreed = 0;
    double max_abs_dev = 0;  // largest |logit difference| over these positions and every id
    double top1() const { return positions ? double(agreed) / double(positions) : 0.0; }
  };
  Part all, prose, mol3d, prot3d;
  double logit_range = 0;  // the reference logits' largest |value|, for scale
};

// What a forced sequence holds at each position: ids, and the part each next-token prediction belongs to.
struct ForcedSequence {
  std::vector<TokenId> ids;
  std::vector<Agreement::Part Agreement::*> predicts;  // predicts[i]: the part of ids[i + 1]
};

// `n` tokens: random ids; with a BioMatrix tokenizer, a third of them a mol_3d segment of random [SYM code]
// tokens and a third a prot_3d segment of random <S n> tokens, each between its markers.
ForcedSequence forced_sequence(int64_t n, int64_t ids_max, const Tokenizer* tok, std::mt19937_64& rng) {
  ForcedSequence f;
  auto add = [&](TokenId id, Agreement::Part Agreement::*part) {
    if (!f.ids.empty()) f.predicts.push_back(part);
    f.ids.push_back(id);
  };
  auto add_text = [&](const std::string& text, Agreement::Part Agreement::*part) {
    for (TokenId id : tok->encode(text, false)) add(id, part);
  };
  const bool structure = tok && tok->encode(std::string(start_marker(Modality::prot3d)), false).size() == 1 &&
                         tok->encode(mol3d_token("C", 0), false).size() == 1;
  const int64_t prose = structure ? n / 3 : n;
  for (int64_t i = 0; i < prose; ++i) add(TokenId(rng() % uint64_t(ids_max)), &Agreement::prose);
  if (structure) {
    // Symbols common in drug-like molecules, those the vocabulary has as single tokens.
    std::vector<std::string> symbols;
    for (const char* s : {"C", "c", "N", "n", "O", "=O", "S", "F", "Cl", "=C", "C@H", "N+", "O-", "Br"})
      if (tok->encode(mol3d_token(s, 0), false).size() == 1) symbols.emplace_back(s);
    add_text(std::string(start_marker(Modality::mol3d)), &Agreement::prose);
    std::string mol;
    for (int64_t i = 0; i < n / 3 - 2; ++i)
      mol += mol3d_token(symbols[rng() % symbols.size()], int(rng() % (kMol3dMaxCode + 1)));
    add_text(mol, &Agreement::mol3d);
    add_text(std::string(end_marker(Modality::mol3d)), &Agreement::mol3d);
    add_text(std::string(start_marker(Modality::prot3d)), &Agreement::prose);
    std::string prot;
    for (int64_t i = int64_t(f.ids.size()); i + 1 < n; ++i) prot += structure_token(int(rng() % kProt3dCodebookSize));
    add_text(prot, &Agreement::prot3d);
    add_text(std::string(end_marker(Modality::prot3d)), &Agreement::prot3d);
  }
  return f;
}

Agreement measure_agreement(const Qwen3Model& quantized, const Qwen3Model& reference, const ForcedSequence& f,
                            int64_t ids_max) {
  const int64_t n = int64_t(f.ids.size());
  auto ids = at::tensor(f.ids, at::kLong).view({1, n});
  auto pos = at::arange(n, at::kLong).view({1, n});
  const at::Tensor a = qwen3_forward(reference, ids, pos)[0].narrow(-1, 0, ids_max);
  const at::Tensor b = qwen3_forward(quantized, ids, pos)[0].narrow(-1, 0, ids_max);
  const at::Tensor same = a.argmax(-1).eq(b.argmax(-1));
  const at::Tensor dev = (a - b).abs().amax(-1).to(at::kDouble).contiguous();
  Agreement r;
  r.logit_range = a.abs().max().item<double>();
  for (int64_t i = 0; i + 1 < n; ++i) {
    for (Agreement::Part* part : {&r.all, &(r.*f.predicts[size_t(i)])}) {
      ++part->positions;
      part->agreed += same[i].item<bool>();
      part->max_abs_dev = std::max(part->max_abs_dev, dev.data_ptr<double>()[i]);
    }
  }
  return r;
}

// Aggregate decode rate of B sequences stepped together (one forward of B rows per step, so each weight is read
// once for all of them): tokens/s over all rows, greedy, `tokens` steps after a one-token start.
double batch_decode_rate(const Qwen3Model& model, int64_t B, int tokens, int64_t ids_max) {
  auto cache = make_kv_cache(model.config, B, tokens);
  auto ids = at::arange(B, at::kLong).remainder(ids_max).view({B, 1});
  const auto t0 = std::chrono::steady_clock::now();
  for (int t = 0; t < tokens; ++t) {
    auto pos = at::full({B, 1}, int64_t(t), at::kLong);
    auto logits = qwen3_forward(model, ids, pos, {}, &cache, true);
    ids = logits.reshape({B, -1}).narrow(1, 0, ids_max).argmax(1).view({B, 1});
  }
  return double(B) * tokens / seconds_since(t0);
}

// auto: BF16 activations where the CPU multiplies them natively (AVX-512 BF16, as llama.cpp's BF16 path);
// elsewhere float32 is faster than emulating them.
bool bf16_prefill(const std::string& precision) {
  if (precision == "bf16") return true;
  if (precision == "f32") return false;
  return kernels::active_isa() == kernels::Isa::avx512_bf16;
}

void run_bench(const BenchOptions& o) {
  check_model_folder(o.model);
  set_llm_threads(o.threads);
  use_isa_flag(o.isa);
  const bool bf16 = bf16_prefill(o.bf16_prefill ? std::string("bf16") : o.precision);
  kernels::set_precision(bf16 ? kernels::Precision::bf16_activations : kernels::Precision::float32);
  // The scratch probe runs before the load: its buffer then is never resident beside the weights (read into memory
  // at load, or mapped pages decoding has touched), and the peak resident set stays the weights' own. It is skipped
  // where the files are too small for any ceiling to apply (their bytes bound those a token reads).
  Ceiling ceiling;
  if (o.tg > 0 && Ceiling::applies(checkpoint_file_bytes(o.model))) ceiling.probe_scratch();
  const auto t_load = std::chrono::steady_clock::now();
  LlmOptions lo;
  lo.model = o.model;
  lo.weights = o.weights;
  lo.access = o.access;
  lo.quiet = o.json;
  auto model = load_decoder(lo);
  const double load_s = seconds_since(t_load);
  const auto& c = model.config;
  // Agreement positions past the context the model was made for score nothing it would ever be asked.
  if (model.lm_head.quantized() && o.agreement > c.max_position_embeddings)
    throw InputError("--agreement " + std::to_string(o.agreement) + " is beyond the model's context (" +
                     std::to_string(c.max_position_embeddings) + " positions, max_position_embeddings)");
  // Random prompt ids among the tokenizer's (rows past it are padding), all rows without a tokenizer.
  const int64_t tokenizer_ids = tokenizer_size(o.model);
  const int64_t ids_max = tokenizer_ids > 0 ? std::min(tokenizer_ids, c.vocab_size) : c.vocab_size;
  std::mt19937_64 rng(1);
  std::vector<TokenId> prompt(size_t(o.pp));
  for (auto& id : prompt) id = TokenId(rng() % uint64_t(ids_max));

  // Bytes a decoded token reads: every layer weight and the LM head (the embedding only one row unless tied).
  const uint64_t per_token = decode_bytes_per_token(model);
  // CPU seconds over wall seconds × threads: below 1 when other processes share the cores (the figures are
  // then lower bounds of what this machine does when idle).
  // As llama-bench: one untimed step first, so no timed run pays for mapping the weights' pages (a million minor
  // page faults for the 4B's 8 GB) or the kernels' first-use checks.
  if (o.warmup && (o.pp > 0 || o.tg > 0)) {
    auto cache = make_kv_cache(c, 1, 1);
    qwen3_forward(model, at::full({1, 1}, prompt.empty() ? 0 : prompt[0], at::kLong), at::zeros({1, 1}, at::kLong), {},
                  &cache, true);
  }
  double pp_best = 0, pp_cpu = 0;
  DecodeRun tg;
  uint64_t kv_bytes = 0;
  const int nthreads = kernels::threads();
  for (int r = 0; r < o.repetitions; ++r) {
    if (o.pp > 0) {
      auto cache = make_kv_cache(c, 1, o.pp);
      kv_bytes = std::max(kv_bytes, cache.bytes());
      auto ids = at::tensor(prompt, at::kLong).view({1, o.pp});
      auto pos = at::arange(o.pp, at::kLong).view({1, o.pp});
      const double c0 = cpu_seconds();
      const auto t0 = std::chrono::steady_clock::now();
      qwen3_forward(model, ids, pos, {}, &cache, true);
      const double wall = seconds_since(t0);
      if (o.pp / wall > pp_best) {
        pp_best = o.pp / wall;
        pp_cpu = (cpu_seconds() - c0) / (wall * nthreads);
      }
    }
    if (o.tg > 0) {
      // Weights rounded at load live outside the files: the files are then not what decoding reads.
      const bool files_decoded = o.weights.empty() && Ceiling::applies(per_token);
      if (files_decoded) ceiling.probe_all_weights(model);
      const DecodeRun d = measure_decode(model, o.tg, prompt.empty() ? 0 : prompt[0], ids_max, ceiling, kv_bytes);
      if (d.tokens_per_s > tg.tokens_per_s) tg = d;
      if (files_decoded) ceiling.probe_all_weights(model);
    }
  }
  std::vector<std::pair<int, double>> batch_rates;  // (B, aggregate tokens/s)
  for (int B : o.batch) batch_rates.emplace_back(B, batch_decode_rate(model, B, std::max(o.tg, 1), ids_max));
  Agreement agree;
  const bool quantized = model.lm_head.quantized();
  if (quantized && o.agreement > 0 && o.weights.empty() && o.reference.empty() && !o.json)
    std::fprintf(stderr, "bmx: no agreement figure: %s holds %s weights; give the BF16 model with --reference\n",
                 o.model.c_str(), model.weights_format.c_str());
  if (quantized && o.agreement > 0 && (!o.weights.empty() || !o.reference.empty())) {
    // The reference: --reference, else the folder's own weights when --weights rounded them at load.
    const Qwen3Model reference = load_qwen3(o.reference.empty() ? o.model : o.reference);
    if (reference.lm_head.quantized())
      throw InputError((o.reference.empty() ? o.model : o.reference) +
                       ": the agreement reference holds quantized weights; give the BF16 model with --reference");
    const auto tok = load_tokenizer_if_present(o.model);
    agree = measure_agreement(model, reference, forced_sequence(o.agreement, ids_max, tok.get(), rng), ids_max);
  }
  const bool ceiling_applies = o.tg > 0 && Ceiling::applies(per_token);
  const double ceiling_tps = ceiling_applies ? ceiling.gbs * 1e9 / double(per_token) : 0.0;
  const double rss = peak_rss_gib();
  const double gib = double(1ull << 30);
  const double weights_gib = double(model.weight_bytes) / gib, kv_gib = double(kv_bytes) / gib;
  const double rss_ratio = weights_gib > 0 ? rss / (weights_gib + kv_gib) : 0.0;
  const nn::Projection& blocks = model.lm_head;  // a quantized model's projections share one format and order
  // BF16 projections are put in pair tiles at load when the weights are read into memory (nn::use_pair_tiles):
  // every one at the AVX-512 BF16 level (a tied LM head is the embedding and stays in rows), else the long rows.
  const auto tiled = [](const nn::Projection& p) { return p.order == nn::WeightOrder::pair_tiles; };
  const char* tiles = model.layers.empty()                ? "none"
                      : tiled(model.layers[0].q_proj)     ? "all"
                      : tiled(model.layers[0].down_proj)  ? "down_proj"
                                                          : "none";
  // Whether the files were read into memory, and how much of the process's memory the kernel gave 2 MiB pages.
  const uint64_t huge_pages = huge_page_bytes();
  char access_text[96];
  if (model.checkpoint->access() == FileAccess::read)
    std::snprintf(access_text, sizeof access_text, "files read into memory; the process has %.2f GiB in 2 MiB pages", double(huge_pages) / gib);
  else
    std::snprintf(access_text, sizeof access_text, "files mapped");
  if (o.json) {
    nlohmann::ordered_json j;
    j["model"] = o.model;
    j["threads"] = nthreads;
    j["isa"] = kernels::isa_name(kernels::active_isa());
    j["prefill_precision"] = bf16 ? "bf16_activations" : "float32";
    j["weights"] = model.weights_format;
    if (blocks.quantized()) j["weights_order"] = kernels::order_name(blocks.blocks.order);
    else j["projections_in_pair_tiles"] = tiles;
    j["weights_access"] = access_name(model.checkpoint->access());
    j["huge_page_bytes"] = huge_pages;
    j["layers"] = c.num_layers;
    j["hidden_size"] = c.hidden_size;
    j["weight_bytes"] = model.weight_bytes;
    j["bytes_per_decoded_token"] = per_token;
    j["load_s"] = load_s;
    j["pp"] = o.pp;
    j["pp_tokens_per_s"] = pp_best;
    j["pp_cpu_share"] = pp_cpu;
    j["tg"] = o.tg;
    j["tg_tokens_per_s"] = tg.tokens_per_s;
    j["tg_median_token_per_s"] = tg.median_token;
    j["tg_fastest_token_per_s"] = tg.fastest_token;
    j["tg_cpu_share"] = tg.cpu_share;
    if (nthreads > 1) {  // one thread runs everything itself: no split to report
      j["tg_parallel_share"] = tg.parallel_share;
      j["tg_waiting_share"] = tg.waiting_share;
    }
    j["tg_read_gbs"] = tg.tokens_per_s * double(per_token) / 1e9;
    j["ceiling_applies"] = ceiling_applies;
    if (ceiling_applies) {
      j["read_bandwidth_gbs"] = ceiling.gbs;
      j["tg_ceiling_tokens_per_s"] = ceiling_tps;
      j["tg_fraction_of_ceiling"] = tg.tokens_per_s / ceiling_tps;
      if (ceiling.all_weights_gbs > 0) {
        j["weights_read_gbs"] = ceiling.all_weights_gbs;
        j["tg_fraction_of_weights_read"] = tg.tokens_per_s * double(per_token) / 1e9 / ceiling.all_weights_gbs;
      }
    }
    j["kv_cache_bytes"] = kv_bytes;
    j["peak_rss_gib"] = rss;
    for (const auto& [B, rate] : batch_rates)
      j["batch"].push_back({{"sequences", B}, {"tokens_per_s", rate}, {"per_sequence_tokens_per_s", rate / B},
                            {"activations", kernels::rounds_activations(B) ? "bf16" : "float32"}});
    if (agree.all.positions > 0) {
      auto part = [](const Agreement::Part& p) {
        return nlohmann::ordered_json{{"positions", p.positions}, {"top1", p.top1()}, {"max_abs_logit_deviation", p.max_abs_dev}};
      };
      j["agreement"] = part(agree.all);
      j["agreement"]["max_abs_logit"] = agree.logit_range;
      for (auto [name, p] : {std::pair{"prose", &agree.prose}, {"mol3d", &agree.mol3d}, {"prot3d", &agree.prot3d}})
        if (p->positions > 0) j["agreement"][name] = part(*p);
    }
    j["peak_rss_over_weights_plus_kv"] = rss_ratio;
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  const std::string order = blocks.quantized() ? std::string(" in ") + kernels::order_name(blocks.blocks.order)
                            : std::string(tiles) == "all"
                                ? std::string(", projections in pair tiles") +
                                      (tiled(model.lm_head) ? "" : " (the LM head in rows)")
                            : std::string(tiles) == "down_proj" ? std::string(", the down projection in pair tiles")
                                                : "";
  std::printf("model     %s (%lld layers, H %lld, %.2f GiB weights, %s; weights %s%s, %s)\n", o.model.c_str(),
              (long long)c.num_layers, (long long)c.hidden_size, weights_gib, kernels::isa_name(kernels::active_isa()),
              model.weights_format.c_str(), order.c_str(), access_text);
  std::printf("threads   %d, load %.2f s\n", nthreads, load_s);
  if (o.pp > 0)
    std::printf("pp%-6d  %8.2f tok/s (%s activations; cpu share %.0f %%)\n", o.pp, pp_best, bf16 ? "bf16" : "float32",
                100 * pp_cpu);
  if (o.tg > 0) {
    std::printf("tg%-6d  %8.2f tok/s (median token %.2f, fastest %.2f tok/s; cpu share %.0f %%)\n", o.tg,
                tg.tokens_per_s, tg.median_token, tg.fastest_token, 100 * tg.cpu_share);
    if (nthreads > 1)
      std::printf("steps     %.1f %% of the time in runs on the %d threads (products, attention), %.1f %% of their thread "
                  "time waiting there; %.1f %% on one thread between runs (norms, RoPE, rounding x, sampling)\n",
                  100 * tg.parallel_share, nthreads, 100 * tg.waiting_share, 100 * (1 - tg.parallel_share));
    if (ceiling_applies)
      std::printf("bandwidth %8.2f GB/s best probe -> ceiling %.2f tok/s (%.2f GB per token); decode reads %.2f GB/s, "
                  "%.0f %% of it\n",
                  ceiling.gbs, ceiling_tps, double(per_token) / 1e9, tg.tokens_per_s * double(per_token) / 1e9,
                  100.0 * tg.tokens_per_s / ceiling_tps);
    if (ceiling_applies && ceiling.all_weights_gbs > 0)
      std::printf("weights   %8.2f GB/s a plain read of all the weight files as loaded (best before and after "
                  "decoding); decode reads %.0f %% of that\n",
                  ceiling.all_weights_gbs, 100.0 * tg.tokens_per_s * double(per_token) / 1e9 / ceiling.all_weights_gbs);
    if (!ceiling_applies)
      std::printf("ceiling   none: %.1f MB per token is within 8x the %.0f MiB cache, so decoding reads from cache\n",
                  double(per_token) / 1e6, double(kernels::last_level_cache_bytes()) / (1 << 20));
  }
  std::printf("peak RSS  %8.2f GiB (%.2f x the weights + %.2f GiB KV cache)\n", rss, rss_ratio, kv_gib);
  const double single = batch_rates.empty() ? 0.0 : batch_rates.front().second;
  for (const auto& [B, rate] : batch_rates)
    std::printf("batch %-3d %8.2f tok/s aggregate, %.2f per sequence (%.2fx the first batch size's rate; %s "
                "activations)\n", B, rate, rate / B, single > 0 ? rate / single : 0.0,
                kernels::rounds_activations(B) ? "bf16" : "float32");
  if (agree.all.positions > 0) {
    std::printf("agreement %s vs %s, %lld teacher-forced positions: top-1 %.2f %%, logits within %.4f (largest "
                "|logit| %.2f)\n",
                model.weights_format.c_str(), o.reference.empty() ? "the weights as stored" : o.reference.c_str(),
                (long long)agree.all.positions, 100 * agree.all.top1(), agree.all.max_abs_dev, agree.logit_range);
    for (auto [name, p] : {std::pair{"prose", &agree.prose}, {"mol_3d", &agree.mol3d}, {"prot_3d", &agree.prot3d}})
      if (p->positions > 0)
        std::printf("  %-7s %5lld positions: top-1 %.2f %%, logits within %.4f\n", name, (long long)p->positions,
                    100 * p->top1(), p->max_abs_dev);
  }
}

}  // namespace

void add_llm_bench(CLI::App& bench) {
  auto o = std::make_shared<BenchOptions>();
  auto* c = bench.add_subcommand("llm", "Decoder speed: prefill pp512 and decode tg128 tokens/s, peak RSS, bandwidth ceiling");
  c->add_option("-m,--model", o->model, "Decoder model folder (e.g. from bmx dev random-model)")->required();
  add_threads_flag(c, o->threads);
  c->add_option("-p,--pp", o->pp, "Prompt tokens for the prefill test, as llama-bench (0 = skip)")->check(CLI::NonNegativeNumber);
  c->add_option("-n,--tg", o->tg, "Tokens for the decode test, as llama-bench (0 = skip)")->check(CLI::NonNegativeNumber);
  c->add_option("-r,--repetitions", o->repetitions, "Runs; the best is reported")->check(CLI::PositiveNumber);
  c->add_option("--prefill-precision", o->precision,
                 "Activations of every product of several rows, the prefill GEMM and --batch's decoding of several "
                 "sequences: f32 (exact), bf16 (as llama.cpp's BF16), auto (bf16 on AVX-512 BF16 CPUs)")
      ->check(CLI::IsMember({"auto", "f32", "bf16"}));
  c->add_flag("--bf16-prefill", o->bf16_prefill, "Same as --prefill-precision bf16");
  add_isa_flag(c, o->isa);
  add_weights_flag(c, o->weights, o->access);
  c->add_option("--batch", o->batch,
                 "Decode rates with this many sequences stepped together, e.g. 1,4,8,16 (-n steps each)")
      ->delimiter(',')
      ->check(CLI::Range(1, 256));
  c->add_option("--agreement", o->agreement,
                "Quantized weights: positions whose top-1 token and logits are compared with the reference (prose, "
                "and mol_3d / prot_3d segments with a BioMatrix tokenizer)")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
  c->add_option("--reference", o->reference,
                "BF16 model folder the agreement compares with (default: -m as stored, with --weights); needed when "
                "-m is a bmx quantize folder");
  c->add_flag("!--no-warmup", o->warmup, "Skip the untimed warm-up step (as llama-bench's --no-warmup)");
  c->add_flag("--json", o->json, "One JSON object");
  c->callback([o] { run_bench(*o); });
}

}  // namespace bmx::app

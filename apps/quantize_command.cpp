// bmx quantize: a decoder model folder with q8_0/q4_0 projections (core/llm/quantized_model.h), which every
// decoder command then loads memory-mapped with no rounding at start-up.
#include <chrono>
#include <cstdio>

#include "bmx/core/llm/qwen3.h"
#include "bmx/core/llm/quantized_model.h"
#include "bmx/core/nn/block_quant.h"
#include "bmx/core/util/error.h"
#include "llm_common.h"

namespace bmx::app {
namespace {

struct QuantizeArgs {
  std::string model, type = "q8_0", out;
  int threads = 0;
  bool quiet = false;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void run_quantize(const QuantizeArgs& a) {
  check_model_folder(a.model);
  check_quantized_model_folder(a.model, a.out);  // before the rounding, which takes half a minute on a 4B model
  set_llm_threads(a.threads);
  const auto t0 = std::chrono::steady_clock::now();
  Qwen3Model m = load_qwen3(a.model);
  if (m.lm_head.quantized())
    throw InputError(a.model + ": the weights are already " + m.weights_format +
                     "; bmx quantize reads a BF16/F16/F32 model folder");
  const uint64_t stored_bytes = decode_bytes_per_token(m);
  quantize_weights(m, kernels::parse_block_format(a.type));
  if (!a.quiet) std::fprintf(stderr, "bmx: rounded to %s in %.1f s; writing %s\n", m.weights_format.c_str(),
                             seconds_since(t0), a.out.c_str());
  const auto t1 = std::chrono::steady_clock::now();
  save_quantized_model(m, a.model, a.out);
  if (!a.quiet)
    std::fprintf(stderr, "bmx: wrote %s (%s: a decoded token reads %.3f GB of weights instead of %.3f) in %.1f s\n",
                 a.out.c_str(), m.weights_format.c_str(), decode_bytes_per_token(m) / 1e9, stored_bytes / 1e9,
                 seconds_since(t1));
}

}  // namespace

void add_quantize_command(CLI::App& app) {
  auto a = std::make_shared<QuantizeArgs>();
  auto* q = app.add_subcommand("quantize", "Write a copy of a decoder model folder with 8-bit (q8_0) or 4-bit (q4_0) "
                                           "projections, loaded memory-mapped by every decoder command (-m DIR)");
  q->add_option("-m,--model", a->model, kModelHelp)->required();
  q->add_option("--type", a->type, "q8_0 (8-bit, one scale per block of 32, ~1/2 the bytes of BF16) or q4_0 "
                                   "(4-bit, ~1/4)")
      ->check(CLI::IsMember({"q8_0", "q4_0", "q8", "q4"}))
      ->capture_default_str();
  q->add_option("-o,--output", a->out, "New (or empty) folder for the quantized model: config, tokenizer and "
                                       "structure-tokenizer files are copied, model.safetensors is written last")
      ->required();
  add_threads_flag(q, a->threads);
  q->add_flag("-q,--quiet", a->quiet, "No progress lines on stderr");
  q->callback([a] { run_quantize(*a); });
}

}  // namespace bmx::app

// Test hooks of the decoder runtime, kept out of its public headers: slow reference paths that exist only to
// check the fast ones.
#pragma once
#include <vector>

#include "bmx/core/llm/generation.h"

namespace bmx::testing {

// generate() without the KV cache: every step recomputes the whole sequence. Must give generate()'s tokens
// (specs/qwen3_runtime.md §3: incremental decoding reproduces a full recompute).
std::vector<Generation> generate_without_cache(const Qwen3Model& model,
                                               const std::vector<std::vector<TokenId>>& prompts,
                                               const GenerationOptions& options);

}  // namespace bmx::testing

// Shared helpers of the qwen3 tests: the tiny models of vectors/qwen3, loaded once.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bmx/core/llm/qwen3.h"

namespace bmx::test {

std::string tiny_model_dir(const std::string& name);  // shared/vectors/qwen3/models/<name>
const Qwen3Model& tiny_model(const std::string& name);
std::vector<nlohmann::json> logits_vectors();

}  // namespace bmx::test

#include "common.h"

#include <map>
#include <memory>

#include "shared.h"

namespace bmx::test {

std::string tiny_model_dir(const std::string& name) {
  return shared_file("vectors/qwen3/models/" + name + "/config.json").parent_path().string();
}

const Qwen3Model& tiny_model(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Qwen3Model>> models;
  auto& m = models[name];
  if (!m) m = std::make_unique<Qwen3Model>(load_qwen3(tiny_model_dir(name)));
  return *m;
}

std::vector<nlohmann::json> logits_vectors() {
  std::vector<nlohmann::json> out;
  for (auto& line : read_lines(shared_file("vectors/qwen3/logits.jsonl"))) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace bmx::test

// The model-folder pieces of llm_common.h that need no libtorch (bmx tokenize and bmx extract use them, and the
// program itself does not link libtorch: apps/torch_part.h): folder checks, tokenizer loading, chat rendering.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "bmx/core/util/error.h"
#include "bmx/tokenizers/bpe_tokenizer.h"
#include "bmx/tokenizers/chat_template.h"
#include "llm_common.h"

namespace bmx::app {

const char* const kWeightsHint =
    "BioMatrix's weights are the Hugging Face repositories QizhiPei/BioMatrix-4B-SFT and QizhiPei/BioMatrix-1.7B-SFT: "
    "on a machine with internet, `huggingface-cli download QizhiPei/BioMatrix-4B-SFT --local-dir BioMatrix-4B` (or "
    "`git lfs clone https://huggingface.co/QizhiPei/BioMatrix-4B-SFT BioMatrix-4B`), copy that folder here and pass "
    "it with -m";

const char* const kModelHelp =
    "Decoder model folder, Hugging Face layout (config.json, *.safetensors, tokenizer.json, ...), e.g. BioMatrix-4B "
    "downloaded from QizhiPei/BioMatrix-4B-SFT";

void check_model_folder(const std::string& dir, bool need_config) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (dir.empty()) throw InputError(std::string("no model folder given (-m DIR); ") + kWeightsHint);
  if (!fs::exists(dir, ec)) throw InputError(dir + ": no such model folder; " + kWeightsHint);
  if (!fs::is_directory(dir, ec))
    throw InputError(dir + ": not a folder (-m takes a model folder in the Hugging Face layout); " + kWeightsHint);
  if (need_config && !fs::exists(fs::path(dir) / "config.json", ec))
    throw InputError(dir + ": no config.json, so not a model folder in the Hugging Face layout; " + kWeightsHint);
}

void check_stdout_written() {
  if (std::fflush(stdout) != 0 || std::ferror(stdout))
    throw InputError(std::string("stdout: write failed: ") + std::strerror(errno ? errno : EIO));
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir, const char* why) {
  if (!std::filesystem::exists(std::filesystem::path(dir) / "tokenizer.json"))
    throw InputError(dir + ": no tokenizer.json in the model folder; " + why);
  return std::make_unique<Tokenizer>(Tokenizer::from_dir(dir));
}

std::unique_ptr<Tokenizer> load_tokenizer_if_present(const std::string& dir) {
  if (!std::filesystem::exists(std::filesystem::path(dir) / "tokenizer.json")) return nullptr;
  return std::make_unique<Tokenizer>(Tokenizer::from_dir(dir));
}

nlohmann::ordered_json message(const std::string& role, const std::string& content) {
  nlohmann::ordered_json m;
  m["role"] = role;
  m["content"] = content;
  return m;
}

std::string render(const Tokenizer& tok, const nlohmann::ordered_json& messages, bool no_think) {
  if (tok.chat_template().empty()) throw InputError("the model folder has no chat template (tokenizer_config.json)");
  ChatTemplate tmpl(tok.chat_template(), tok.config_file());
  ChatInput in;
  in.messages = messages;
  in.add_generation_prompt = true;
  if (no_think) in.enable_thinking = false;
  in.bos_token = tok.bos_token();
  in.eos_token = tok.eos_token();
  in.pad_token = tok.pad_token();
  return render_chat(tmpl, in);
}

}  // namespace bmx::app

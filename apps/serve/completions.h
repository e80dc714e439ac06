// bmx serve: the decoder behind /v1/chat/completions and /v1/completions -- the model, its tokenizer and the
// continuous-batching engine (bmx/core/llm/batch_engine.h), and how one request becomes engine requests and
// their tokens become OpenAI's responses (whole, or as server-sent events).
#pragma once
#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "bmx/core/llm/batch_engine.h"
#include "bmx/core/llm/qwen3.h"
#include "bmx/tokenizers/bpe_tokenizer.h"
#include "bmx/tokenizers/modality_constraint.h"
#include "serve/serve_options.h"

namespace bmx::app::serve {

class StructureService;

class CompletionService {
 public:
  // Loads the model and its tokenizer (tokenizer.json is required: the endpoints take text) and starts the engine.
  CompletionService(const ServeOptions& o, StructureService& structures);
  ~CompletionService();

  const std::string& model_id() const { return model_id_; }
  int64_t slot_context() const { return engine_->options().slot_context; }
  BatchStats stats() const { return engine_->stats(); }
  // POST /v1/chat/completions (chat = true) and /v1/completions. Throws ApiError.
  void handle(const httplib::Request& req, httplib::Response& res, bool chat);

 private:
  Qwen3Model model_;
  std::unique_ptr<Tokenizer> tok_;
  std::unique_ptr<BatchEngine> engine_;
  GenerationOptions base_;  // model defaults with the tokenizer's eos and vocabulary limit
  std::shared_ptr<const ModalityVocabulary> vocabulary_;  // null: a plain Qwen3 tokenizer (nothing to constrain)
  std::string model_id_, model_dir_;
  StructureService& structures_;
};

}  // namespace bmx::app::serve

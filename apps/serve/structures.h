// bmx serve: what only bmx serves -- the structure tokenizer endpoints (/v1/mol/encode, /v1/mol/decode,
// /v1/prot/encode, /v1/prot/decode; no decoder needed) and the `bmx` request extension of the completion
// endpoints (a `bmx run` task preset as the prompt, the modality constraint, the answer's segments decoded to
// structure files returned as text). Requests carry texts only: a library that reads files gets a copy in a
// private temporary folder, never a path a client named.
#pragma once
#include <httplib.h>

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bmx/tokenizers/modality.h"
#include "bmx/tokenizers/tasks.h"
#include "serve/serve_options.h"

namespace bmx::app {
class StructureDecoders;
}

namespace bmx::app::serve {

// The request's "bmx" object, checked (ApiError 400 for a wrong type or an unknown task).
struct BmxRequest {
  bool present = false;              // the request had a "bmx" object: its answer carries the extraction
  std::optional<std::string> task;   // a bmx run preset
  nlohmann::json inputs;             // the task's inputs: sequence, smiles, selfies, molecule, structure, text, ...
  bool constrain = true, extract = true, no_think = false;
  // Filled for the answer's extraction.
  Sampling sampling;                 // the preset's
  std::string user_turn;             // names the residues of a decoded protein
  std::optional<int> expected_length;
  std::vector<Modality> required;
  bool active() const { return present; }
};
BmxRequest parse_bmx_request(const nlohmann::json& body);

struct TaskText {
  TaskPrompt prompt;
  std::vector<Modality> outputs;
};

class StructureService {
 public:
  explicit StructureService(const ServeOptions& o);
  ~StructureService();

  // The task's prompt from the request's inputs (structure texts tokenized here); fills request.sampling.
  TaskText task_prompt(BmxRequest& request);
  // The answer's segments decoded (apps/answer_files.h: extract_answer): {summary, files: {name: text}}.
  nlohmann::ordered_json extract(const std::string& answer, const BmxRequest& request);
  // POST /v1/mol/encode, /v1/mol/decode, /v1/prot/encode, /v1/prot/decode.
  void handle(const std::string& route, const httplib::Request& req, httplib::Response& res);

 private:
  nlohmann::ordered_json extract_locked(const std::string& answer, const BmxRequest& request);
  std::string scratch_file(const std::string& name, const std::string& text);  // in the private folder
  std::string private_dir_;
  std::mutex mutex_;  // the structure models are loaded on first use and run one request at a time
  std::unique_ptr<StructureDecoders> decoders_;
  int counter_ = 0;
};

}  // namespace bmx::app::serve

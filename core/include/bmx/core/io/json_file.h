// A whole JSON file read and parsed into a tree: config.json, generation_config.json, tokenizer_config.json,
// model.safetensors.index.json, the user config. The one place such files are opened, so every reader fails
// the same way: an InputError of one line naming the file ("FILE: cannot open", "FILE: not valid JSON: ...").
// tokenizer.json is not read here: its two large tables are streamed (tokenizers/src/tokenizer_json.h).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace bmx {

nlohmann::json read_json_file(const std::string& path);

// nlohmann's message without its "[json.exception.parse_error.101] " tag, for one-line errors in bmx's words.
std::string json_error_text(const std::exception& e);

}  // namespace bmx

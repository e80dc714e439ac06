// Generation as text: what the tokenizer adds to the decoder runtime's ids-in, ids-out generate()
// (bmx/core/llm/generation.h). core reads the model folder's config.json and generation_config.json (ids and
// numbers); the settings that need the tokenizer are made here:
//   - eos: tokenizer_config.json's eos_token ends a row too (chat models end their turns with <|im_end|>, which a
//     base model's generation_config.json may not name);
//   - the vocabulary limit: embedding rows past the tokenizer's ids are padding (Qwen3: 151,936 rows for
//     151,669 ids) and are never produced;
//   - stop strings: text, matched on the decoded tail of each row.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "bmx/core/llm/generation.h"
#include "bmx/core/llm/token.h"

namespace bmx {

struct Qwen3Model;
class Tokenizer;

// generation_config.json's eos ids (core), then the tokenizer's eos_token when it is not among them.
std::vector<TokenId> eos_token_ids(const Qwen3Model& model, const Tokenizer& tok);

// Ids below this have a token: min(tokenizer size, vocab_size).
int64_t vocab_limit(const Qwen3Model& model, const Tokenizer& tok);

// The number of ids DIR/tokenizer.json defines (Tokenizer::vocab_size() of it), 0 without the file. A streaming
// scan that builds nothing, for tools that need only the size (bmx bench llm keeps the tokenizer's memory out of
// its peak RSS; bmx dev random-model).
int64_t tokenizer_size(const std::string& model_dir);

// The model folder's defaults for generating with its tokenizer: default_generation_options (generation_config.json)
// with eos_token_ids and vocab_limit above. Stop strings are left to stop_at_strings, since the command line adds
// its own to the folder's (model.generation.stop_strings).
GenerationOptions text_generation_options(const Qwen3Model& model, const Tokenizer& tok);

// ids -> text, as Tokenizer::decode.
using Detokenize = std::function<std::string(const std::vector<TokenId>&)>;

// Ends a row once its new text ends with one of `stops` (matching works across token boundaries; the string stays
// in the output). Only the tail of the row is decoded at each step. No stops: an empty criterion.
StopCriterion stop_at_strings(std::vector<std::string> stops, Detokenize detokenize);
StopCriterion stop_at_strings(std::vector<std::string> stops, const Tokenizer& tok);  // tok must outlive it

}  // namespace bmx

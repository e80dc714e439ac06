// Hugging Face chat templates: the Jinja subset that Qwen-style templates use, rendered the way
// transformers sets Jinja up (trim_blocks and lstrip_blocks on; `tojson` keeps key order, writes
// non-ASCII as is, separators ", " and ": ").
//
// Supported: {{ }}, {% if/elif/else %}, {% for x in xs [if cond] %} with loop.* and {% else %},
// {% set %} (names, namespace attributes), {% break/continue %}, {# #}, whitespace control (-),
// literals (strings, numbers, true/false/none, lists, dicts), slices, attribute/item access, the operators
// of Jinja (and/or/not, comparisons, in, +, -, *, /, //, %, ~, x if c else y), tests (defined, undefined,
// none, string, number, integer, float, boolean, true, false, mapping, sequence, iterable, even, odd),
// filters (length, count, tojson, string, trim, upper, lower, capitalize, title, default, join, first,
// last, list, reverse, items, safe, int, float, abs, replace, unique), string and dict methods
// (startswith, endswith, split, strip, lstrip, rstrip, upper, lower, replace, title, items, keys, values,
// get) and the globals namespace(), range() and raise_exception(). Anything else is a one-line
// bmx::InputError naming the template position.
//
// A template comes from a model folder, so it is untrusted: nesting depth, list and string sizes, loop
// iterations, 64-bit integers, the bytes built and the time of one rendering are bounded (far above what
// real chat templates use); going past one is an InputError naming the template and the limit.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace bmx {

class ChatTemplate {
public:
  // Parses the template; syntax errors throw bmx::InputError ("chat template: line L: ..."), prefixed with
  // `origin` (the file the template came from, e.g. tokenizer.config_file()) when given.
  explicit ChatTemplate(const std::string& source, std::string origin = {});
  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;
  ~ChatTemplate();

  // Renders with the given variables (an object; key order is kept for tojson).
  std::string render(const nlohmann::ordered_json& variables) const;

  struct Node;

private:
  std::shared_ptr<const Node> root_;
  std::string origin_;
};

// What transformers' apply_chat_template passes: messages, add_generation_prompt, tools (left out when
// absent), enable_thinking (left out when absent, i.e. undefined in the template), and the special tokens.
struct ChatInput {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  bool add_generation_prompt = false;
  std::optional<nlohmann::ordered_json> tools;
  std::optional<bool> enable_thinking;
  std::string bos_token, eos_token, pad_token;
};

std::string render_chat(const ChatTemplate& tmpl, const ChatInput& input);

}  // namespace bmx

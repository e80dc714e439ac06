// Chat templates on the small Jinja engine in jinja/: lexer.h (template -> segments -> tokens),
// expr_parser.h and parser.h (-> ast.h), render.h and eval.h (walk the tree over value.h values), with
// the filters, tests, methods and globals as name -> function tables behind builtins.h.
#include "bmx/tokenizers/chat_template.h"

#include "bmx/core/util/error.h"
#include "jinja/parser.h"
#include "jinja/render.h"

namespace bmx {

struct ChatTemplate::Node {
  jinja::Body body;
};

namespace {

// Errors from the engine name the template line; this adds the file it came from.
template <class F>
auto named(const std::string& origin, F&& f) {
  if (origin.empty()) return f();
  try {
    return f();
  } catch (const InputError& e) {
    throw InputError(origin + ": " + e.what());
  }
}

}  // namespace

ChatTemplate::ChatTemplate(const std::string& source, std::string origin) : origin_(std::move(origin)) {
  auto root = std::make_shared<Node>();
  named(origin_, [&] { root->body = jinja::parse(source); });
  root_ = root;
}
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;
ChatTemplate::~ChatTemplate() = default;

std::string ChatTemplate::render(const nlohmann::ordered_json& variables) const {
  return named(origin_, [&] { return jinja::render(root_->body, variables); });
}

std::string render_chat(const ChatTemplate& tmpl, const ChatInput& input) {
  nlohmann::ordered_json vars = nlohmann::ordered_json::object();
  vars["messages"] = input.messages;
  vars["add_generation_prompt"] = input.add_generation_prompt;
  if (input.tools) vars["tools"] = *input.tools;
  if (input.enable_thinking) vars["enable_thinking"] = *input.enable_thinking;
  if (!input.bos_token.empty()) vars["bos_token"] = input.bos_token;
  if (!input.eos_token.empty()) vars["eos_token"] = input.eos_token;
  if (!input.pad_token.empty()) vars["pad_token"] = input.pad_token;
  return tmpl.render(vars);
}

}  // namespace bmx

#include "bmx/core/io/json_file.h"

#include "bmx/core/io/read_file.h"
#include "bmx/core/util/error.h"

namespace bmx {

namespace {

// Parsing is iterative, but copying, comparing and printing a tree recurse: deeper than any real
// config, a file is refused while it is parsed.
constexpr int kMaxDepth = 512;

}  // namespace

std::string json_error_text(const std::exception& e) {
  std::string s = e.what();
  if (s.rfind("[json.exception.", 0) == 0) {
    const size_t end = s.find("] ");
    if (end != std::string::npos) s.erase(0, end + 2);
  }
  return s;
}

namespace {

// nlohmann's parser with a callback (the usual way to bound depth) walks every finished object's siblings
// to remove discarded values: quadratic in an object's size (0.7 s for the 16k added_tokens_decoder entries of
// BioMatrix's tokenizer_config.json). The plain tree builder with the depth counted here is linear.
class BoundedTreeBuilder : public nlohmann::detail::json_sax_dom_parser<nlohmann::json> {
public:
  using Base = nlohmann::detail::json_sax_dom_parser<nlohmann::json>;
  explicit BoundedTreeBuilder(nlohmann::json& root) : Base(root, true) {}
  bool start_object(std::size_t n) { return deeper() && Base::start_object(n); }
  bool end_object() {
    --depth_;
    return Base::end_object();
  }
  bool start_array(std::size_t n) { return deeper() && Base::start_array(n); }
  bool end_array() {
    --depth_;
    return Base::end_array();
  }
  bool too_deep = false;

private:
  bool deeper() {
    if (++depth_ <= kMaxDepth) return true;
    too_deep = true;
    return false;
  }
  int depth_ = 0;
};

}  // namespace

nlohmann::json read_json_file(const std::string& path) {
  const std::string text = read_file(path);
  nlohmann::json j;
  BoundedTreeBuilder builder(j);
  try {
    nlohmann::json::sax_parse(text, &builder);
  } catch (const nlohmann::json::exception& e) {  // nlohmann's messages are one line (control bytes escaped)
    fail_input(path, "not valid JSON: " + json_error_text(e));
  }
  if (builder.too_deep) fail_input(path, "JSON nested deeper than " + std::to_string(kMaxDepth) + " levels (the limit)");
  return j;
}

}  // namespace bmx

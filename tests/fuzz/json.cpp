// bmx's JSON parser (core/io/json_sax.h) against nlohmann's own, on any text: what bmx accepts nlohmann accepts,
// as the same tree; what nlohmann accepts bmx accepts too, but for the refusals bmx adds (json_sax.h): a NUL byte,
// which nlohmann takes for the end of the input, nesting past kMaxJsonDepth, and a number whose digits or exponent
// alone are past double's range though its value is not (0e999).
#include <cstring>

#include <nlohmann/json.hpp>

#include "bmx/core/io/json_sax.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = bmx::fuzz::as_text(data, size);
  nlohmann::json ours;
  bool accepted = false, own_limit = false;
  try {
    ours = bmx::parse_json(text);
    accepted = true;
  } catch (const nlohmann::json::parse_error& e) {
    own_limit = std::strstr(e.what(), "nested deeper than") || std::strstr(e.what(), "Number too big");
  }
  const bool has_nul = text.find('\0') != std::string_view::npos;
  if (accepted) {
    BMX_FUZZ_CHECK(nlohmann::json::accept(text));
    const nlohmann::json theirs = nlohmann::json::parse(text);
    BMX_FUZZ_CHECK(ours == theirs || (ours.is_number_float() && ours.dump() == theirs.dump()));  // NaN-free
  } else if (!has_nul && !own_limit) {
    BMX_FUZZ_CHECK(!nlohmann::json::accept(text));
  }
  return 0;
}

#include "bmx/core/io/json_sax.h"

#include <algorithm>
#include <charconv>
#include <clocale>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include <locale.h>

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

namespace bmx {
namespace {

// The "C" locale, for numbers: strtod reads a decimal point as the process's locale has it. strtod_l is
// correctly rounded, as nlohmann's strtod is; 1e-999 is 0.
locale_t c_locale() {
  static const locale_t c = ::newlocale(LC_ALL_MASK, "C", locale_t(0));
  return c;
}

// A UTF-16 surrogate encoded as UTF-8 (ED A0..BF xx). The text is checked as UTF-8, which holds none, so one in
// a string RapidJSON unescaped came from a \u escape: a low surrogate with no high one before it, which RapidJSON
// 1.1 passes and nlohmann (and RFC 8259's Unicode) refuse.
bool has_surrogate(const char* s, std::size_t n) {
  for (const char* p = s; (p = static_cast<const char*>(std::memchr(p, '\xED', std::size_t(s + n - p))));) {
    ++p;
    if (p < s + n && (static_cast<unsigned char>(*p) & 0xE0) == 0xA0) return true;
  }
  return false;
}

// RapidJSON's events in nlohmann's words. Numbers as nlohmann's lexer types them: integer when written with a
// minus, unsigned otherwise.
template <class BasicJson>
class ToNlohmann : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, ToNlohmann<BasicJson>> {
public:
  explicit ToNlohmann(nlohmann::json_sax<BasicJson>& sax) : sax_(sax) {}
  // Why the parse stopped, when it was not the handler.
  bool bad_surrogate = false, too_big = false;
  bool Null() { return sax_.null(); }
  bool Bool(bool b) { return sax_.boolean(b); }
  // Numbers come as their text (kParseNumbersAsStringsFlag), checked against JSON's grammar: RapidJSON 1.1.0's own
  // conversion of long ones reads out of bounds (StrtodDiyFp), and its quick one is not correctly rounded.
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    const char* end = s + n;
    if (std::find_if(s, end, [](char c) { return c == '.' || c == 'e' || c == 'E'; }) == end) {
      if (*s == '-') {
        int64_t v = 0;
        const auto r = std::from_chars(s, end, v);
        if (r.ec == std::errc() && r.ptr == end) return sax_.number_integer(v);
      } else {
        uint64_t v = 0;
        const auto r = std::from_chars(s, end, v);
        if (r.ec == std::errc() && r.ptr == end) return sax_.number_unsigned(v);
      }
    }  // an integer past 64 bits is a float, as nlohmann has it
    number_.assign(s, n);
    const locale_t c = c_locale();  // none only when the C library could not allocate it
    const double d = c ? ::strtod_l(number_.c_str(), nullptr, c) : std::strtod(number_.c_str(), nullptr);
    if (!std::isfinite(d)) return !(too_big = true);
    return sax_.number_float(d, number_);
  }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    if (has_surrogate(s, n)) return !(bad_surrogate = true);
    text_.assign(s, n);
    return sax_.string(text_);
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    if (has_surrogate(s, n)) return !(bad_surrogate = true);
    text_.assign(s, n);
    return sax_.key(text_);
  }
  bool StartObject() { return sax_.start_object(std::size_t(-1)); }
  bool EndObject(rapidjson::SizeType) { return sax_.end_object(); }
  bool StartArray() { return sax_.start_array(std::size_t(-1)); }
  bool EndArray(rapidjson::SizeType) { return sax_.end_array(); }

private:
  nlohmann::json_sax<BasicJson>& sax_;
  std::string text_;  // one buffer for every string: a handler may move it out
  std::string number_;
};

// `offset`: 0-based, where RapidJSON stopped; nlohmann's byte is 1-based.
template <class BasicJson>
bool syntax_error(nlohmann::json_sax<BasicJson>& sax, std::size_t offset, const std::string& what) {
  const auto e = nlohmann::detail::parse_error::create(101, offset + 1, what, nullptr);
  sax.parse_error(offset + 1, "", e);
  return false;
}

// RapidJSON's UTF-8 check takes a multi-byte sequence's continuation bytes without looking for the end of the
// text: one cut short at the end reads up to 3 bytes past it. Those bytes are NULs here (never continuation bytes,
// so the sequence is refused).
constexpr std::size_t kPadding = 4;

// text[size, size + kPadding) are NULs.
template <class BasicJson>
bool parse_padded(char* text, std::size_t size, nlohmann::json_sax<BasicJson>& sax) {
  // RapidJSON's in-place stream ends at the first NUL: a NUL inside the text would end it early, and whatever
  // followed would go unread.
  if (const void* nul = std::memchr(text, '\0', size))
    return syntax_error(sax, std::size_t(static_cast<const char*>(nul) - text), "a NUL byte (not JSON text)");
  std::size_t skipped = 0;
  if (size >= 3 && std::memcmp(text, "\xEF\xBB\xBF", 3) == 0) skipped = 3;
  constexpr unsigned kFlags = rapidjson::kParseInsituFlag | rapidjson::kParseIterativeFlag |
                              rapidjson::kParseValidateEncodingFlag | rapidjson::kParseNumbersAsStringsFlag;
  rapidjson::InsituStringStream in(text + skipped);
  rapidjson::Reader reader;
  ToNlohmann<BasicJson> events(sax);
  const rapidjson::ParseResult result = reader.Parse<kFlags>(in, events);
  if (!result.IsError()) return true;
  if (result.Code() == rapidjson::kParseErrorTermination && events.bad_surrogate)
    return syntax_error(sax, skipped + in.Tell(), "Incorrect surrogate pair in string.");
  if (result.Code() == rapidjson::kParseErrorTermination && events.too_big)
    return syntax_error(sax, skipped + in.Tell(), "Number too big to be stored in double.");
  if (result.Code() == rapidjson::kParseErrorTermination) return false;  // the handler's own reason
  return syntax_error(sax, skipped + result.Offset(), rapidjson::GetParseError_En(result.Code()));
}

template <class BasicJson, class String>
bool parse_string(String& text, nlohmann::json_sax<BasicJson>& sax) {
  const std::size_t size = text.size();
  text.append(kPadding, '\0');
  bool ok = false;
  try {
    ok = parse_padded(text.data(), size, sax);
  } catch (...) {
    text.resize(size);
    throw;
  }
  text.resize(size);
  return ok;
}

}  // namespace

template <class BasicJson>
bool sax_parse_in_place(std::string& text, nlohmann::json_sax<BasicJson>& sax) {
  return parse_string(text, sax);
}

template <class BasicJson>
bool sax_parse_in_place(BigString& text, nlohmann::json_sax<BasicJson>& sax) {
  return parse_string(text, sax);
}

template <class BasicJson>
BasicJson parse_json(std::string_view text) {
  std::string copy;  // parsed in place, with room for the padding
  copy.reserve(text.size() + kPadding);
  copy.assign(text);
  BasicJson root;
  JsonTreeBuilder<BasicJson> builder(root);
  if (!sax_parse_in_place(copy, builder) && builder.too_deep())
    throw nlohmann::detail::parse_error::create(
        101, 0, "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels (the limit)", nullptr);
  return root;  // a syntax error was thrown by the builder
}

template bool sax_parse_in_place(std::string&, nlohmann::json_sax<nlohmann::json>&);
template bool sax_parse_in_place(std::string&, nlohmann::json_sax<nlohmann::ordered_json>&);
template bool sax_parse_in_place(BigString&, nlohmann::json_sax<nlohmann::json>&);
template bool sax_parse_in_place(BigString&, nlohmann::json_sax<nlohmann::ordered_json>&);
template nlohmann::json parse_json<nlohmann::json>(std::string_view);
template nlohmann::ordered_json parse_json<nlohmann::ordered_json>(std::string_view);

}  // namespace bmx

// bmx's one JSON parser: RapidJSON's SAX reader feeding a handler with nlohmann's SAX interface (json_sax), so
// that the same handlers build nlohmann trees (parse_json, read_json_file) or stream tables (tokenizer.json).
// RapidJSON reads in place at ~400 MB/s, nlohmann's own lexer at ~120 MB/s: parsing the 6.7 MB tokenizer.json of
// BioMatrix was half of `bmx tokenize`'s start. Strict RFC 8259 as nlohmann is: one value, UTF-8 checked, no
// comments, NaN or trailing commas, no lone surrogates; a UTF-8 byte-order mark at the start is skipped, as nlohmann
// does. Two refusals of its own: a NUL byte (nlohmann ends the input there, unread), and a number whose digits or
// exponent alone are past double's range though its value is not (0e999, or 1 and 400 zeros e-300: RapidJSON's
// limit; RFC 8259 lets a parser limit numbers). Numbers are converted as
// nlohmann does (64-bit integers, else a correctly rounded double). Iterative: nesting costs no stack (handlers
// bound the depth of what they build).
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "bmx/core/util/big_allocator.h"

namespace bmx {

// Trees are copied, compared and printed by recursive code: parse_json and read_json_file refuse deeper ones.
constexpr int kMaxJsonDepth = 512;

// Parses `text` in place: strings are unescaped over it, so it is left changed (its size kept). Returns true
// when the text is one valid JSON value and the handler accepted every event. On a syntax error the handler's
// parse_error(byte, "", e) is called first, e.what() saying what was wrong and where:
// "[json.exception.parse_error.101] parse error at byte 17: Missing a comma or '}' after an object member."
// (e.byte: the 1-based byte, as nlohmann counts). When the handler stops the parse (returns false) nothing more
// is called. Numbers reach the handler typed as nlohmann's lexer types them: integer when written with a minus,
// unsigned otherwise.
template <class BasicJson>
bool sax_parse_in_place(std::string& text, nlohmann::json_sax<BasicJson>& sax);
template <class BasicJson>
bool sax_parse_in_place(BigString& text, nlohmann::json_sax<BasicJson>& sax);

// Builds the tree of a parse, as nlohmann's parser does, refusing values nested deeper than kMaxJsonDepth
// (too_deep() tells which failure it was). A syntax error throws nlohmann's parse_error.
template <class BasicJson>
class JsonTreeBuilder : public nlohmann::json_sax<BasicJson> {
  using Sax = nlohmann::json_sax<BasicJson>;

public:
  explicit JsonTreeBuilder(BasicJson& root) : tree_(root, /*allow_exceptions=*/true) {}
  bool null() override { return tree_.null(); }
  bool boolean(bool v) override { return tree_.boolean(v); }
  bool number_integer(typename Sax::number_integer_t v) override { return tree_.number_integer(v); }
  bool number_unsigned(typename Sax::number_unsigned_t v) override { return tree_.number_unsigned(v); }
  bool number_float(typename Sax::number_float_t v, const typename Sax::string_t& s) override {
    return tree_.number_float(v, s);
  }
  bool string(typename Sax::string_t& v) override { return tree_.string(v); }
  bool binary(typename Sax::binary_t& v) override { return tree_.binary(v); }
  bool start_object(std::size_t n) override { return deeper() && tree_.start_object(n); }
  bool key(typename Sax::string_t& k) override { return tree_.key(k); }
  bool end_object() override {
    --depth_;
    return tree_.end_object();
  }
  bool start_array(std::size_t n) override { return deeper() && tree_.start_array(n); }
  bool end_array() override {
    --depth_;
    return tree_.end_array();
  }
  // Thrown as what it is (nlohmann's builder would throw the base class it is given).
  bool parse_error(std::size_t byte, const std::string& token, const nlohmann::detail::exception& e) override {
    if (const auto* p = dynamic_cast<const nlohmann::detail::parse_error*>(&e)) throw *p;
    return tree_.parse_error(byte, token, e);
  }
  bool too_deep() const { return too_deep_; }

private:
  bool deeper() {
    if (++depth_ <= kMaxJsonDepth) return true;
    too_deep_ = true;
    return false;
  }
  nlohmann::detail::json_sax_dom_parser<BasicJson> tree_;
  int depth_ = 0;
  bool too_deep_ = false;
};

// The tree of `text` (any value at the top), as BasicJson::parse builds it. A syntax error, or nesting deeper than
// kMaxJsonDepth, throws nlohmann's parse_error naming the byte.
template <class BasicJson = nlohmann::json>
BasicJson parse_json(std::string_view text);

}  // namespace bmx

// bmx's JSON parser (RapidJSON's reader feeding nlohmann's SAX interface): the trees nlohmann's own parser builds,
// the texts it refuses, refused too, and the byte it names.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bmx/core/io/json_sax.h"

using json = nlohmann::json;

namespace {

// nlohmann's events, counted, stopping at the n-th when asked to.
struct Counter : nlohmann::json_sax<json> {
  int events = 0, stop_at = -1, errors = 0;
  bool next() { return ++events != stop_at; }
  bool null() override { return next(); }
  bool boolean(bool) override { return next(); }
  bool number_integer(number_integer_t) override { return next(); }
  bool number_unsigned(number_unsigned_t) override { return next(); }
  bool number_float(number_float_t, const string_t&) override { return next(); }
  bool string(string_t&) override { return next(); }
  bool binary(binary_t&) override { return next(); }
  bool start_object(std::size_t) override { return next(); }
  bool key(string_t&) override { return next(); }
  bool end_object() override { return next(); }
  bool start_array(std::size_t) override { return next(); }
  bool end_array() override { return next(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    ++errors;
    return false;
  }
};

}  // namespace

TEST_CASE("parse_json: the tree nlohmann's parser builds, numbers typed alike") {
  const std::vector<std::string> texts = {
      "0", "-0", "1e5", "-1.5E-3", "12345678901234567890123", "-9223372036854775808", "18446744073709551615",
      "9223372036854775807", "-1", "1e-999", "0.1", "3.141592653589793", "2.2250738585072014e-308", "true", "null",
      "[]", "{}", "[[[]]]", "{\"a\":{\"b\":[1,{}]}}", "\"\\u0000\\/\\b\\f\\n\\r\\t\\\"\\\\\"", "\"\\ud83d\\ude00\"",
      "\"\xF0\x9F\x98\x80 \xC3\xA9\"", " \t\n[1 , 2]\r\n", "{\"a\":1,\"a\":2}", "\xEF\xBB\xBF{\"bom\":1}",
      "\"" + std::string(100000, 'x') + "\""};
  for (const std::string& t : texts) {
    INFO("text: " << t.substr(0, 60));
    const json want = json::parse(t);
    const json got = bmx::parse_json(t);
    CHECK(got == want);
    CHECK(got.dump() == want.dump());
    CHECK(got.type() == want.type());  // unsigned / integer / float as nlohmann's lexer has them
  }
  // ordered_json keeps the keys in the order of the text.
  CHECK(bmx::parse_json<nlohmann::ordered_json>(R"({"z":1,"a":2})").dump() == R"({"z":1,"a":2})");
}

TEST_CASE("parse_json: refuses what nlohmann refuses, naming the byte") {
  const std::vector<std::string> bad = {
      "", "01", "1.", ".5", "-", "+1", "1e", "1e+", "-a", "NaN", "Infinity", "1e999", "-1e999", "tru", "nul",
      "falsy", "[1,]", "[1 2]", "[,1]", "{\"a\":1,}", "{\"a\" 1}", "{1:2}", "{\"a\":}", "[", "{\"a\":[}", "\"abc",
      "\"a\x01\"", "\"a\nb\"", "\"\\x\"", "\"\\u12G4\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "[\"\\udfff\"]",
      "\"\\ud800\\u0041\"", "\"\\ud800x\"", "\"\xc0\xaf\"", "\"\xe0\x80\xaf\"", "\"\xed\xa0\x80\"",
      "\"\xf4\x90\x80\x80\"", "\"\xf5\x80\x80\x80\"", "\"\x80\"", "\"\xc3\"", "\"\xe2\x82\"", "\"\xff\"", "1 2",
      "'a'", "[1]]", "// c\n1", "\"\xf0", "\"ab\xe7", "[\"\xf4\x8f", std::string("[1,\x00 2]", 7), std::string("\"a\x00\"", 4), "\xEF\xBB\xBF"};
  for (const std::string& t : bad) {
    INFO("text: " << t);
    CHECK_FALSE(json::accept(t));
    CHECK_THROWS_AS(bmx::parse_json(t), json::parse_error);
  }
  // A NUL byte after the value: nlohmann takes it for the end of the input and never reads what follows; refused.
  const std::string nul("[1]\x00[2]", 7);
  CHECK(json::accept(nul));
  CHECK_THROWS_WITH_AS(bmx::parse_json(nul), doctest::Contains("NUL byte"), json::parse_error);
  // A number whose digits or exponent alone are past double's range, though its value is not: refused (the
  // limit RapidJSON sets; nlohmann reads 0 and 1e100).
  for (const std::string& t : {std::string("0e999"), "1" + std::string(400, '0') + "e-300"}) {
    CHECK(json::accept(t));
    CHECK_THROWS_WITH_AS(bmx::parse_json(t), doctest::Contains("Number too big"), json::parse_error);
  }
  // The byte, 1-based as nlohmann counts: "not json" fails at its second byte.
  try {
    bmx::parse_json("not json");
    FAIL("no error");
  } catch (const json::parse_error& e) {
    CHECK(e.byte == 2);
    CHECK(std::string(e.what()).find("parse error at byte 2") != std::string::npos);
  }
}

TEST_CASE("parse_json: nesting up to the limit, not beyond") {
  const int limit = bmx::kMaxJsonDepth;
  CHECK_NOTHROW(bmx::parse_json(std::string(size_t(limit), '[') + std::string(size_t(limit), ']')));
  CHECK_THROWS_WITH_AS(bmx::parse_json(std::string(size_t(limit) + 1, '[') + std::string(size_t(limit) + 1, ']')),
                       doctest::Contains("nested deeper than 512 levels"), json::parse_error);
  // The parser itself needs no stack for nesting: a million levels are refused by the tree builder, not a crash.
  CHECK_THROWS_WITH_AS(bmx::parse_json(std::string(1'000'000, '[') + std::string(1'000'000, ']')),
                       doctest::Contains("nested deeper than 512 levels"), json::parse_error);
}

TEST_CASE("sax_parse_in_place: every event reaches the handler, which can stop the parse") {
  std::string text = R"({"a":[1,-2,3.5,"s",true,null],"b":{}})";
  Counter all;
  CHECK(bmx::sax_parse_in_place(text, all));
  CHECK(all.events == 14);
  CHECK(all.errors == 0);
  // Stopped by the handler: false, and no parse_error call (the handler knows why).
  std::string again = R"({"a":[1,-2,3.5,"s",true,null],"b":{}})";
  Counter stop;
  stop.stop_at = 4;
  CHECK_FALSE(bmx::sax_parse_in_place(again, stop));
  CHECK(stop.events == 4);
  CHECK(stop.errors == 0);
  // A syntax error: one parse_error call.
  std::string broken = "[1,2";
  Counter err;
  CHECK_FALSE(bmx::sax_parse_in_place(broken, err));
  CHECK(err.errors == 1);
}

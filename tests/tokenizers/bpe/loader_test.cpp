// The tokenizer loader (its own JSON reader, the streamed vocabulary, merges and added tokens, the picked keys of
// tokenizer_config.json): as strict as nlohmann's parser on hostile JSON (checked case by case against
// nlohmann::json::accept), and the real BioMatrix tables read back entry for entry as a full nlohmann parse
// of the same file has them.
#include <doctest/doctest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "bmx/core/util/error.h"
#include "bmx/tokenizers/bpe_tokenizer.h"
#include "shared.h"

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

// A tiny Qwen2-style tokenizer.json (256 byte tokens, merges "a b" and "ab c", one added token), as text
// ending in "}" so that a test can put one more top-level member before it.
std::string tiny_text() {
  json vocab = json::object();
  int extra = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    const int cp = printable ? b : extra++;
    std::string s;
    if (cp < 0x80) {
      s += char(cp);
    } else {
      s += char(0xC0 | (cp >> 6));
      s += char(0x80 | (cp & 0x3F));
    }
    vocab[s] = b;
  }
  vocab["ab"] = 256;
  vocab["abc"] = 257;
  const json pattern = {{"Regex",
                         "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
                         "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}};
  const json j = {
      {"version", "1.0"},
      {"added_tokens", json::array({{{"id", 300}, {"content", "<x>"}, {"special", true}, {"normalized", false}}})},
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         json::array({{{"type", "Split"}, {"pattern", pattern}, {"behavior", "Isolated"}, {"invert", false}},
                      {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}})}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array({"a b", "ab c"})}}}};
  return j.dump();
}

fs::path write(const std::string& name, const std::string& text) {
  const fs::path dir = bmx::test::scratch_dir("bpe_loader_" + name);
  std::ofstream(dir / "tokenizer.json", std::ios::binary) << text;
  return dir;
}

// tiny_text() with `"x": value` added at the top level.
std::string with_member(const std::string& value) {
  std::string t = tiny_text();
  t.insert(t.size() - 1, ",\"x\":" + value);
  return t;
}

// The InputError message of loading `text`, or "" when it loads.
std::string load_error(const std::string& name, const std::string& text) {
  try {
    bmx::Tokenizer::from_dir(write(name, text));
  } catch (const bmx::InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("tokenizer.json reader: refuses exactly what nlohmann refuses, one line naming the file") {
  REQUIRE(load_error("base", tiny_text()).empty());
  const std::vector<std::string> bad = {
      "01", "1.", ".5", "-", "+1", "1e", "1e+", "-a", "NaN", "Infinity", "1e999", "-1e999", "tru", "nul", "falsy",
      "[1,]", "[1 2]", "[,1]", "{\"a\":1,}", "{\"a\" 1}", "{1:2}", "{\"a\":}", "[", "{\"a\":[}", "\"abc",
      "\"a\x01\"", "\"a\nb\"", "\"\\x\"", "\"\\u12G4\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"",
      "\"\\ud800\\u0041\"", "\"\\ud800x\"", "\"\xc0\xaf\"", "\"\xe0\x80\xaf\"", "\"\xed\xa0\x80\"",
      "\"\xf4\x90\x80\x80\"", "\"\xf5\x80\x80\x80\"", "\"\x80\"", "\"\xc3\"", "\"\xe2\x82\"", "\"\xff\"",
      "1 2", "'a'", "[1]]"};
  for (const std::string& value : bad) {
    const std::string text = with_member(value);
    INFO("value: " << value);
    CHECK_FALSE(nlohmann::json::accept(text));
    const std::string err = load_error("bad", text);
    CHECK(err.find((bmx::test::scratch_dir("bpe_loader_bad") / "tokenizer.json").string() + ": not valid JSON: ") == 0);
    CHECK(err.find('\n') == std::string::npos);
  }
  // Trailing content, an empty file, a lone BOM.
  for (const std::string& text : {tiny_text() + " x", tiny_text() + "}", std::string(), std::string("\xEF\xBB\xBF")}) {
    CHECK_FALSE(nlohmann::json::accept(text));
    CHECK(load_error("bad_whole", text).find("not valid JSON") != std::string::npos);
  }
  const std::vector<std::string> good = {
      "0", "-0", "1e5", "-1.5E-3", "12345678901234567890123", "-9223372036854775808", "18446744073709551615",
      "1e-999", "true", "null", "[]", "{}", "[[[]]]", "{\"a\":{\"b\":[1,{}]}}", "\"\\u0000\\/\\b\\f\\n\\r\\t\"",
      "\"\\ud83d\\ude00 \xf0\x9f\x98\x80 \xc3\xa9 \xef\xbf\xbf \xf4\x8f\xbf\xbf\"", " \t\r\n[ 1 , 2 ] "};
  for (const std::string& value : good) {
    const std::string text = with_member(value);
    INFO("value: " << value);
    CHECK(nlohmann::json::accept(text));
    CHECK(load_error("good", text).empty());
  }
  CHECK(load_error("bom", "\xEF\xBB\xBF" + tiny_text()).empty());  // nlohmann skips a byte order mark too
}

TEST_CASE("tokenizer.json reader: escaped keys, numbers and nesting reach the tables as a full parse reads them") {
  // "a" and "b" written with escapes are the same tokens: the merges still find them.
  std::string text = tiny_text();
  for (const char* from : {"\"a\":", "\"ab\":"}) {
    const size_t at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, std::string(from).size(), std::string(from) == "\"a\":" ? "\"\\u0061\":" : "\"a\\u0062\":");
  }
  const auto tok = bmx::Tokenizer::from_dir(write("escaped", text));
  CHECK(tok.encode("abc") == std::vector<int32_t>{257});
  CHECK(tok.token_to_id("ab") == 256);
  CHECK(tok.id_to_token(97) == "a");
  // Ids that are not non-negative integers are named.
  for (const std::string id : {"1.0", "\"1\"", "-1", "1e2", "null", "true", "99999999999999999999", "[1]", "{}"}) {
    std::string t = tiny_text();
    const size_t at = t.find("\"abc\":257");
    REQUIRE(at != std::string::npos);
    t.replace(at, 9, "\"abc\":" + id);
    INFO("id: " << id);
    const bool container = id[0] == '[' || id[0] == '{';
    CHECK(load_error("bad_id", t).find(container ? "vocab values must be integer ids"
                                                 : "vocab entry \"abc\" has no non-negative integer id") != std::string::npos);
  }
  // Nesting (the top-level object is the first level): 512 levels load, 513 are refused by name.
  CHECK(load_error("deep_ok", with_member(std::string(511, '[') + std::string(511, ']'))).empty());
  CHECK(load_error("too_deep", with_member(std::string(512, '[') + std::string(512, ']')))
            .find("JSON nested deeper than 512 levels (the limit)") != std::string::npos);
}

TEST_CASE("tokenizer.json reader: added tokens read as they stream by keep the loader's rules and messages") {
  json j = json::parse(tiny_text());
  auto load_with = [&](const std::string& name, const json& added) {
    json k = j;
    k["added_tokens"] = added;
    return load_error(name, k.dump());
  };
  CHECK(load_with("added_bad", json::array({{{"id", 300}, {"content", "<x>"}}, {{"id", "301"}, {"content", "<y>"}}}))
            .find("added token without integer id and string content: {\"content\":\"<y>\",\"id\":\"301\"}") !=
        std::string::npos);
  CHECK(load_with("added_range", json::array({{{"id", 60000000}, {"content", "<y>"}}}))
            .find("added token id 60000000 out of range") != std::string::npos);
  CHECK(load_with("added_type", json::array({{{"id", 301}, {"content", "<y>"}, {"special", "yes"}}}))
            .find("a field has the wrong type: type must be boolean, but is string") != std::string::npos);
  CHECK(load_with("added_scalar", json::array({5})).find("added token without integer id") != std::string::npos);
  CHECK(load_with("added_object", json::object()).find("\"added_tokens\" is not an array") != std::string::npos);
  // A vocabulary problem is reported before an added-token problem, as the sections are loaded in that order.
  json k = j;
  k["model"]["vocab"]["zz"] = -4;
  k["added_tokens"] = json::array({7});
  CHECK(load_error("order", k.dump()).find("vocab entry \"zz\"") != std::string::npos);
  // A repeated added_tokens key: the last one counts, as in a full parse.
  std::string text = tiny_text();
  text.insert(text.size() - 1, R"(,"added_tokens":[{"id":301,"content":"<y>","special":false,"normalized":false}])");
  const auto tok = bmx::Tokenizer::from_dir(write("added_twice", text));
  CHECK(tok.added_tokens().size() == 1);
  CHECK(tok.token_to_id("<y>") == 301);
  CHECK_FALSE(tok.token_to_id("<x>"));
  CHECK(tok.encode("a<y>b") == std::vector<int32_t>{97, 301, 98});
}

TEST_CASE("tokenizer.json reader: an added token with more than its plain fields is read as the whole element") {
  json j = json::parse(tiny_text());
  auto tokens_of = [&](const std::string& name, const std::string& elements) {
    std::string text = tiny_text();
    const std::string old = j["added_tokens"].dump();
    text.replace(text.find(old), old.size(), "[" + elements + "]");
    return bmx::Tokenizer::from_dir(write(name, text)).added_tokens();
  };
  // Another key (nested values too), keys in any order, a repeated key (the last counts): the same token.
  for (const std::string& element :
       {R"({"content":"<y>","id":301,"special":true})", R"({"id":301,"extra":[1,{"a":null}],"content":"<y>","special":true})",
        R"({"special":true,"content":"<y>","id":301})", R"({"id":301,"content":"<z>","special":false,"content":"<y>","special":true})",
        R"({"id":301,"special":true,"content":"<y>","x":{"id":5}})"}) {
    INFO(element);
    const auto added = tokens_of("added_fields", element);
    REQUIRE(added.size() == 1);
    CHECK(added[0].id == 301);
    CHECK(added[0].content == "<y>");
    CHECK(added[0].special);
    CHECK_FALSE(added[0].normalized);  // !special when absent
  }
  // Tokens before and after a fallen-back element are kept, in order.
  const auto three = tokens_of("added_three", R"({"id":301,"content":"a"},{"id":302,"content":"b","x":1},{"id":303,"content":"c","lstrip":true})");
  REQUIRE(three.size() == 3);
  CHECK(three[1].content == "b");
  CHECK(three[2].lstrip);
  CHECK(three[2].normalized);
  // Problems found midway through an element name the element as a whole, as before.
  auto error_of = [&](const std::string& name, const std::string& elements) {
    std::string text = tiny_text();
    const std::string old = j["added_tokens"].dump();
    text.replace(text.find(old), old.size(), "[" + elements + "]");
    return load_error(name, text);
  };
  CHECK(error_of("added_float", R"({"id":301.0,"content":"<y>","x":[2]})")
            .find(R"(added token without integer id and string content: {"content":"<y>","id":301.0,"x":[2]})") !=
        std::string::npos);
  CHECK(error_of("added_noid", R"({"content":"<y>","special":true})")
            .find(R"(added token without integer id and string content: {"content":"<y>","special":true})") !=
        std::string::npos);
  CHECK(error_of("added_null", R"({"id":301,"content":"<y>","lstrip":null})")
            .find("a field has the wrong type: type must be boolean, but is null") != std::string::npos);
  CHECK(error_of("added_big", R"({"id":18446744073709551615,"content":"<y>"})").find("out of range") != std::string::npos);
}

TEST_CASE("tokenizer.json reader: merges before the vocabulary, and a table given twice") {
  const std::string text = tiny_text();
  const auto normal = bmx::Tokenizer::from_dir(write("order_normal", text));
  // model.merges first: the merges are looked up after the parse rather than while it goes on; same tokenizer.
  json j = json::parse(text);
  json model = json::object();
  model["type"] = "BPE";
  model["merges"] = j["model"]["merges"];
  model["vocab"] = j["model"]["vocab"];
  j["model"] = model;
  const auto swapped = bmx::Tokenizer::from_dir(write("order_swapped", j.dump()));
  for (const std::string& s : {"abc", "ab ab c", "cab<x>abca", ""}) CHECK(swapped.encode(s) == normal.encode(s));
  // A file over 64 MB: its merges are too many to reserve for, so they are handed over only once complete.
  const auto big = bmx::Tokenizer::from_dir(write("order_big", with_member("\"" + std::string(70u << 20, 'a') + "\"")));
  for (const std::string& s : {"abc", "ab ab c", "cab<x>abca"}) CHECK(big.encode(s) == normal.encode(s));
  // A table given twice is refused (serde refuses a repeated field; the first is already in use).
  std::string twice = text;
  twice.insert(twice.rfind("}}"), R"(,"merges":["a b"])");
  CHECK(load_error("merges_twice", twice).find("model.merges appears twice") != std::string::npos);
  twice = text;
  twice.insert(twice.rfind("}}"), R"(,"vocab":{"a":0})");
  CHECK(load_error("vocab_twice", twice).find("model.vocab appears twice") != std::string::npos);
}

TEST_CASE("tokenizer_config.json: only the needed keys are kept, the whole file is still checked") {
  const fs::path dir = write("config", tiny_text());
  auto config_error = [&](const std::string& text) {
    std::ofstream(dir / "tokenizer_config.json", std::ios::binary) << text;
    try {
      bmx::Tokenizer::from_dir(dir);
    } catch (const bmx::InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const std::string config = (dir / "tokenizer_config.json").string();
  CHECK(config_error(R"({"added_tokens_decoder": {"1": {"content": "a", "x": [1, 2,]}}, "eos_token": "<x>"})")
            .find(config + ": not valid JSON: ") == 0);
  CHECK(config_error("[1, 2]") == config + ": top level is not an object");
  CHECK(config_error(std::string(600, '[') + std::string(600, ']')) ==
        config + ": JSON nested deeper than 512 levels (the limit)");
  CHECK(config_error(R"({"eos_token": "a", "eos_token": {"content": "<x>"}, "x": {"eos_token": "b"},
                        "pad_token": "ab", "chat_template": [{"name": "default", "template": "T"}]})")
            .empty());
  const auto tok = bmx::Tokenizer::from_dir(dir);
  CHECK(tok.eos_token() == "<x>");
  CHECK(tok.eos_id() == 300);
  CHECK(tok.pad_id() == 256);
  CHECK(tok.chat_template() == "T");
  CHECK(tok.bos_token().empty());
}

TEST_CASE("biomatrix tokenizer: every vocabulary entry, merge and added token as a full nlohmann parse reads them") {
  const fs::path dir = bmx::test::shared_file("models/tokenizers/biomatrix");
  const auto tok = bmx::Tokenizer::from_dir(dir);
  const auto j = nlohmann::json::parse(bmx::test::read_file(dir / "tokenizer.json"));
  size_t checked = 0, wrong = 0;
  int64_t max_id = -1;
  for (const auto& [token, id] : j["model"]["vocab"].items()) {
    const auto want = id.get<int32_t>();
    max_id = std::max<int64_t>(max_id, want);
    if (tok.token_to_id(token) != want || tok.id_to_token(want) != token) ++wrong;
    ++checked;
  }
  REQUIRE(tok.added_tokens().size() == j["added_tokens"].size());
  size_t k = 0;
  for (const auto& a : j["added_tokens"]) {
    const auto want = a["id"].get<int32_t>();
    max_id = std::max<int64_t>(max_id, want);
    if (tok.token_to_id(a["content"].get<std::string>()) != want ||
        tok.id_to_token(want) != a["content"].get<std::string>() || tok.is_special(want) != a["special"].get<bool>())
      ++wrong;
    // Every field as the file has it (each element is taken field by field as it streams by).
    const bmx::AddedToken& t = tok.added_tokens()[k++];
    if (t.id != want || t.content != a["content"].get<std::string>() || t.special != a["special"].get<bool>() ||
        t.normalized != a["normalized"].get<bool>() || t.lstrip != a["lstrip"].get<bool>() ||
        t.rstrip != a["rstrip"].get<bool>() || t.single_word != a["single_word"].get<bool>())
      ++wrong;
    ++checked;
  }
  CHECK(wrong == 0);
  CHECK(checked == j["model"]["vocab"].size() + j["added_tokens"].size());
  CHECK(tok.vocab_size() == max_id + 1);
  CHECK_FALSE(tok.id_to_token(int32_t(max_id + 1)));
  const auto config = nlohmann::json::parse(bmx::test::read_file(dir / "tokenizer_config.json"));
  CHECK(tok.eos_token() == config["eos_token"].get<std::string>());
  CHECK(tok.pad_token() == config["pad_token"].get<std::string>());
  CHECK(tok.chat_template() == config["chat_template"].get<std::string>());
}

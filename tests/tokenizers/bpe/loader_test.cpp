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
  for (const auto& a : j["added_tokens"]) {
    const auto want = a["id"].get<int32_t>();
    max_id = std::max<int64_t>(max_id, want);
    if (tok.token_to_id(a["content"].get<std::string>()) != want ||
        tok.id_to_token(want) != a["content"].get<std::string>() || tok.is_special(want) != a["special"].get<bool>())
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

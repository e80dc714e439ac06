// Behaviour of the tokenizer on small hand-made tokenizer.json files (added-token options, merge formats,
// errors) and the decode rules on the real Qwen3 vocabulary.
#include <doctest/doctest.h>

#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "bmx/core/util/error.h"
#include "bmx/tokenizers/bpe_tokenizer.h"
#include "shared.h"

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

// GPT-2 byte symbols as UTF-8 strings.
std::vector<std::string> byte_symbols() {
  std::vector<std::string> out(256);
  int extra = 256;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    int cp = printable ? b : extra++;
    std::string s;
    if (cp < 0x80) s += char(cp);
    else {
      s += char(0xC0 | (cp >> 6));
      s += char(0x80 | (cp & 0x3F));
    }
    out[size_t(b)] = s;
  }
  return out;
}

// A tiny Qwen2-style tokenizer: 256 byte tokens, merges for "ab", "abc", " c" ("Ġc"), and the given
// added tokens (ids from 300).
json tiny_tokenizer(const json& added, bool merges_as_pairs = false) {
  json vocab = json::object();
  auto syms = byte_symbols();
  for (int b = 0; b < 256; ++b) vocab[syms[size_t(b)]] = b;
  vocab["ab"] = 256;
  vocab["abc"] = 257;
  vocab["Ġc"] = 258;
  json merges = merges_as_pairs ? json::parse(R"([["a","b"],["ab","c"],["Ġ","c"]])") : json::parse(R"(["a b","ab c","Ġ c"])");
  json pattern = {{"Regex",
                   "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
                   "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}};
  return {{"version", "1.0"},
          {"added_tokens", added},
          {"normalizer", {{"type", "NFC"}}},
          {"pre_tokenizer",
           {{"type", "Sequence"},
            {"pretokenizers",
             json::array({{{"type", "Split"}, {"pattern", pattern}, {"behavior", "Isolated"}, {"invert", false}},
                          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}}})}}},
          {"decoder", {{"type", "ByteLevel"}}},
          {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}}};
}

json added(int id, const std::string& content, bool special, bool normalized, bool lstrip = false,
           bool rstrip = false, bool single_word = false) {
  return {{"id", id},       {"content", content}, {"single_word", single_word}, {"lstrip", lstrip},
          {"rstrip", rstrip}, {"normalized", normalized}, {"special", special}};
}

fs::path write(const std::string& name, const std::string& text) {
  fs::path dir = bmx::test::scratch_dir("bpe_rules_" + name);
  std::ofstream(dir / "tokenizer.json", std::ios::binary) << text;
  return dir;
}

bmx::Tokenizer load(const std::string& name, const json& j) {
  return bmx::Tokenizer::from_dir(write(name, j.dump()));
}

using Ids = std::vector<int32_t>;

}  // namespace

TEST_CASE("tiny tokenizer: merges by rank, both merge formats") {
  for (bool pairs : {false, true}) {
    auto tok = load(pairs ? "pairs" : "strings", tiny_tokenizer(json::array(), pairs));
    CHECK(tok.encode("abc") == Ids{257});
    CHECK(tok.encode("abd") == Ids{256, 'd'});
    CHECK(tok.encode("x c") == Ids{'x', 258});
    CHECK(tok.decode({257, 258}) == "abc c");
    CHECK(tok.vocab_size() == 259);
    CHECK(tok.token_to_id("Ġc") == 258);
    CHECK(tok.id_to_token(256) == "ab");
  }
}

TEST_CASE("tiny tokenizer: ignore_merges takes a word that is in the vocabulary as one token") {
  json j = tiny_tokenizer(json::array());
  j["model"]["vocab"]["xyz"] = 259;  // no merge leads to it
  CHECK(load("merges_used", j).encode("xyz abc") == Ids{'x', 'y', 'z', ' ', 257});
  j["model"]["ignore_merges"] = true;
  auto tok = load("ignore_merges", j);
  CHECK(tok.encode("xyz abc") == Ids{259, ' ', 257});  // " abc" is not in the vocabulary: merges as usual
  CHECK(tok.encode("xyzw") == Ids{'x', 'y', 'z', 'w'});
}

TEST_CASE("tiny tokenizer: lstrip, rstrip, single_word and normalized added tokens") {
  json a = json::array({added(300, "<L>", true, false, /*lstrip*/ true), added(301, "<R>", false, false, false, /*rstrip*/ true),
                        added(302, "cat", false, false, false, false, /*single_word*/ true),
                        added(303, "\u00e9", false, /*normalized*/ true), added(304, "<raw>", false, false)});
  auto tok = load("options", tiny_tokenizer(a));
  // lstrip: the blanks before the token belong to it.
  CHECK(tok.encode("x  <L>y") == Ids{'x', 300, 'y'});
  // rstrip: the blanks after it.
  CHECK(tok.encode("x<R>  y") == Ids{'x', 301, 'y'});
  // single_word: only where it is not inside a word.
  CHECK(tok.encode("cat") == Ids{302});
  CHECK(tok.encode("a cat!") == Ids{'a', ' ', 302, '!'});  // byte tokens of the tiny vocabulary have id = byte
  CHECK(tok.encode("concat").size() == 6);
  CHECK(tok.encode("cats").size() == 4);
  // "Word" is \w of Rust's regex: '_' and combining marks are word characters, U+00B2 (No) is not.
  CHECK(tok.encode("cat_") == Ids{'c', 'a', 't', '_'});
  CHECK(tok.encode("_cat") == Ids{'_', 'c', 'a', 't'});
  CHECK(tok.encode("cat\xCC\x81") == Ids{'c', 'a', 't', 0xCC, 0x81});
  CHECK(tok.encode("cat\xC2\xB2") == Ids{302, 0xC2, 0xB2});
  CHECK(tok.encode("(cat)") == Ids{'(', 302, ')'});
  // normalized=true tokens are found after NFC: "e" + U+0301 composes to U+00E9.
  CHECK(tok.encode("e\xCC\x81") == Ids{303});
  CHECK(tok.encode("\xC3\xA9") == Ids{303});
  // normalized=false tokens match the raw text only; leftmost-longest over all of them.
  CHECK(tok.encode("<raw><raw>") == Ids{304, 304});
  // skip_special drops only special added tokens.
  CHECK(tok.decode({300, 304, 'a'}, true) == "<raw>a");
  CHECK(tok.decode({300, 304, 'a'}, false) == "<L><raw>a");
  CHECK(tok.is_special(300));
  CHECK(!tok.is_special(304));
}

TEST_CASE("tiny tokenizer: added tokens are matched leftmost-longest over all of them") {
  // Overlapping tokens: the match that starts first wins, then the longest of those starting there;
  // matching resumes after it (no overlapping matches).
  json a = json::array({added(300, "<x", true, false), added(301, "<xy>", true, false), added(302, "y>z", false, false),
                        added(303, "y>", false, false), added(304, "xy>z", false, false)});
  auto tok = load("leftmost", tiny_tokenizer(a));
  CHECK(tok.encode("<xy>z") == Ids{301, 'z'});         // longest at the leftmost start, not "<x" + "y>z"
  CHECK(tok.encode("<xy") == Ids{300, 'y'});           // "<xy>" incomplete: the shorter one
  CHECK(tok.encode("axy>z<x") == Ids{'a', 304, 300});  // "xy>z" starts before "y>z" and "y>"
  CHECK(tok.encode("y>zy>") == Ids{302, 303});
  // Special and non-special tokens compete on equal terms; order in the file does not matter.
  json b = json::array({added(303, "y>", false, false), added(301, "<xy>", true, false), added(300, "<x", true, false)});
  auto tok2 = load("leftmost_order", tiny_tokenizer(b));
  CHECK(tok2.encode("<xy>z") == Ids{301, 'z'});
  CHECK(tok2.encode("<x y>") == Ids{300, ' ', 303});
}

TEST_CASE("added tokens: random sets found as a brute-force leftmost-longest search finds them") {
  // Patterns over a small alphabet share prefixes, end inside one another and repeat (the first of equal ones
  // names the match); the text between matches is encoded on its own, as the Rust library does.
  std::mt19937 rng(7);
  const std::string alphabet = "ab<>";
  auto random_text = [&](size_t min, size_t max) {
    std::string t(std::uniform_int_distribution<size_t>(min, max)(rng), ' ');
    for (char& c : t) c = alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(rng)];
    return t;
  };
  for (int round = 0; round < 6; ++round) {
    const bool normalized = round % 2 == 1;  // the two matchers: raw text, and after NFC
    std::vector<std::string> patterns;
    json a = json::array();
    for (int k = 0; k < 30; ++k) {
      patterns.push_back(random_text(1, 5));
      a.push_back(added(300 + k, patterns.back(), !normalized, normalized));
    }
    const auto tok = load("random_added_" + std::to_string(round), tiny_tokenizer(a));
    for (int n = 0; n < 200; ++n) {
      const std::string text = random_text(0, 24);
      Ids want;
      std::string gap;
      for (size_t i = 0; i < text.size();) {
        int best = -1;
        for (size_t k = 0; k < patterns.size(); ++k)
          if (text.compare(i, patterns[k].size(), patterns[k]) == 0 &&
              (best < 0 || patterns[k].size() > patterns[size_t(best)].size()))
            best = int(k);
        if (best < 0) {
          gap += text[i++];
          continue;
        }
        for (int32_t id : tok.encode(gap, false)) want.push_back(id);
        gap.clear();
        want.push_back(300 + best);
        i += patterns[size_t(best)].size();
      }
      for (int32_t id : tok.encode(gap, false)) want.push_back(id);
      INFO("round " << round << ", text \"" << text << "\"");
      CHECK(tok.encode(text) == want);
    }
  }
}

TEST_CASE("decode: bytes joined before UTF-8 decoding, one U+FFFD per maximal invalid sequence") {
  auto tok = bmx::Tokenizer::from_dir(bmx::test::shared_file("models/tokenizers/qwen3"));
  auto byte_id = [&](unsigned char b) {
    auto syms = byte_symbols();
    return *tok.token_to_id(syms[b]);
  };
  const std::string fffd = "\xEF\xBF\xBD";
  int32_t im_end = *tok.token_to_id("<|im_end|>");
  // "世" = E4 B8 96 split by a special token: joined when the token is skipped.
  Ids split{byte_id(0xE4), im_end, byte_id(0xB8), byte_id(0x96)};
  CHECK(tok.decode(split, true) == "\xE4\xB8\x96");
  CHECK(tok.decode(split, false) == fffd + "<|im_end|>" + fffd + fffd);  // B8, 96 alone: one each
  CHECK(tok.decode({byte_id(0xE4), byte_id(0xBD)}) == fffd);                       // truncated sequence
  CHECK(tok.decode({byte_id(0xC0), byte_id(0x80)}) == fffd + fffd);               // overlong
  CHECK(tok.decode({byte_id(0xED), byte_id(0xA0), byte_id(0x80)}) == fffd + fffd + fffd);  // surrogate
  CHECK(tok.decode({byte_id(0xF4), byte_id(0x90), byte_id(0x80), byte_id(0x80)}) == fffd + fffd + fffd + fffd);
  CHECK(tok.decode({byte_id(0xFF), byte_id('a')}) == fffd + "a");
  CHECK(tok.decode({}) == "");
  // Ids outside the vocabulary are dropped, as the reference does.
  CHECK(tok.decode({byte_id('a'), 10'000'000, -1}) == "a");
  // <think> is an added but not special token: kept with skip_special.
  int32_t think = *tok.token_to_id("<think>");
  CHECK(!tok.is_special(think));
  CHECK(tok.decode({think}, true) == "<think>");
}

TEST_CASE("errors name the file: missing, corrupt and unsupported tokenizer.json") {
  fs::path empty = bmx::test::scratch_dir("bpe_rules_empty");
  CHECK_THROWS_WITH_AS(bmx::Tokenizer::from_dir(empty), doctest::Contains("tokenizer.json"), bmx::InputError);
  CHECK_THROWS_WITH_AS(bmx::Tokenizer::from_dir(bmx::test::scratch_dir("bpe_rules_missing") / "no_such_dir"),
                       doctest::Contains("no_such_dir"), bmx::InputError);
  fs::path corrupt = write("corrupt", "{\"model\": {\"vocab\": {\"a\": 0}, ");
  CHECK_THROWS_WITH_AS(bmx::Tokenizer::from_dir(corrupt), doctest::Contains((corrupt / "tokenizer.json").string().c_str()),
                       bmx::InputError);
  json j = tiny_tokenizer(json::array());
  j["model"]["merges"].push_back("ab zz");
  CHECK_THROWS_WITH_AS(load("bad_merge", j), doctest::Contains("not in the vocabulary"), bmx::InputError);
  j = tiny_tokenizer(json::array());
  j["model"].erase("vocab");
  CHECK_THROWS_WITH_AS(load("no_vocab", j), doctest::Contains("vocab"), bmx::InputError);
  j = tiny_tokenizer(json::array());
  j["model"]["type"] = "WordPiece";
  CHECK_THROWS_AS(load("wordpiece", j), bmx::UnsupportedError);
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    j = tiny_tokenizer(json::array());
    j["model"][key] = "##";
    CHECK_THROWS_WITH_AS(load(std::string("affix_") + key, j), doctest::Contains(key), bmx::UnsupportedError);
    j["model"][key] = "";
    CHECK_NOTHROW(load(std::string("no_affix_") + key, j));
  }
  j = tiny_tokenizer(json::array());
  j["model"]["dropout"] = 0.1;
  CHECK_THROWS_WITH_AS(load("dropout", j), doctest::Contains("dropout"), bmx::UnsupportedError);
  j["model"]["dropout"] = nullptr;
  CHECK_NOTHROW(load("no_dropout", j));
  j = tiny_tokenizer(json::array());
  j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\s+";
  CHECK_THROWS_WITH_AS(load("other_regex", j), doctest::Contains("Qwen2"), bmx::UnsupportedError);
  // A corrupt tokenizer_config.json is named too.
  fs::path dir = write("bad_config", tiny_tokenizer(json::array()).dump());
  std::ofstream(dir / "tokenizer_config.json") << "{ nope";
  CHECK_THROWS_WITH_AS(bmx::Tokenizer::from_dir(dir), doctest::Contains("tokenizer_config.json"), bmx::InputError);
  // The config is read on a second thread while tokenizer.json loads: when both are corrupt, tokenizer.json is the
  // one named (as when they were read one after the other), and nothing is left running.
  std::ofstream(dir / "tokenizer.json") << "[ nope";
  std::string message;
  try {
    bmx::Tokenizer::from_dir(dir);
  } catch (const bmx::InputError& e) {
    message = e.what();
  }
  CHECK(message.find("tokenizer.json") != std::string::npos);
  CHECK(message.find("tokenizer_config.json") == std::string::npos);
}

TEST_CASE("tiny tokenizer: a TemplateProcessing post-processor adds its tokens only with add_special_tokens") {
  json j = tiny_tokenizer(json::array({added(300, "<s>", true, false)}));
  j["post_processor"] = json::parse(R"({"type": "Sequence", "processors": [
      {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
      {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                                {"Sequence": {"id": "A", "type_id": 0}}],
       "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [300], "tokens": ["<s>"]}}}]})");
  auto tok = load("template", j);
  CHECK(tok.encode("abc", true) == Ids{300, 257});
  CHECK(tok.encode("abc", false) == Ids{257});
  j["decoder"] = {{"type", "WordPiece"}};
  CHECK_THROWS_AS(load("wordpiece_decoder", j), bmx::UnsupportedError);
}

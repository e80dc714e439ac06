#include "bmx/tokenizers/bpe_tokenizer.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <exception>
#include <functional>
#include <future>
#include <mutex>
#include <queue>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "added_token_matcher.h"
#include "bmx/core/util/big_allocator.h"
#include "bmx/core/util/error.h"
#include "bmx/core/util/parallel.h"
#include "bmx/core/io/json_file.h"
#include "merge_table.h"
#include "pretokenizer.h"
#include "tokenizer_json.h"
#include "unicode.h"
#include "vocab_build.h"
#include "vocab_map.h"

namespace bmx {
namespace {

using json = nlohmann::json;

// GPT-2's byte -> printable code point table.
std::vector<uint32_t> bytes_to_unicode() {
  std::vector<uint32_t> table(256);
  uint32_t extra = 256;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    table[b] = printable ? uint32_t(b) : extra++;
  }
  return table;
}

// Per-id strings back to back: text of id i is [ends[i-1], ends[i]).
struct StringsById {
  BigString text;
  BigVector<uint32_t> ends;
  size_t size() const { return ends.size(); }
  std::string_view operator[](size_t i) const {
    const uint32_t begin = i == 0 ? 0 : ends[i - 1];
    return std::string_view(text).substr(begin, ends[i] - begin);
  }
  void push_back(std::string_view s) {
    text.append(s);
    ends.push_back(uint32_t(text.size()));
  }
};

// Pre-token bytes -> ids, so each distinct word runs the merge loop once. Keys and values live in
// arenas; the table is cleared when it grows past a bound.
class WordCache {
public:
  static constexpr size_t kMaxWord = 256;  // longer words rarely repeat and are not cached
  WordCache() { slots_.assign(1 << 14, Slot{}); }
  bool get(std::string_view word, uint64_t h, std::vector<int32_t>& out) const {
    size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.key_len == kEmpty) return false;
      if (s.hash == h && s.key_len == word.size() && std::memcmp(keys_.data() + s.key_off, word.data(), word.size()) == 0) {
        out.insert(out.end(), ids_.begin() + s.ids_off, ids_.begin() + s.ids_off + s.ids_len);
        return true;
      }
    }
  }
  void put(std::string_view word, uint64_t h, const int32_t* ids, size_t n) {
    if (count_ >= kMaxEntries || keys_.size() > kMaxBytes) clear();
    if ((count_ + 1) * 2 > slots_.size()) grow();
    place(Slot{h, uint32_t(keys_.size()), uint32_t(word.size()), uint32_t(ids_.size()), uint32_t(n)});
    keys_.append(word);
    ids_.insert(ids_.end(), ids, ids + n);
    ++count_;
  }
  static uint64_t hash(std::string_view s) {
    uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
    return h ^ (h >> 29);
  }

private:
  static constexpr uint32_t kEmpty = ~uint32_t(0);
  static constexpr size_t kMaxEntries = 1 << 20, kMaxBytes = 64 << 20;
  struct Slot {
    uint64_t hash = 0;
    uint32_t key_off = 0, key_len = kEmpty, ids_off = 0, ids_len = 0;
  };
  void place(const Slot& slot) {
    size_t mask = slots_.size() - 1;
    size_t i = slot.hash & mask;
    while (slots_[i].key_len != kEmpty) i = (i + 1) & mask;
    slots_[i] = slot;
  }
  void grow() {
    std::vector<Slot> old(slots_.size() * 2, Slot{});
    old.swap(slots_);
    for (const Slot& s : old)
      if (s.key_len != kEmpty) place(s);
  }
  void clear() {
    slots_.assign(1 << 14, Slot{});
    keys_.clear();
    ids_.clear();
    count_ = 0;
  }
  std::vector<Slot> slots_;
  std::string keys_;
  std::vector<int32_t> ids_;
  size_t count_ = 0;
};

// The steps of a tokenizer.json section: one step, or {"type": "Sequence", list_key: [steps]}; none for null.
std::vector<json> steps_of(const json& section, const char* list_key) {
  std::vector<json> list;
  if (section.is_object() && section.value("type", "") == "Sequence" && section.contains(list_key))
    list = section[list_key].get<std::vector<json>>();
  else if (!section.is_null())
    list.push_back(section);
  return list;
}

// tokenizer_config.json writes special tokens as a string or as {"content": ...}.
std::string token_string(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return {};
}

}  // namespace

struct Tokenizer::Impl {
  std::string source;  // file name for messages
  VocabMap vocab;            // model vocabulary, byte-level strings
  StringsById id_to_token;   // model and added tokens
  // What decode emits per id: built by the first decode (151k ids, ~6 ms a load that only encodes need not pay).
  mutable StringsById id_bytes;
  mutable std::once_flag id_bytes_built;
  std::vector<uint8_t> id_special;
  std::vector<AddedToken> added;
  std::unordered_map<std::string, TokenId> added_by_content;
  AddedTokenMatcher raw_matcher, normalized_matcher;
  std::vector<int32_t> raw_ids, normalized_ids;  // matcher pattern -> index into `added`
  bool nfc = false;
  std::vector<TokenId> template_single;  // post-processor template: ids, -1 where the text goes
  TokenId byte_id[256];
  MergeTable merges;
  BigVector<MergeIds> resolved_merges;  // while loading: the merges' ids, looked up as the file was read
  bool ignore_merges = false;     // a word that is itself in the vocabulary is one token
  std::string byte_symbol[256];   // GPT-2 byte symbol of each byte, UTF-8
  mutable std::mutex cache_mutex;
  mutable WordCache cache;

  std::string chat_template, eos_token, pad_token, bos_token;
  std::string config_file;  // tokenizer_config.json, named in the chat template's errors

  // tokenizer.json, one function per section, in this order (the first problem found is the one reported).
  // `vocab` is the model vocabulary's map, built (on another thread) from file.vocab as the rest was read.
  void load(TokenizerJson& file, std::future<VocabBuild>& vocab);
  bool load_model(const TokenizerJson& file);  // returns whether the model names an unk_token
  void load_normalizer(const json& n);
  void load_post_processor(const json& p);
  void check_decoder(const json& d) const;
  void check_pre_tokenizer(const json& p) const;
  TokenId load_vocab(TokenizerJson& file, std::future<VocabBuild>& build);  // returns the highest id
  TokenId take_added_tokens(TokenizerJson& file);  // returns their highest id
  // Tables derived from the sections above.
  void build_id_tables(TokenId max_id, bool has_unk);
  void build_merges(const TokenizerJson& file);
  void build_id_bytes() const;
  void build_added_token_matchers();
  // tokenizer_config.json: chat template and special-token names.
  void load_config(const json& c);
  [[noreturn]] void bad(const std::string& msg) const { fail_input(source, msg); }
  [[noreturn]] void unsupported(const std::string& what) const {
    throw UnsupportedError(source + ": " + what + " is not supported");
  }
  void split_added(std::string_view text, const AddedTokenMatcher& m, const std::vector<int32_t>& ids,
                   std::vector<std::pair<std::string_view, TokenId>>& out) const;
  void encode_piece(std::string_view piece, std::vector<TokenId>& out) const;
  void bpe(std::string_view word, std::vector<TokenId>& out) const;
};

void Tokenizer::Impl::load(TokenizerJson& file, std::future<VocabBuild>& vocab_build) {
  const json& j = file.rest;
  if (!j.is_object()) bad("not a tokenizer.json (top level is not an object)");
  const bool has_unk = load_model(file);
  auto section = [&](const char* key) -> const json& {
    static const json none;
    return j.contains(key) ? j[key] : none;
  };
  load_normalizer(section("normalizer"));
  load_post_processor(section("post_processor"));
  check_decoder(section("decoder"));
  check_pre_tokenizer(section("pre_tokenizer"));
  // The added tokens need nothing of the vocabulary: taken, and their matchers built (on another thread), while
  // the vocabulary's thread finishes looking up the merges. Their problem is still reported after its.
  const std::string added_problem =
      j.contains("added_tokens") && !j["added_tokens"].is_array() ? "\"added_tokens\" is not an array" : file.added_problem;
  std::future<void> matchers;
  TokenId max_id = -1;
  if (added_problem.empty()) {
    max_id = take_added_tokens(file);
    matchers = start_async([this] { build_added_token_matchers(); });
  }
  max_id = std::max(max_id, load_vocab(file, vocab_build));
  if (!added_problem.empty()) bad(added_problem);
  // The id tables and the merges read what is loaded above and write nothing the other reads: built side by side.
  // A problem in the id tables is still reported before one in the merges.
  std::future<void> id_tables = start_async([this, max_id, has_unk] { build_id_tables(max_id, has_unk); });
  std::exception_ptr merges_failed;
  try {
    build_merges(file);
  } catch (...) {
    merges_failed = std::current_exception();
  }
  id_tables.get();
  if (merges_failed) std::rethrow_exception(merges_failed);
  if (matchers.valid()) matchers.get();
}

// "model": BPE and the options that change its output. ignore_merges is followed; byte fallback, word affixes and
// dropout (random segmentation) are refused rather than silently ignored.
bool Tokenizer::Impl::load_model(const TokenizerJson& file) {
  const json& j = file.rest;
  if (!j.contains("model") || !j["model"].is_object()) bad("no \"model\" object");
  const json& model = j["model"];
  std::string type = model.value("type", "BPE");
  if (type != "BPE") throw UnsupportedError(source + ": model type " + type + " is not supported (only BPE)");
  if (model.contains("byte_fallback") && model["byte_fallback"].is_boolean() && model["byte_fallback"].get<bool>())
    throw UnsupportedError(source + ": byte_fallback BPE is not supported");
  if (model.contains("dropout") && !model["dropout"].is_null() &&
      !(model["dropout"].is_number() && model["dropout"].get<double>() == 0.0))
    unsupported("BPE dropout");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (model.contains(key) && !model[key].is_null() && !(model[key].is_string() && model[key].get<std::string>().empty()))
      unsupported(std::string("BPE ") + key);
  ignore_merges = model.contains("ignore_merges") && model["ignore_merges"].is_boolean() && model["ignore_merges"].get<bool>();
  const bool has_unk = model.contains("unk_token") && !model["unk_token"].is_null();
  if (!file.has_vocab) bad("model has no \"vocab\" object");
  if (!file.has_merges) bad("model has no \"merges\" array");
  if (!file.problem.empty()) bad(file.problem);
  return has_unk;
}

// "normalizer": none or NFC (alone or in a Sequence).
void Tokenizer::Impl::load_normalizer(const json& n) {
  for (const json& x : steps_of(n, "normalizers")) {
    std::string t = x.value("type", "");
    if (t == "NFC") nfc = true;
    else throw UnsupportedError(source + ": normalizer " + t + " is not supported (only NFC)");
  }
}

// "post_processor": ByteLevel adds nothing; TemplateProcessing's single-sequence template adds its special tokens
// around the text when add_special_tokens is set.
void Tokenizer::Impl::load_post_processor(const json& p) {
  for (const json& x : steps_of(p, "processors")) {
    std::string t = x.value("type", "");
    if (t == "ByteLevel") continue;
    if (t != "TemplateProcessing" || !x.contains("single") || !x["single"].is_array())
      throw UnsupportedError(source + ": post-processor " + t + " is not supported");
    for (const json& piece : x["single"]) {
      if (piece.contains("Sequence")) {
        template_single.push_back(-1);
      } else if (piece.contains("SpecialToken")) {
        std::string name = piece["SpecialToken"].value("id", "");
        const json* st = nullptr;
        if (x.contains("special_tokens") && x["special_tokens"].contains(name)) st = &x["special_tokens"][name];
        if (!st || !st->contains("ids") || !(*st)["ids"].is_array())
          bad("post-processor special token " + name + " has no ids");
        for (const json& id : (*st)["ids"]) {
          // -1 marks the text's place in template_single: an id must be a real one.
          if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > 50'000'000)
            bad("post-processor special token " + name + " has id " + id.dump() + ", not a token id");
          template_single.push_back(TokenId(id.get<int64_t>()));
        }
      } else {
        bad("post-processor template piece " + piece.dump() + " is neither Sequence nor SpecialToken");
      }
    }
  }
}

// "decoder": ByteLevel (decode() maps the byte symbols back to bytes).
void Tokenizer::Impl::check_decoder(const json& d) const {
  if (d.is_null()) return;
  std::string t = d.value("type", "");
  if (t != "ByteLevel") throw UnsupportedError(source + ": decoder " + t + " is not supported (only ByteLevel)");
}

// "pre_tokenizer": the Qwen2 Split followed by ByteLevel without its own regex (pretokenizer.h implements it).
void Tokenizer::Impl::check_pre_tokenizer(const json& p) const {
  bool split = false, byte_level = false;
  for (const json& x : steps_of(p, "pretokenizers")) {
    std::string t = x.value("type", "");
    if (t == "Split" && !split) {
      std::string pattern;
      if (x.contains("pattern") && x["pattern"].is_object() && x["pattern"].contains("Regex"))
        pattern = x["pattern"]["Regex"].get<std::string>();
      if (pattern != pretok::qwen2_pattern || x.value("behavior", "") != "Isolated" || x.value("invert", false))
        throw UnsupportedError(source + ": pre-tokenizer Split pattern is not the Qwen2 pattern (unsupported)");
      split = true;
    } else if (t == "ByteLevel" && !byte_level) {
      if (x.value("use_regex", true) || x.value("add_prefix_space", false))
        throw UnsupportedError(source + ": ByteLevel pre-tokenizer with its own regex or prefix space is not supported");
      byte_level = true;
    } else {
      throw UnsupportedError(source + ": pre-tokenizer " + t + " is not supported");
    }
  }
  if (!split || !byte_level)
    throw UnsupportedError(source + ": only the Qwen2 pre-tokenizer (Split + ByteLevel) is supported");
}

// "model.vocab", streamed by read_tokenizer_json into file.vocab (released here).
TokenId Tokenizer::Impl::load_vocab(TokenizerJson& file, std::future<VocabBuild>& build) {
  VocabBuild b = build.valid() ? build.get() : build_vocab(file);
  if (!b.problem.empty()) bad(b.problem);
  vocab = std::move(b.map);
  resolved_merges = std::move(b.merges);
  file.vocab = {};
  return b.max_id;
}

// "added_tokens": special and ordinary tokens cut out of the text before BPE (converted and checked as the file
// was read: tokenizer_json.cpp).
TokenId Tokenizer::Impl::take_added_tokens(TokenizerJson& file) {
  TokenId max_id = -1;
  added = std::move(file.added);
  added_by_content.reserve(added.size());
  for (const AddedToken& t : added) {
    max_id = std::max(max_id, t.id);
    added_by_content.emplace(t.content, t.id);
  }
  return max_id;
}

// Per id: its token string and whether it is special; per byte: its GPT-2 symbol and id (what decode emits per id
// is built on first use: build_id_bytes).
void Tokenizer::Impl::build_id_tables(TokenId max_id, bool has_unk) {
  // Where each id's text comes from: a vocab entry (>= 0), an added token (-2 - index) or none (-1). Of vocab
  // entries sharing an id the last in file order names it; an added token replaces both.
  BigVector<int32_t> source(size_t(max_id + 1), -1);
  const auto& entries = vocab.entries();
  for (size_t k = 0; k < entries.size(); ++k) source[size_t(entries[k].id)] = int32_t(k);
  for (size_t k = 0; k < added.size(); ++k) source[size_t(added[k].id)] = -2 - int32_t(k);
  auto text_of = [&](size_t id) -> std::string_view {
    const int32_t s = source[id];
    if (s >= 0) return vocab.key(entries[size_t(s)]);
    if (s == -1) return {};
    return added[size_t(-2 - s)].content;
  };
  size_t total = 0;
  for (size_t id = 0; id < source.size(); ++id) total += text_of(id).size();
  if (total > UINT32_MAX) bad("the token texts hold more than 4 GiB");
  id_to_token.text.reserve(total);
  id_to_token.ends.reserve(source.size());
  for (size_t id = 0; id < source.size(); ++id) id_to_token.push_back(text_of(id));

  const auto b2u = bytes_to_unicode();
  for (int b = 0; b < 256; ++b) {
    std::string s;
    unicode::append_utf8(s, b2u[b]);
    byte_id[b] = vocab.find(s);  // missing bytes are dropped, as without unk
    if (byte_id[b] < 0 && has_unk) unsupported("an unk_token with bytes missing from the vocabulary");
    byte_symbol[b] = s;
  }
  id_special.assign(id_to_token.size(), 0);
  // Special: every id whose text is a special added token's content. Such an id's text comes from an added
  // token or from the vocabulary entry with that key, so only those ids are compared.
  std::unordered_set<std::string_view> special_contents;  // views of added[].content, which outlives this
  for (const AddedToken& t : added)
    if (t.special) special_contents.insert(t.content);
  auto mark_if_special = [&](TokenId id) {
    if (id >= 0 && size_t(id) < id_special.size() && special_contents.count(id_to_token[size_t(id)]))
      id_special[size_t(id)] = 1;
  };
  for (const std::string_view content : special_contents) mark_if_special(vocab.find(content));
  for (const AddedToken& t : added) mark_if_special(t.id);
  if (special_contents.count(std::string_view()))  // a special token with empty content: every id without text
    for (size_t id = 0; id < id_to_token.size(); ++id)
      if (id_to_token[id].empty()) id_special[id] = 1;
}

// Each id's text with GPT-2's byte symbols mapped back to bytes (a text with other characters is kept as it is).
void Tokenizer::Impl::build_id_bytes() const {
  const auto b2u = bytes_to_unicode();
  std::vector<int16_t> u2b(512, -1);  // code point -> byte, -1 where no byte maps there (all are below 512)
  for (int b = 0; b < 256; ++b) u2b[b2u[b]] = int16_t(b);
  id_bytes.text.reserve(id_to_token.text.size());
  id_bytes.ends.reserve(id_to_token.size());
  std::string bytes;
  for (size_t id = 0; id < id_to_token.size(); ++id) {
    const std::string_view tok = id_to_token[id];
    bytes.clear();
    bool all_mapped = true;
    for (size_t i = 0; i < tok.size();) {
      const uint32_t cp = unicode::next_cp(tok, i);
      if (cp >= u2b.size() || u2b[cp] < 0) {
        all_mapped = false;
        break;
      }
      bytes += char(u2b[cp]);
    }
    id_bytes.push_back(all_mapped ? std::string_view(bytes) : tok);
  }
}

// "model.merges" ("left right" strings or ["left", "right"] pairs, split by read_tokenizer_json), in rank order.
// Their ids were usually looked up while the file was read (vocab_build.h); the inserts follow in rank order, so
// a repeated pair keeps its first rank.
void Tokenizer::Impl::build_merges(const TokenizerJson& file) {
  const size_t n = file.merges.size();
  BigVector<MergeIds> ids = std::move(resolved_merges);
  // Not looked up while the file was read (one core, or the vocabulary came after the merges): here, on two
  // threads. A failure (bad_alloc on a huge token) is carried back to this thread and thrown after both halves ran.
  std::exception_ptr failure[2];
  if (ids.size() != n) {
    ids.resize(n);
    const std::size_t parts = n >= 4096 ? 2 : 1;
    parallel_for(parts, int(parts), [&](std::size_t part) {
      try {
        const size_t from = part * n / parts, to = (part + 1) * n / parts;
        look_up_merges(file, file.merge_text.data(), vocab, from, to, ids.data() + from);
      } catch (...) {
        failure[part] = std::current_exception();
      }
    });
  }
  for (const auto& f : failure)
    if (f) std::rethrow_exception(f);
  merges.reserve(n);
  for (size_t rank = 0; rank < n; ++rank) {
    const MergeIds& m = ids[rank];
    if (m.left < 0 || m.right < 0 || m.merged < 0)
      bad("merge " + std::to_string(rank) + " (" + std::string(file.merge_side(file.merges[rank].first)) + " " +
          std::string(file.merge_side(file.merges[rank].second)) + ") uses a token not in the vocabulary");
    merges.insert(m.left, m.right, uint32_t(rank), m.merged);
  }
}

// Added-token matchers: tokens with normalized=false are found in the raw text, the others after NFC.
void Tokenizer::Impl::build_added_token_matchers() {
  std::vector<std::string> nfc_forms;  // of the normalized tokens, when the normalizer is NFC
  std::vector<std::string_view> raw_patterns, norm_patterns;
  for (size_t i = 0; i < added.size(); ++i) {
    if (added[i].normalized) {
      if (nfc) nfc_forms.push_back(unicode::nfc(added[i].content));
      normalized_ids.push_back(int32_t(i));
    } else {
      raw_patterns.push_back(added[i].content);
      raw_ids.push_back(int32_t(i));
    }
  }
  for (size_t k = 0; k < normalized_ids.size(); ++k)
    norm_patterns.push_back(nfc ? std::string_view(nfc_forms[k]) : std::string_view(added[size_t(normalized_ids[k])].content));
  raw_matcher.build(raw_patterns);
  normalized_matcher.build(norm_patterns);
}

namespace {

uint32_t last_cp(std::string_view s) {
  size_t i = s.size();
  while (i > 0 && (static_cast<unsigned char>(s[i - 1]) & 0xC0) == 0x80) --i;
  if (i > 0) --i;
  size_t j = i;
  return unicode::next_cp(s, j);
}

}  // namespace

// Cuts `text` at added-token matches; pieces of ordinary text get id -1. Mirrors
// AddedVocabulary::find_matches of the Rust library (single_word, lstrip, rstrip).
void Tokenizer::Impl::split_added(std::string_view text, const AddedTokenMatcher& m, const std::vector<int32_t>& ids,
                                  std::vector<std::pair<std::string_view, TokenId>>& out) const {
  if (m.empty()) {
    out.emplace_back(text, -1);
    return;
  }
  size_t start_offset = 0, from = 0;
  while (true) {
    auto match = m.find(text, from);
    if (match.pattern < 0) break;
    from = match.end;
    const AddedToken& t = added[size_t(ids[size_t(match.pattern)])];
    size_t start = match.start, stop = match.end;
    if (t.single_word) {
      bool start_space = start == 0 || !unicode::is_word_char(last_cp(text.substr(0, start)));
      size_t k = stop;
      bool stop_space = stop == text.size() || !unicode::is_word_char(unicode::next_cp(text, k));
      if (!start_space || !stop_space) continue;
    }
    if (t.lstrip) {
      size_t s = start;
      while (s > 0) {
        size_t b = s - 1;
        while (b > 0 && (static_cast<unsigned char>(text[b]) & 0xC0) == 0x80) --b;
        size_t k = b;
        if (!unicode::is_whitespace(unicode::next_cp(text, k))) break;
        s = b;
      }
      start = std::max(s, start_offset);
    }
    if (t.rstrip) {
      while (stop < text.size()) {
        size_t k = stop;
        if (!unicode::is_whitespace(unicode::next_cp(text, k))) break;
        stop = k;
      }
    }
    if (start_offset < start) out.emplace_back(text.substr(start_offset, start - start_offset), -1);
    out.emplace_back(text.substr(start, stop - start), t.id);
    start_offset = stop;
  }
  if (start_offset < text.size()) out.emplace_back(text.substr(start_offset), -1);
}

void Tokenizer::Impl::bpe(std::string_view word, std::vector<TokenId>& out) const {
  if (word.size() == 1) {
    TokenId id = byte_id[static_cast<unsigned char>(word[0])];
    if (id >= 0) out.push_back(id);
    return;
  }
  if (ignore_merges) {
    thread_local std::string symbols;
    symbols.clear();
    for (unsigned char b : word) symbols += byte_symbol[b];
    if (const TokenId id = vocab.find(symbols); id >= 0) {
      out.push_back(id);
      return;
    }
  }
  const bool cacheable = word.size() <= WordCache::kMaxWord;
  uint64_t h = 0;
  if (cacheable) {
    h = WordCache::hash(word);
    std::lock_guard<std::mutex> lock(cache_mutex);
    if (cache.get(word, h, out)) return;
  }
  // rank/merged: the merge of this symbol with the next one (rank kNone when they do not merge), kept
  // current so that a popped heap entry is checked without another table lookup.
  constexpr uint32_t kNone = ~uint32_t(0);
  struct Sym {
    int32_t id;
    int32_t prev, next;
    uint32_t rank;
    int32_t merged;
  };
  thread_local std::vector<Sym> syms;
  syms.clear();
  for (unsigned char b : word) {
    int32_t id = byte_id[b];
    if (id < 0) continue;
    int32_t i = int32_t(syms.size());
    syms.push_back({id, i - 1, i + 1, kNone, -1});
  }
  if (!syms.empty()) syms.back().next = -1;
  // Min-heap of (rank << 32 | position): the lowest rank merges first, the leftmost on ties (the order of
  // the Rust library). A merged symbol keeps the index of its left part, so indices stay in text order.
  // Entries go stale when a neighbour merges; they are recognised at pop time because the symbol's
  // current pair no longer has that rank.
  thread_local std::vector<uint64_t> heap;
  heap.clear();
  auto pair_rank = [&](Sym& s) {
    if (s.next < 0 || !merges.find(s.id, syms[size_t(s.next)].id, s.rank, s.merged)) s.rank = kNone;
    return s.rank;
  };
  for (size_t i = 0; i + 1 < syms.size(); ++i)
    if (pair_rank(syms[i]) != kNone) heap.push_back(uint64_t(syms[i].rank) << 32 | i);
  std::greater<uint64_t> later;
  std::make_heap(heap.begin(), heap.end(), later);
  auto push = [&](int32_t pos) {
    if (pair_rank(syms[size_t(pos)]) == kNone) return;
    heap.push_back(uint64_t(syms[size_t(pos)].rank) << 32 | uint32_t(pos));
    std::push_heap(heap.begin(), heap.end(), later);
  };
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    uint64_t top = heap.back();
    heap.pop_back();
    auto pos = int32_t(uint32_t(top));
    Sym& s = syms[size_t(pos)];
    if (s.id < 0 || s.rank != uint32_t(top >> 32)) continue;  // merged away, or its pair changed
    Sym& r = syms[size_t(s.next)];
    s.id = s.merged;
    s.next = r.next;
    r.id = -1;
    if (s.next >= 0) syms[size_t(s.next)].prev = pos;
    if (s.prev >= 0) push(s.prev);
    push(pos);
  }
  size_t first = out.size();
  for (int32_t i = syms.empty() ? -1 : 0; i >= 0; i = syms[size_t(i)].next) out.push_back(syms[size_t(i)].id);
  if (!cacheable) return;
  std::lock_guard<std::mutex> lock(cache_mutex);
  cache.put(word, h, out.data() + first, out.size() - first);
}

void Tokenizer::Impl::encode_piece(std::string_view piece, std::vector<TokenId>& out) const {
  for (size_t pos = 0; pos < piece.size();) {
    size_t end = pretok::qwen2_match(piece, pos);
    bpe(piece.substr(pos, end - pos), out);
    pos = end;
  }
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_file(const std::filesystem::path& tokenizer_json) {
  auto impl = std::make_unique<Impl>();
  impl->source = tokenizer_json.string();
  TokenizerJson file;
  // The vocabulary's map, then the merges' ids, are built on a second thread while the parser reads on
  // (vocab_build.h). Declared after `file`, which it reads: a build still running when loading fails is waited for
  // before the file goes.
  std::future<VocabBuild> vocab;
  read_tokenizer_json(impl->source, file, [&] { vocab = start_async([&file] { return build_vocab(file); }); });
  // A field of the wrong type ("special": "yes") that no check above caught is still one line naming the file,
  // not the JSON library's type_error.
  try {
    impl->load(file, vocab);
  } catch (const json::exception& e) {
    impl->bad("a field has the wrong type: " + json_error_text(e));
  }
  return Tokenizer(std::move(impl));
}

// tokenizer_config.json: the chat template (a string, or a list of named templates) and the special tokens' names.
void Tokenizer::Impl::load_config(const json& c) {
  if (c.contains("chat_template")) {
    const json& ct = c["chat_template"];
    if (ct.is_string()) {
      chat_template = ct.get<std::string>();
    } else if (ct.is_array()) {  // [{"name": "default", "template": ...}, ...]
      for (const json& e : ct)
        if (e.is_object() && e.value("name", "") == "default" && e.contains("template") && e["template"].is_string())
          chat_template = e["template"].get<std::string>();
    }
  }
  if (c.contains("eos_token")) eos_token = token_string(c["eos_token"]);
  if (c.contains("pad_token")) pad_token = token_string(c["pad_token"]);
  if (c.contains("bos_token")) bos_token = token_string(c["bos_token"]);
}

Tokenizer Tokenizer::from_dir(const std::filesystem::path& dir) {
  if (!std::filesystem::is_directory(dir)) fail_input(dir.string(), "not a directory");
  const auto config_path = dir / "tokenizer_config.json";
  // Only the keys load_config reads are built: the rest of the file (16k added_tokens_decoder entries for
  // BioMatrix, 2 MB) is checked as JSON and dropped. It is read on a second thread while tokenizer.json loads.
  std::future<json> config;
  if (std::filesystem::exists(config_path))
    config = start_async([&] {  // on one core, or with no thread to be had: read after tokenizer.json
      return read_tokenizer_config(config_path.string(), {"chat_template", "eos_token", "pad_token", "bos_token"});
    });
  Tokenizer t = from_file(dir / "tokenizer.json");
  if (config.valid()) {
    const json c = config.get();
    t.impl_->config_file = config_path.string();
    try {
      t.impl_->load_config(c);
    } catch (const json::exception& e) {
      fail_input(config_path.string(), "a field has the wrong type: " + json_error_text(e));
    }
  }
  return t;
}

std::vector<TokenId> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  if (add_special_tokens && !impl_->template_single.empty()) {
    std::vector<TokenId> body = encode(text, false), ids;
    for (TokenId id : impl_->template_single) {
      if (id >= 0) ids.push_back(id);
      else ids.insert(ids.end(), body.begin(), body.end());
    }
    return ids;
  }
  std::vector<TokenId> ids;
  ids.reserve(text.size() / 3 + 4);
  std::vector<std::pair<std::string_view, TokenId>> pieces, sub;
  impl_->split_added(text, impl_->raw_matcher, impl_->raw_ids, pieces);
  std::string normalized;
  for (const auto& [piece, id] : pieces) {
    if (id >= 0) {
      ids.push_back(id);
      continue;
    }
    std::string_view text_piece = piece;
    if (impl_->nfc && unicode::may_change_under_nfc(piece)) {
      normalized = unicode::nfc(piece);
      text_piece = normalized;
    }
    if (impl_->normalized_matcher.empty()) {
      impl_->encode_piece(text_piece, ids);
      continue;
    }
    sub.clear();
    impl_->split_added(text_piece, impl_->normalized_matcher, impl_->normalized_ids, sub);
    for (const auto& [p, sid] : sub) {
      if (sid >= 0) ids.push_back(sid);
      else impl_->encode_piece(p, ids);
    }
  }
  return ids;
}

std::string Tokenizer::decode(const std::vector<TokenId>& ids, bool skip_special_tokens) const {
  std::call_once(impl_->id_bytes_built, [this] { impl_->build_id_bytes(); });
  std::string bytes;
  for (TokenId id : ids) {
    if (id < 0 || size_t(id) >= impl_->id_bytes.size() || impl_->id_to_token[size_t(id)].empty()) continue;
    if (skip_special_tokens && impl_->id_special[size_t(id)]) continue;
    bytes.append(impl_->id_bytes[size_t(id)]);
  }
  return unicode::utf8_lossy(bytes);
}

std::optional<TokenId> Tokenizer::token_to_id(std::string_view token) const {
  std::string key(token);
  if (auto it = impl_->added_by_content.find(key); it != impl_->added_by_content.end()) return it->second;
  if (const TokenId id = impl_->vocab.find(token); id >= 0) return id;
  return std::nullopt;
}

std::optional<std::string> Tokenizer::id_to_token(TokenId id) const {
  if (id < 0 || size_t(id) >= impl_->id_to_token.size() || impl_->id_to_token[size_t(id)].empty()) return std::nullopt;
  return std::string(impl_->id_to_token[size_t(id)]);
}

int32_t Tokenizer::vocab_size() const { return int32_t(impl_->id_to_token.size()); }
const std::vector<AddedToken>& Tokenizer::added_tokens() const { return impl_->added; }
bool Tokenizer::is_special(TokenId id) const {
  return id >= 0 && size_t(id) < impl_->id_special.size() && impl_->id_special[size_t(id)];
}
const std::string& Tokenizer::chat_template() const { return impl_->chat_template; }
const std::string& Tokenizer::config_file() const { return impl_->config_file; }
const std::string& Tokenizer::eos_token() const { return impl_->eos_token; }
const std::string& Tokenizer::pad_token() const { return impl_->pad_token; }
const std::string& Tokenizer::bos_token() const { return impl_->bos_token; }
std::optional<TokenId> Tokenizer::eos_id() const {
  return impl_->eos_token.empty() ? std::nullopt : token_to_id(impl_->eos_token);
}
std::optional<TokenId> Tokenizer::pad_id() const {
  return impl_->pad_token.empty() ? std::nullopt : token_to_id(impl_->pad_token);
}
std::optional<TokenId> Tokenizer::bos_id() const {
  return impl_->bos_token.empty() ? std::nullopt : token_to_id(impl_->bos_token);
}

}  // namespace bmx

#include "modality_vocabulary.h"

#include <algorithm>

#include "bmx/core/util/error.h"
#include "bmx/tokenizers/bpe_tokenizer.h"
#include "selfies_alphabet.h"

namespace bmx {

void TokenTrie::build(std::vector<std::pair<std::string, TokenId>> texts) {
  std::sort(texts.begin(), texts.end());
  nodes.assign(1, Node{});
  // Sorted texts share prefixes with their predecessor: walk down the path of the previous text.
  std::vector<int32_t> path{0};
  std::string prev;
  for (auto& [text, id] : texts) {
    if (text.empty()) continue;
    size_t common = 0;
    while (common < prev.size() && common < text.size() && prev[common] == text[common]) ++common;
    path.resize(common + 1);
    for (size_t k = common; k < text.size(); ++k) {
      const int32_t parent = path.back();
      Node n;
      n.byte = static_cast<unsigned char>(text[k]);
      nodes.push_back(n);
      const int32_t idx = int32_t(nodes.size() - 1);
      // Appended in byte order: the new node goes after the parent's last child.
      int32_t c = nodes[size_t(parent)].first_child;
      if (c < 0) {
        nodes[size_t(parent)].first_child = idx;
      } else {
        while (nodes[size_t(c)].next_sibling >= 0) c = nodes[size_t(c)].next_sibling;
        nodes[size_t(c)].next_sibling = idx;
      }
      path.push_back(idx);
    }
    if (nodes[size_t(path.back())].token < 0) nodes[size_t(path.back())].token = id;
    prev = text;
  }
}

void SymbolTrie::add(const std::string& body, const selfies::detail::Symbol& s) {
  int32_t node = 0;
  for (char c : body) {
    const unsigned u = static_cast<unsigned char>(c);
    if (u < 32 || u > 126) return;
    int32_t next = nodes[size_t(node)].child[u - 32];
    if (next < 0) {
      next = int32_t(nodes.size());
      nodes[size_t(node)].child[u - 32] = next;
      nodes.emplace_back();
    }
    node = next;
  }
  if (nodes[size_t(node)].symbol >= 0) return;
  nodes[size_t(node)].symbol = int32_t(symbols.size());
  symbols.push_back({"[" + body + "]", s});
}

void SymbolTrie::finish() {
  // Children always have higher indices than their parent: one backward pass settles every node.
  min_rest.assign(nodes.size(), 1 << 20);
  for (size_t k = nodes.size(); k-- > 0;) {
    if (nodes[k].symbol >= 0) min_rest[k] = 0;
    for (int32_t c : nodes[k].child)
      if (c >= 0) min_rest[k] = std::min(min_rest[k], min_rest[size_t(c)] + 1);
  }
}

namespace {

bool is_index_symbol(std::string_view text) { return text == "[C]" || selfies::detail::index_value(text) > 0; }

bool all_smiles_chars(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return is_smiles_char(c); });
}

// Symbols a generated segment may use: what the derivation can read, less [nop] and [epsilon], which the
// encoder never writes and which would only make segments that mean less than they say.
bool usable(const selfies::detail::Symbol& s) {
  using selfies::detail::SymbolKind;
  return s.kind == SymbolKind::atom || s.kind == SymbolKind::branch || s.kind == SymbolKind::ring;
}

}  // namespace

std::shared_ptr<const ModalityVocabulary> analyse_vocabulary(const Tokenizer& tok,
                                                             const std::vector<TokenId>& end_of_answer_ids) {
  auto v = std::make_shared<ModalityVocabulary>();
  v->vocab_size = tok.vocab_size();
  for (int m = 0; m < kModalityCount; ++m) {
    const auto mod = Modality(m);
    const auto s = tok.token_to_id(start_marker(mod)), e = tok.token_to_id(end_marker(mod));
    if (!s || !e)
      throw InputError("the tokenizer has no BioMatrix token " + std::string(!s ? start_marker(mod) : end_marker(mod)) +
                       " (a plain Qwen3 tokenizer?): modality segments need BioMatrix's vocabulary");
    v->start_id[size_t(m)] = *s;
    v->end_id[size_t(m)] = *e;
  }
  v->end_of_answer = end_of_answer_ids;
  for (const char* t : {"<|im_end|>", "<|endoftext|>"})
    if (auto id = tok.token_to_id(t)) v->end_of_answer.push_back(*id);

  bool whole_residue = false, whole_structure = false, whole_sfi_atom = false, whole_sfi_index = false;
  bool whole_3d_atom = false, whole_3d_index = false;
  std::vector<std::pair<std::string, TokenId>> texts;
  texts.reserve(size_t(v->vocab_size));
  v->texts.resize(size_t(v->vocab_size));
  auto add_symbol = [&](std::string_view body) {
    const std::string text = "[" + std::string(body) + "]";
    const auto s = selfies::detail::classify(text);
    if (!usable(s)) return s;
    v->all_symbols.add(std::string(body), s);
    if (is_index_symbol(text)) v->index_symbols.add(std::string(body), s);
    return s;
  };
  for (TokenId id = 0; id < v->vocab_size; ++id) {
    if (tok.is_special(id)) continue;
    std::string text = tok.decode({id});
    if (text.empty()) continue;
    if (all_smiles_chars(text)) v->smiles_tokens.push_back(id);
    if (match_residue_token(text, 0) && text.size() == 5) whole_residue = true;
    if (auto st = match_structure_token(text, 0); st && st->in_range && st->length == text.size()) whole_structure = true;
    if (auto m3 = match_mol3d_token(text, 0); m3 && m3->in_range && m3->length == text.size()) {
      const auto s = add_symbol(m3->symbol);
      if (usable(s)) {
        const bool index = is_index_symbol("[" + std::string(m3->symbol) + "]");
        if (m3->code >= 0 && s.kind == selfies::detail::SymbolKind::atom) whole_3d_atom = true;
        if (m3->code < 0 && index) whole_3d_index = true;
      }
    } else if (size_t n = match_selfies_symbol(text, 0); n == text.size()) {
      const auto s = add_symbol(std::string_view(text).substr(1, n - 2));
      if (usable(s)) {
        if (s.kind == selfies::detail::SymbolKind::atom) whole_sfi_atom = true;
        if (is_index_symbol(text)) whole_sfi_index = true;
      }
    }
    texts.emplace_back(text, id);
    v->texts[size_t(id)] = std::move(text);
  }
  // Branch and ring lengths are always spelled with the index alphabet, whether or not the vocabulary has them.
  for (const char* body : {"C", "Ring1", "Ring2", "Branch1", "=Branch1", "#Branch1", "Branch2", "=Branch2",
                           "#Branch2", "O", "N", "=N", "=C", "#C", "S", "P"})
    add_symbol(body);
  v->trie.build(std::move(texts));
  v->all_symbols.finish();
  v->index_symbols.finish();

  size_t longest = 0;
  for (const auto& e : v->all_symbols.symbols) longest = std::max(longest, e.text.size());
  // The rest of a half-written token: at most the symbol's body (its brackets' length stands for "[" and " ")
  // and "-1]"; <S n> and <A X> need at most 4 more characters.
  v->max_partial = std::max<int>(int(longest) + 3, 4);
  v->cost_residue = whole_residue ? 1 : 5;
  v->cost_structure = whole_structure ? 1 : 5;
  v->cost_selfies_atom = whole_sfi_atom ? 1 : 3;
  v->cost_selfies_index = whole_sfi_index ? 1 : 3;
  v->cost_mol3d_atom = whole_3d_atom ? 1 : 5;
  v->cost_mol3d_index = whole_3d_index ? 1 : 6;
  return v;
}

}  // namespace bmx

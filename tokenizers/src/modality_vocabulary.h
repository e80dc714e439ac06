// The vocabulary as the modality constraint sees it: every token's text in a byte trie (so that one walk finds
// every token a grammar state accepts, whole or as a BPE piece), the SELFIES symbols the vocabulary knows in
// a character trie, the marker ids, and what the cheapest token of each kind costs (for the token budget).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "bmx/tokenizers/modality.h"
#include "bmx/tokenizers/modality_constraint.h"
#include "selfies_derivation.h"

namespace bmx {

// A trie over token texts: children of a node are a sibling list in byte order.
struct TokenTrie {
  struct Node {
    int32_t first_child = -1, next_sibling = -1;
    TokenId token = -1;  // the token whose text ends here
    unsigned char byte = 0;
  };
  std::vector<Node> nodes;  // nodes[0] is the root
  void build(std::vector<std::pair<std::string, TokenId>> texts);
};

// The SELFIES symbols (without brackets) the vocabulary writes, each classified by the derivation.
struct SymbolTrie {
  struct Node {
    std::array<int32_t, 95> child;  // printable ASCII ' '..'~'
    int32_t symbol = -1;            // index into `symbols` when a symbol ends here
    Node() { child.fill(-1); }
  };
  struct Entry {
    std::string text;  // with brackets, as the derivation reads it
    selfies::detail::Symbol symbol;
  };
  std::vector<Node> nodes{1};
  std::vector<Entry> symbols;
  std::vector<int32_t> min_rest;  // per node: fewest characters to the end of a symbol (filled by finish())
  void add(const std::string& body, const selfies::detail::Symbol& s);
  void finish();
  int32_t step(int32_t node, char c) const {
    const unsigned u = static_cast<unsigned char>(c);
    return u < 32 || u > 126 ? -1 : nodes[size_t(node)].child[u - 32];
  }
};

class ModalityVocabulary {
 public:
  TokenTrie trie;                 // every non-special token (modality tokens included)
  std::vector<std::string> texts; // per id: the token's text (empty for special tokens)
  SymbolTrie all_symbols;         // symbols that may stand where the derivation reads an atom, branch or ring
  SymbolTrie index_symbols;       // the 16 symbols that spell branch and ring lengths
  std::array<TokenId, kModalityCount> start_id{}, end_id{};
  std::vector<TokenId> end_of_answer;  // eos / <|im_end|> / <|endoftext|>
  std::vector<TokenId> smiles_tokens;  // tokens made only of SMILES characters
  int64_t vocab_size = 0;
  // Fewest tokens that write one more modality token of a kind (1 when the vocabulary has it whole).
  int cost_residue = 1, cost_structure = 1, cost_selfies_atom = 1, cost_selfies_index = 1;
  int cost_mol3d_atom = 1, cost_mol3d_index = 1;
  int max_partial = 0;  // most characters a half-written modality token still needs
};

}  // namespace bmx

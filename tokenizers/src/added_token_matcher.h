// Finds added tokens in text: leftmost-longest over all patterns at once (the rule of the Aho-Corasick
// automaton the Rust library uses), with a byte trie and a first-byte filter so that text without
// candidate first bytes is skipped at memchr-like speed.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

namespace bmx {

class AddedTokenMatcher {
public:
  // pattern index = position in `patterns`; empty patterns are ignored, and of equal ones the first counts.
  void build(const std::vector<std::string_view>& patterns);
  bool empty() const { return nodes_.size() <= 1; }

  struct Match {
    size_t start = 0, end = 0;
    int pattern = -1;
  };
  // First match starting at or after `from` (pattern -1 when none).
  Match find(std::string_view text, size_t from) const;

private:
  // The trie in two flat tables, breadth first: a node's edges sit together in `edges_`, sorted by byte (16k
  // patterns built as nodes that each held a vector of edges were ~5 ms of a tokenizer's load).
  struct Node {
    int32_t pattern = -1;
    uint32_t first_edge = 0, edges = 0;
  };
  struct Edge {
    unsigned char byte;
    uint32_t node;
  };
  uint32_t child(uint32_t node, unsigned char b) const;
  std::vector<Node> nodes_;
  std::vector<Edge> edges_;
  bool first_byte_[256] = {};
};

}  // namespace bmx

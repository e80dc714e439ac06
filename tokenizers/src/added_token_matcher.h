// Finds added tokens in text: leftmost-longest over all patterns at once (the rule of the Aho-Corasick
// automaton the Rust library uses), with a byte trie and a first-byte filter so that text without
// candidate first bytes is skipped at memchr-like speed.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bmx {

class AddedTokenMatcher {
public:
  // pattern index = position in `patterns`; empty patterns are ignored.
  void build(const std::vector<std::string>& patterns);
  bool empty() const { return nodes_.size() <= 1; }

  struct Match {
    size_t start = 0, end = 0;
    int pattern = -1;
  };
  // First match starting at or after `from` (pattern -1 when none).
  Match find(std::string_view text, size_t from) const;

private:
  struct Node {
    int32_t pattern = -1;
    std::vector<std::pair<unsigned char, uint32_t>> kids;  // sorted by byte
  };
  uint32_t child(uint32_t node, unsigned char b) const;
  std::vector<Node> nodes_;
  bool first_byte_[256] = {};
};

}  // namespace bmx

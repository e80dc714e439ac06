#include "added_token_matcher.h"

#include <algorithm>

namespace bmx {

uint32_t AddedTokenMatcher::child(uint32_t node, unsigned char b) const {
  const auto& kids = nodes_[node].kids;
  auto it = std::lower_bound(kids.begin(), kids.end(), b,
                             [](const std::pair<unsigned char, uint32_t>& k, unsigned char x) { return k.first < x; });
  return it != kids.end() && it->first == b ? it->second : 0;
}

void AddedTokenMatcher::build(const std::vector<std::string>& patterns) {
  nodes_.assign(1, Node{});
  size_t bytes = 0;
  for (const std::string& s : patterns) bytes += s.size();
  nodes_.reserve(bytes + 1);  // at most one node per byte: no copies of the node table while it grows
  std::fill(std::begin(first_byte_), std::end(first_byte_), false);
  for (size_t p = 0; p < patterns.size(); ++p) {
    const std::string& s = patterns[p];
    if (s.empty()) continue;
    first_byte_[static_cast<unsigned char>(s[0])] = true;
    uint32_t node = 0;
    for (char ch : s) {
      auto b = static_cast<unsigned char>(ch);
      uint32_t next = child(node, b);
      if (!next) {
        next = uint32_t(nodes_.size());
        auto& kids = nodes_[node].kids;
        kids.insert(std::lower_bound(kids.begin(), kids.end(), std::make_pair(b, 0u)), {b, next});
        nodes_.push_back(Node{});
      }
      node = next;
    }
    if (nodes_[node].pattern < 0) nodes_[node].pattern = int32_t(p);  // first of duplicate patterns wins
  }
}

AddedTokenMatcher::Match AddedTokenMatcher::find(std::string_view text, size_t from) const {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  for (size_t i = from; i < n; ++i) {
    if (!first_byte_[p[i]]) continue;
    uint32_t node = 0;
    Match best;
    for (size_t j = i; j < n; ++j) {
      node = child(node, p[j]);
      if (!node) break;
      if (nodes_[node].pattern >= 0) {
        best.end = j + 1;
        best.pattern = nodes_[node].pattern;
      }
    }
    if (best.pattern >= 0) {
      best.start = i;
      return best;
    }
  }
  return {};
}

}  // namespace bmx

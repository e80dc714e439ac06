#include "added_token_matcher.h"

#include <algorithm>

namespace bmx {

uint32_t AddedTokenMatcher::child(uint32_t node, unsigned char b) const {
  const Node& n = nodes_[node];
  const Edge* first = edges_.data() + n.first_edge;
  const Edge* last = first + n.edges;
  const Edge* it = std::lower_bound(first, last, b, [](const Edge& e, unsigned char x) { return e.byte < x; });
  return it != last && it->byte == b ? it->node : 0;
}

// Top down: the patterns under a node are one run of `order`, split by their byte at the node's depth with a
// stable pass, so each node's edges are laid down together, in byte order (inserting pattern by pattern needed
// a growing edge list per node; sorting the patterns as strings first, compares of long shared prefixes: either
// was 5-8 ms for BioMatrix's 16k added tokens, this ~1-3). A run of one pattern is the rest of it as a chain.
// `order` starts in pattern order and every pass keeps that order within equal keys, so of equal patterns the
// first is the one its end node keeps.
void AddedTokenMatcher::build(const std::vector<std::string_view>& patterns) {
  std::vector<uint32_t> order, scratch;
  order.reserve(patterns.size());
  for (uint32_t p = 0; p < patterns.size(); ++p)
    if (!patterns[p].empty()) order.push_back(p);
  scratch.resize(order.size());
  std::fill(std::begin(first_byte_), std::end(first_byte_), false);
  for (uint32_t p : order) first_byte_[static_cast<unsigned char>(patterns[p][0])] = true;

  struct Run {
    uint32_t node, begin, end, depth;  // order[begin, end) share the node's prefix, depth bytes long
  };
  // At most one node and one edge per pattern byte: reserved, the tables are written once and never copied.
  size_t bytes = 0;
  for (uint32_t p : order) bytes += patterns[p].size();
  nodes_.clear();
  edges_.clear();
  nodes_.reserve(bytes + 1);
  edges_.reserve(bytes);
  nodes_.push_back(Node{});
  auto add_child = [&](uint32_t node, unsigned char b) {
    const auto kid = uint32_t(nodes_.size());
    nodes_.push_back(Node{});
    edges_.push_back({b, kid});
    ++nodes_[node].edges;
    return kid;
  };
  // Depth first: the runs waiting are those beside the path to the current node, a few dozen.
  std::vector<Run> pending{{0, 0, uint32_t(order.size()), 0}};
  while (!pending.empty()) {
    const Run run = pending.back();
    pending.pop_back();
    if (run.end - run.begin == 1) {  // one pattern: the rest of it is a chain
      const std::string_view rest = patterns[order[run.begin]].substr(run.depth);
      uint32_t node = run.node;
      for (char c : rest) {
        nodes_[node].first_edge = uint32_t(edges_.size());
        node = add_child(node, static_cast<unsigned char>(c));
      }
      nodes_[node].pattern = int32_t(order[run.begin]);
      continue;
    }
    // Bucket by the byte at this depth; patterns that end here go first, in a bucket of their own.
    auto key = [&](uint32_t p) {
      return patterns[p].size() == run.depth ? 0u : 1u + static_cast<unsigned char>(patterns[p][run.depth]);
    };
    if (run.end - run.begin <= 32) {  // most runs: a stable insertion sort beats clearing 257 buckets
      for (uint32_t i = run.begin + 1; i < run.end; ++i) {
        const uint32_t p = order[i], k = key(p);
        uint32_t j = i;
        for (; j > run.begin && key(order[j - 1]) > k; --j) order[j] = order[j - 1];
        order[j] = p;
      }
    } else {
      uint32_t count[258] = {};
      for (uint32_t i = run.begin; i < run.end; ++i) ++count[key(order[i]) + 1];
      for (int k = 1; k < 258; ++k) count[k] += count[k - 1];
      for (uint32_t i = run.begin; i < run.end; ++i) scratch[run.begin + count[key(order[i])]++] = order[i];
      std::copy(scratch.begin() + run.begin, scratch.begin() + run.end, order.begin() + run.begin);
    }
    uint32_t i = run.begin;
    if (i < run.end && key(order[i]) == 0) nodes_[run.node].pattern = int32_t(order[i]);
    while (i < run.end && key(order[i]) == 0) ++i;
    nodes_[run.node].first_edge = uint32_t(edges_.size());
    while (i < run.end) {
      const uint32_t k = key(order[i]);
      uint32_t j = i + 1;
      while (j < run.end && key(order[j]) == k) ++j;
      pending.push_back({add_child(run.node, static_cast<unsigned char>(k - 1)), i, j, run.depth + 1});
      i = j;
    }
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

// Constrained decoding: a per-row rule that says which tokens may come next, applied to the scores before any
// sampling filter (so greedy and sampled decoding both obey it). The decoder runtime knows nothing of what the
// rule is; bmx::tokenizers builds the BioMatrix modality grammar on top of it (modality_constraint.h).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "bmx/core/llm/token.h"

namespace bmx {

class TokenConstraint {
 public:
  virtual ~TokenConstraint() = default;
  // Sets the scores of the tokens that may not come next to -inf. `remaining` is how many tokens the row
  // may still produce (this one included), so a rule can keep room to finish what it has opened.
  virtual void mask(std::vector<float>& scores, int64_t remaining) = 0;
  // The token the row produced (always one that mask() allowed).
  virtual void accept(TokenId id) = 0;
};

// Makes the rule of one row (rows never share a rule's state).
using ConstraintFactory = std::function<std::unique_ptr<TokenConstraint>(size_t row)>;

}  // namespace bmx

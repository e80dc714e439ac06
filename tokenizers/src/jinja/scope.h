// Where names live while rendering: the caller's variables at the bottom, one frame per for-loop
// iteration above. `set` writes the innermost frame, so a set inside a loop is gone after it (Jinja's
// scoping); namespace() objects are how templates carry values out.
#pragma once
#include <string>
#include <unordered_map>
#include <vector>

#include "jinja/value.h"

namespace bmx::jinja {

using Frame = std::unordered_map<std::string, Value>;

struct Scope {
  std::vector<Frame> frames;

  // The innermost binding of `name`; undefined when there is none.
  Value lookup(const std::string& name) const {
    for (auto it = frames.rbegin(); it != frames.rend(); ++it) {
      auto f = it->find(name);
      if (f != it->end()) return f->second;
    }
    return Value{};
  }
};

}  // namespace bmx::jinja

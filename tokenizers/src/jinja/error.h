// Template errors: one-line bmx::InputErrors that name the template line, so a broken chat template in a
// model folder is reported where it is broken.
#pragma once
#include <string>

#include "bmx/core/util/error.h"

namespace bmx::jinja {

[[noreturn]] inline void fail(int line, const std::string& msg) {
  throw InputError("chat template: line " + std::to_string(line) + ": " + msg);
}

}  // namespace bmx::jinja

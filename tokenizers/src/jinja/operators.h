// Jinja's binary operators (==, in, <, ~, +, //, ** ...) with Python's semantics: integer arithmetic stays
// integer, // and % floor, strings concatenate and repeat. `and`/`or` short-circuit in the evaluator.
#pragma once
#include <string>

#include "jinja/value.h"

namespace bmx::jinja {

Value binary_op(const std::string& op, const Value& a, const Value& b, int line);

}  // namespace bmx::jinja

// Template source -> statement tree. Syntax errors throw bmx::InputError naming the line.
#pragma once
#include <string>

#include "jinja/ast.h"

namespace bmx::jinja {

Body parse(const std::string& source);

}  // namespace bmx::jinja

// Runs a parsed template over the caller's variables (a JSON object) and returns the text.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "jinja/ast.h"

namespace bmx::jinja {

std::string render(const Body& body, const nlohmann::ordered_json& variables);

}  // namespace bmx::jinja

// Python's text forms of JSON values, since chat templates are written against jinja2 in Python:
// repr() for {{ [1, 'a'] }} and json.dumps() for the tojson filter.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace bmx::jinja {

// repr(float): shortest round trip, always with a dot or an exponent (1.0, 1e-05, inf).
std::string float_repr(double d);

// repr(v): 'single quotes' unless the string holds one, None/True/False, ", " between items.
void py_repr(std::string& out, const nlohmann::ordered_json& v);

// json.dumps(v, ensure_ascii=False) as transformers' tojson calls it: key order kept, separators ", " and
// ": " (or newlines and `indent` spaces when indent >= 0).
void py_dumps(std::string& out, const nlohmann::ordered_json& v, int indent, int depth = 0);

}  // namespace bmx::jinja

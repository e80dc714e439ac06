// Jinja tests (x is name, x is not name(args)), as a table name -> function.
#include <string_view>
#include <unordered_map>

#include "jinja/builtins.h"
#include "jinja/error.h"

namespace bmx::jinja {
namespace {

using Test = bool (*)(const Value& v, const std::vector<Value>& args, int line);
using Positional = std::vector<Value>;  // tests and methods take positional arguments only

bool json(const Value& v) { return v.kind == Value::Json; }

bool defined(const Value& v, const Positional&, int) { return !v.is_undefined(); }
bool undefined(const Value& v, const Positional&, int) { return v.is_undefined(); }
bool none(const Value& v, const Positional&, int) { return json(v) && v.j.is_null(); }
bool string(const Value& v, const Positional&, int) { return v.is_string(); }
bool number(const Value& v, const Positional&, int) { return json(v) && v.j.is_number(); }
bool integer(const Value& v, const Positional&, int) { return json(v) && v.j.is_number_integer(); }
bool float_(const Value& v, const Positional&, int) { return json(v) && v.j.is_number_float(); }
bool boolean(const Value& v, const Positional&, int) { return json(v) && v.j.is_boolean(); }
bool true_(const Value& v, const Positional&, int) { return json(v) && v.j.is_boolean() && v.j.get<bool>(); }
bool false_(const Value& v, const Positional&, int) { return json(v) && v.j.is_boolean() && !v.j.get<bool>(); }
bool mapping(const Value& v, const Positional&, int) { return (json(v) && v.j.is_object()) || v.kind == Value::Namespace; }
bool sequence(const Value& v, const Positional&, int) {
  return json(v) && (v.j.is_array() || v.j.is_string() || v.j.is_object());
}
bool odd(const Value& v, const Positional&, int line) { return as_int(v, line, "odd/even test") % 2 != 0; }
bool even(const Value& v, const Positional&, int line) { return as_int(v, line, "odd/even test") % 2 == 0; }
bool divisibleby(const Value& v, const Positional& args, int line) {
  int64_t d = as_int(args.at(0), line, "divisibleby");
  return d != 0 && as_int(v, line, "divisibleby") % d == 0;
}
bool eq(const Value& v, const Positional& args, int) { return !args.empty() && values_equal(v, args[0]); }
bool ne(const Value& v, const Positional& args, int) { return args.empty() || !values_equal(v, args[0]); }

const std::unordered_map<std::string_view, Test> kTests = {
    {"defined", defined}, {"undefined", undefined}, {"none", none},
    {"string", string},   {"number", number},       {"integer", integer},
    {"float", float_},    {"boolean", boolean},     {"true", true_},
    {"false", false_},    {"mapping", mapping},     {"sequence", sequence},
    {"iterable", sequence}, {"odd", odd},           {"even", even},
    {"divisibleby", divisibleby}, {"eq", eq},       {"equalto", eq},
    {"sameas", eq},       {"ne", ne},
};

}  // namespace

bool call_test(const std::string& name, const Value& v, const std::vector<Value>& args, int line) {
  auto it = kTests.find(name);
  if (it == kTests.end()) fail(line, "unknown test '" + name + "'");
  return it->second(v, args, line);
}

}  // namespace bmx::jinja

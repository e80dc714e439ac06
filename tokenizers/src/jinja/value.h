// A template value: JSON (what the caller passes and literals make), Jinja's undefined (a missing name or
// key, which renders empty and is falsy), or a namespace() object, the one thing a template can mutate.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace bmx::jinja {

using ojson = nlohmann::ordered_json;

struct Value {
  enum Kind { Undefined, Json, Namespace } kind = Undefined;
  ojson j;
  std::shared_ptr<ojson> ns;  // shared, so every copy of a namespace sees `set ns.x = ...`

  static Value of(ojson v) {
    Value x;
    x.kind = Json;
    x.j = std::move(v);
    return x;
  }
  bool is_undefined() const { return kind == Undefined; }
  bool is_string() const { return kind == Json && j.is_string(); }
};

// Python's truth value (empty strings, lists and dicts are false; undefined is false).
bool truthy(const Value& v);

// `==` as Python compares: 1 == 1.0, but true is not 1.
bool values_equal(const Value& a, const Value& b);

// What {{ v }} prints: strings as they are, other values as Python's repr, undefined as nothing.
std::string to_str(const Value& v);

// A number argument (`what` names it in the error); floats are truncated.
int64_t as_int(const Value& v, int line, const char* what);

// An arithmetic operand as a double.
double as_number(const Value& v, int line);

}  // namespace bmx::jinja

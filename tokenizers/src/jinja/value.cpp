#include "jinja/value.h"

#include "jinja/error.h"
#include "jinja/pyformat.h"

namespace bmx::jinja {

bool truthy(const Value& v) {
  if (v.kind == Value::Undefined) return false;
  if (v.kind == Value::Namespace) return true;
  const ojson& j = v.j;
  switch (j.type()) {
    case ojson::value_t::null: return false;
    case ojson::value_t::boolean: return j.get<bool>();
    case ojson::value_t::number_integer:
    case ojson::value_t::number_unsigned: return j.get<int64_t>() != 0;
    case ojson::value_t::number_float: return j.get<double>() != 0.0;
    case ojson::value_t::string: return !j.get_ref<const std::string&>().empty();
    case ojson::value_t::array:
    case ojson::value_t::object: return !j.empty();
    default: return false;
  }
}

bool values_equal(const Value& a, const Value& b) {
  if (a.kind != b.kind) return false;
  if (a.kind == Value::Undefined) return true;
  if (a.kind == Value::Namespace) return a.ns == b.ns;
  if (a.j.is_number() && b.j.is_number() && !a.j.is_boolean() && !b.j.is_boolean())
    return a.j.get<double>() == b.j.get<double>();
  return a.j == b.j;
}

std::string to_str(const Value& v) {
  if (v.kind == Value::Undefined) return "";
  if (v.kind == Value::Namespace) return "<Namespace>";
  if (v.j.is_string()) return v.j.get<std::string>();
  std::string out;
  py_repr(out, v.j);
  return out;
}

int64_t as_int(const Value& v, int line, const char* what) {
  if (v.kind != Value::Json || !v.j.is_number()) fail(line, std::string(what) + " must be a number");
  if (!v.j.is_number_float()) return v.j.get<int64_t>();
  // Converting NaN, inf or a float beyond 64 bits to an integer is undefined in C++: refuse them.
  const double d = v.j.get<double>();
  if (!(d > -9.2e18 && d < 9.2e18)) fail(line, std::string(what) + " " + to_str(v) + " is not a 64-bit integer");
  return int64_t(d);
}

double as_number(const Value& v, int line) {
  if (v.kind != Value::Json || !v.j.is_number()) fail(line, "arithmetic on a non-number");
  return v.j.get<double>();
}

}  // namespace bmx::jinja

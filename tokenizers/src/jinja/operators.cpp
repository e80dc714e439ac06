#include "jinja/operators.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <unordered_map>

#include "jinja/error.h"
#include "jinja/limits.h"

namespace bmx::jinja {
namespace {

using Operator = Value (*)(const Value& a, const Value& b, int line);

bool both_int(const Value& a, const Value& b) {
  return a.kind == Value::Json && b.kind == Value::Json && a.j.is_number_integer() && b.j.is_number_integer();
}

// Integers are 64-bit (Python's have no bound): a result beyond that is refused, never wrapped.
[[noreturn]] void overflow(int line, const char* op) {
  fail(line, std::string("integer overflow in '") + op + "' (the limit is 64 bits)");
}
int64_t checked_add(int64_t x, int64_t y, int line) {
  int64_t r;
  if (__builtin_add_overflow(x, y, &r)) overflow(line, "+");
  return r;
}
int64_t checked_sub(int64_t x, int64_t y, int line) {
  int64_t r;
  if (__builtin_sub_overflow(x, y, &r)) overflow(line, "-");
  return r;
}
int64_t checked_mul(int64_t x, int64_t y, int line, const char* op = "*") {
  int64_t r;
  if (__builtin_mul_overflow(x, y, &r)) overflow(line, op);
  return r;
}

Value eq(const Value& a, const Value& b, int) { return Value::of(values_equal(a, b)); }
Value ne(const Value& a, const Value& b, int) { return Value::of(!values_equal(a, b)); }

// a in b: substring, list element, dict key or namespace attribute.
bool contains(const Value& b, const Value& a, int line) {
  bool found = false;
  if (b.is_string()) {
    if (!a.is_string()) fail(line, "'in <string>' needs a string on the left");
    found = b.j.get_ref<const std::string&>().find(a.j.get_ref<const std::string&>()) != std::string::npos;
  } else if (b.kind == Value::Json && b.j.is_array()) {
    for (auto& x : b.j)
      if (values_equal(Value::of(x), a)) found = true;
  } else if (b.kind == Value::Json && b.j.is_object()) {
    found = a.is_string() && b.j.contains(a.j.get<std::string>());
  } else if (b.kind == Value::Namespace) {
    found = a.is_string() && b.ns->contains(a.j.get<std::string>());
  } else if (!b.is_undefined() && !(b.kind == Value::Json && b.j.is_null())) {
    fail(line, "'in' needs a string, list or mapping on the right");
  } else {
    fail(line, "'in' on an undefined value");
  }
  return found;
}
Value in(const Value& a, const Value& b, int line) { return Value::of(contains(b, a, line)); }
Value not_in(const Value& a, const Value& b, int line) { return Value::of(!contains(b, a, line)); }

// Three-way comparison: strings by bytes, anything else as numbers.
int compare(const Value& a, const Value& b, int line) {
  if (a.is_string() && b.is_string()) return a.j.get_ref<const std::string&>().compare(b.j.get_ref<const std::string&>());
  double x = as_number(a, line), y = as_number(b, line);
  return x < y ? -1 : x > y ? 1 : 0;
}
Value lt(const Value& a, const Value& b, int line) { return Value::of(compare(a, b, line) < 0); }
Value gt(const Value& a, const Value& b, int line) { return Value::of(compare(a, b, line) > 0); }
Value le(const Value& a, const Value& b, int line) { return Value::of(compare(a, b, line) <= 0); }
Value ge(const Value& a, const Value& b, int line) { return Value::of(compare(a, b, line) >= 0); }

Value concat(const Value& a, const Value& b, int line) { return made(Value::of(to_str(a) + to_str(b)), line); }

Value add(const Value& a, const Value& b, int line) {
  if (a.is_string() && b.is_string()) {
    const std::string &x = a.j.get_ref<const std::string&>(), &y = b.j.get_ref<const std::string&>();
    check_string_size(x.size() + y.size(), line);
    return made(Value::of(x + y), line);
  }
  if (a.kind == Value::Json && b.kind == Value::Json && a.j.is_array() && b.j.is_array()) {
    check_item_count(int64_t(a.j.size() + b.j.size()), line);
    ojson r = a.j;
    for (auto& x : b.j) r.push_back(x);
    return made(Value::of(std::move(r)), line);
  }
  if (a.is_undefined() || b.is_undefined()) fail(line, "'+' on an undefined value");
  if (both_int(a, b)) return Value::of(checked_add(a.j.get<int64_t>(), b.j.get<int64_t>(), line));
  if (a.is_string() || b.is_string()) fail(line, "cannot add a string and a non-string");
  return Value::of(as_number(a, line) + as_number(b, line));
}

Value subtract(const Value& a, const Value& b, int line) {
  if (both_int(a, b)) return Value::of(checked_sub(a.j.get<int64_t>(), b.j.get<int64_t>(), line));
  return Value::of(as_number(a, line) - as_number(b, line));
}

Value multiply(const Value& a, const Value& b, int line) {
  if (a.is_string() && b.kind == Value::Json && b.j.is_number_integer()) {
    const std::string& x = a.j.get_ref<const std::string&>();
    const int64_t n = std::max<int64_t>(0, b.j.get<int64_t>());
    if (x.empty() || n == 0) return Value::of(std::string());  // '' * 10**10 is '' at once, not after 10**10 steps
    // The size is checked before the loop: 'abc' * 10**10 would otherwise run until memory ends.
    if (n > int64_t(Limits::kStringBytes / x.size())) check_string_size(Limits::kStringBytes + 1, line);
    std::string r;
    r.reserve(x.size() * size_t(n));
    for (int64_t k = 0; k < n; ++k) r += x;
    return made(Value::of(std::move(r)), line);
  }
  if (both_int(a, b)) return Value::of(checked_mul(a.j.get<int64_t>(), b.j.get<int64_t>(), line));
  return Value::of(as_number(a, line) * as_number(b, line));
}

Value divide(const Value& a, const Value& b, int line) {
  double d = as_number(b, line);
  if (d == 0) fail(line, "division by zero");
  return Value::of(as_number(a, line) / d);
}

// Python's floor division and modulo: the quotient rounds down, the remainder takes the divisor's sign.
Value floor_div_or_mod(const Value& a, const Value& b, int line, bool mod) {
  if (both_int(a, b)) {
    int64_t x = a.j.get<int64_t>(), y = b.j.get<int64_t>();
    if (y == 0) fail(line, "division by zero");
    if (y == -1 && x == INT64_MIN) {  // the one quotient beyond 64 bits (and C++'s % traps on it)
      if (mod) return Value::of(int64_t(0));
      overflow(line, "//");
    }
    int64_t q = x / y, r = x % y;
    if (r != 0 && ((r < 0) != (y < 0))) {
      --q;
      r += y;
    }
    return Value::of(mod ? r : q);
  }
  double x = as_number(a, line), y = as_number(b, line);
  if (y == 0) fail(line, "division by zero");
  double q = std::floor(x / y);
  return Value::of(mod ? x - q * y : q);
}
Value floor_div(const Value& a, const Value& b, int line) { return floor_div_or_mod(a, b, line, false); }
Value modulo(const Value& a, const Value& b, int line) { return floor_div_or_mod(a, b, line, true); }

Value power(const Value& a, const Value& b, int line) {
  if (both_int(a, b) && b.j.get<int64_t>() >= 0) {
    // By squaring: 1 ** 10**11 takes 37 steps, not 10**11; a square is taken only while bits remain, so
    // it overflows only when the result would.
    int64_t r = 1, base = a.j.get<int64_t>(), e = b.j.get<int64_t>();
    while (e > 0) {
      if (e & 1) r = checked_mul(r, base, line, "**");
      e >>= 1;
      if (e > 0) base = checked_mul(base, base, line, "**");
    }
    return Value::of(r);
  }
  return Value::of(std::pow(as_number(a, line), as_number(b, line)));
}

const std::unordered_map<std::string_view, Operator> kOperators = {
    {"==", eq}, {"!=", ne}, {"in", in},   {"not in", not_in}, {"<", lt},         {">", gt},
    {"<=", le}, {">=", ge}, {"~", concat}, {"+", add},        {"-", subtract},        {"*", multiply},
    {"/", divide}, {"//", floor_div},        {"%", modulo},         {"**", power},
};

}  // namespace

Value binary_op(const std::string& op, const Value& a, const Value& b, int line) {
  auto it = kOperators.find(op);
  if (it == kOperators.end()) fail(line, "unknown operator " + op);
  return it->second(a, b, line);
}

}  // namespace bmx::jinja

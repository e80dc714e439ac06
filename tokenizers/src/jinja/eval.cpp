#include "jinja/eval.h"

#include <cstdint>
#include <optional>

#include "jinja/builtins.h"
#include "jinja/error.h"
#include "jinja/limits.h"
#include "jinja/operators.h"
#include "jinja/subscript.h"

namespace bmx::jinja {
namespace {

// Positional arguments are kids[first..], keyword ones the last kw.size() kids.
Args eval_args(const Expr& e, size_t first, const Scope& scope) {
  Args args;
  size_t n_kw = e.kw.size();
  size_t n_pos = e.kids.size() - first - n_kw;
  for (size_t k = 0; k < n_pos; ++k) args.positional.push_back(eval(*e.kids[first + k], scope));
  for (size_t k = 0; k < n_kw; ++k) args.keyword.emplace_back(e.kw[k], eval(*e.kids[first + n_pos + k], scope));
  return args;
}

Value eval_slice(const Expr& e, const Scope& scope) {
  Value obj = eval(*e.kids[0], scope);
  auto bound = [&](size_t k) -> std::optional<int64_t> {
    if (!e.kids[k]) return std::nullopt;
    Value v = eval(*e.kids[k], scope);
    if (v.kind != Value::Json || v.j.is_null()) return std::nullopt;
    return as_int(v, e.line, "slice bound");
  };
  auto a = bound(1), b = bound(2), step = bound(3);
  return slice(obj, a, b, step, e.line);
}

Value eval_neg(const Expr& e, const Scope& scope) {
  Value v = eval(*e.kids[0], scope);
  if (v.kind == Value::Json && v.j.is_number_integer()) {
    if (v.j.get<int64_t>() == INT64_MIN) fail(e.line, "integer overflow in '-' (the limit is 64 bits)");
    return Value::of(-v.j.get<int64_t>());
  }
  return Value::of(-as_number(v, e.line));
}

// List and dict displays hold JSON, so an undefined element becomes null.
Value eval_list(const Expr& e, const Scope& scope) {
  ojson r = ojson::array();
  for (auto& k : e.kids) {
    Value v = eval(*k, scope);
    r.push_back(v.kind == Value::Json ? std::move(v.j) : ojson());
  }
  return made(Value::of(std::move(r)), e.line);
}

Value eval_dict(const Expr& e, const Scope& scope) {
  ojson r = ojson::object();
  for (size_t k = 0; k + 1 < e.kids.size(); k += 2) {
    Value key = eval(*e.kids[k], scope), val = eval(*e.kids[k + 1], scope);
    if (!key.is_string()) fail(e.line, "dict keys must be strings");
    r[key.j.get<std::string>()] = val.kind == Value::Json ? std::move(val.j) : ojson();
  }
  return made(Value::of(std::move(r)), e.line);
}

Value eval_filter(const Expr& e, const Scope& scope) {
  Value v = eval(*e.kids[0], scope);
  Args args = eval_args(e, 1, scope);
  return call_filter(e.name, v, args, e.line);
}

Value eval_test(const Expr& e, const Scope& scope) {
  Value v = eval(*e.kids[0], scope);
  Args args = eval_args(e, 1, scope);
  bool r = call_test(e.name, v, args.positional, e.line);
  return Value::of(e.negated ? !r : r);
}

// x.name(...) is a method call; name(...) a global function unless a variable of that name is set.
Value eval_call(const Expr& e, const Scope& scope) {
  const Expr& callee = *e.kids[0];
  Args args = eval_args(e, 1, scope);
  if (callee.type == Expr::Attr) return call_method(eval(*callee.kids[0], scope), callee.name, args.positional, e.line);
  if (callee.type == Expr::Name && scope.lookup(callee.name).is_undefined()) return call_global(callee.name, args, e.line);
  fail(e.line, "this value cannot be called");
}

}  // namespace

Value eval(const Expr& e, const Scope& scope) {
  switch (e.type) {
    case Expr::Literal: return Value::of(e.literal);
    case Expr::Undefined: return Value{};
    case Expr::Name: return scope.lookup(e.name);
    case Expr::Attr: return attribute(eval(*e.kids[0], scope), e.name);
    case Expr::Index: return item(eval(*e.kids[0], scope), eval(*e.kids[1], scope));
    case Expr::Slice: return eval_slice(e, scope);
    case Expr::Not: return Value::of(!truthy(eval(*e.kids[0], scope)));
    case Expr::Neg: return eval_neg(e, scope);
    case Expr::And: {
      Value a = eval(*e.kids[0], scope);
      return truthy(a) ? eval(*e.kids[1], scope) : a;
    }
    case Expr::Or: {
      Value a = eval(*e.kids[0], scope);
      return truthy(a) ? a : eval(*e.kids[1], scope);
    }
    case Expr::Cond: return truthy(eval(*e.kids[0], scope)) ? eval(*e.kids[1], scope) : eval(*e.kids[2], scope);
    case Expr::Binary: return binary_op(e.name, eval(*e.kids[0], scope), eval(*e.kids[1], scope), e.line);
    case Expr::List: return eval_list(e, scope);
    case Expr::Dict: return eval_dict(e, scope);
    case Expr::Filter: return eval_filter(e, scope);
    case Expr::Test: return eval_test(e, scope);
    case Expr::Call: return eval_call(e, scope);
  }
  return Value{};
}

}  // namespace bmx::jinja

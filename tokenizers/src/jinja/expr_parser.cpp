#include "jinja/expr_parser.h"

#include <algorithm>

#include "jinja/error.h"
#include "jinja/limits.h"

namespace bmx::jinja {

bool ExprParser::accept_op(const char* op) {
  if (!at_op(op)) return false;
  ++p_;
  return true;
}

bool ExprParser::accept_name(const char* name) {
  if (!at_name(name)) return false;
  ++p_;
  return true;
}

void ExprParser::expect_op(const char* op) {
  if (!at_op(op)) fail(line_, std::string("expected '") + op + "' but found '" + peek().text + "'");
  ++p_;
}

std::string ExprParser::expect_name() {
  if (peek().type != Tok::Name) fail(line_, "expected a name but found '" + peek().text + "'");
  return next().text;
}

void ExprParser::expect_end() {
  if (!at_end()) fail(line_, "unexpected '" + peek().text + "'");
}

ExprP ExprParser::node(Expr::Type type) const {
  auto e = std::make_unique<Expr>();
  e->type = type;
  e->line = line_;
  return e;
}

ExprP ExprParser::binary(std::string op, ExprP a, ExprP b) const {
  auto o = node(Expr::Binary);
  o->name = std::move(op);
  add(*o, std::move(a));
  add(*o, std::move(b));
  return o;
}

// Left-leaning chains (1+1+1..., a.b.c..., x|f|f...) grow the tree without recursing here, so the depth
// is checked as nodes are joined: evaluating and freeing the tree recurse as deep as it is.
void ExprParser::add(Expr& parent, ExprP kid) const {
  if (kid) {
    parent.depth = std::max(parent.depth, kid->depth + 1);
    check_nesting(parent.depth, line_, "expressions");
  }
  parent.kids.push_back(std::move(kid));
}

ExprParser::Nest::Nest(ExprParser& parser) : p(parser) {
  check_nesting(++p.nest_, p.line_, "expressions");
}

ExprP ExprParser::expression(bool allow_cond) {
  Nest nest(*this);
  ExprP e = parse_or();
  if (allow_cond && accept_name("if")) {
    ExprP cond = parse_or();
    // Without "else" the value is undefined when the condition fails: it renders empty.
    ExprP other = accept_name("else") ? expression() : node(Expr::Undefined);
    auto c = node(Expr::Cond);
    add(*c, std::move(cond));
    add(*c, std::move(e));
    add(*c, std::move(other));
    return c;
  }
  return e;
}

// `and` and `or` chains, left to right: they short-circuit, so they are nodes of their own, not Binary.
ExprP ExprParser::logical(Expr::Type type, const char* word, ExprP (ExprParser::*operand)()) {
  ExprP a = (this->*operand)();
  while (accept_name(word)) {
    auto o = node(type);
    add(*o, std::move(a));
    add(*o, (this->*operand)());
    a = std::move(o);
  }
  return a;
}

ExprP ExprParser::parse_or() { return logical(Expr::Or, "or", &ExprParser::parse_and); }
ExprP ExprParser::parse_and() { return logical(Expr::And, "and", &ExprParser::parse_not); }

ExprP ExprParser::parse_not() {
  if (accept_name("not")) {
    Nest nest(*this);
    auto o = node(Expr::Not);
    add(*o, parse_not());
    return o;
  }
  return parse_compare();
}

ExprP ExprParser::parse_compare() {
  ExprP a = parse_additive();
  while (true) {
    if (peek().type == Tok::Op &&
        (at_op("==") || at_op("!=") || at_op("<") || at_op(">") || at_op("<=") || at_op(">="))) {
      std::string op = next().text;
      a = binary(op, std::move(a), parse_additive());
    } else if (accept_name("in")) {
      a = binary("in", std::move(a), parse_additive());
    } else if (at_name("not") && peek(1).type == Tok::Name && peek(1).text == "in") {
      p_ += 2;
      a = binary("not in", std::move(a), parse_additive());
    } else {
      return a;
    }
  }
}

// One left-associative level of binary operators over the next tighter level.
ExprP ExprParser::binary_level(std::initializer_list<const char*> ops, ExprP (ExprParser::*operand)()) {
  ExprP a = (this->*operand)();
  while (true) {
    auto op = std::find_if(ops.begin(), ops.end(), [&](const char* o) { return at_op(o); });
    if (op == ops.end()) return a;
    ++p_;
    a = binary(*op, std::move(a), (this->*operand)());
  }
}

ExprP ExprParser::parse_additive() { return binary_level({"+", "-"}, &ExprParser::parse_concat); }
ExprP ExprParser::parse_concat() { return binary_level({"~"}, &ExprParser::parse_multiplicative); }
ExprP ExprParser::parse_multiplicative() { return binary_level({"*", "/", "//", "%"}, &ExprParser::parse_pow); }
ExprP ExprParser::parse_pow() { return binary_level({"**"}, &ExprParser::parse_unary); }

ExprP ExprParser::parse_unary() {
  if (accept_op("-")) {
    Nest nest(*this);
    auto o = node(Expr::Neg);
    add(*o, parse_unary());
    return o;
  }
  if (accept_op("+")) {
    Nest nest(*this);
    return parse_unary();
  }
  ExprP e = parse_primary();
  e = parse_postfix(std::move(e));
  return parse_filters(std::move(e));
}

void ExprParser::parse_args(Expr& call) {
  bool kw_seen = false;
  while (!at_op(")")) {
    if (peek().type == Tok::Name && peek(1).type == Tok::Op && peek(1).text == "=") {
      call.kw.push_back(next().text);
      ++p_;
      kw_seen = true;
    } else if (kw_seen) {
      fail(line_, "positional argument after keyword argument");
    }
    add(call, expression());
    if (!accept_op(",")) break;
  }
  expect_op(")");
}

ExprP ExprParser::parse_primary() {
  const Tok& t = peek();
  if (t.type == Tok::Str) {
    std::string s = next().text;
    while (peek().type == Tok::Str) s += next().text;  // adjacent literals concatenate
    auto e = node(Expr::Literal);
    e->literal = s;
    return e;
  }
  if (t.type == Tok::Int || t.type == Tok::Float) {
    Tok x = next();
    auto e = node(Expr::Literal);
    if (x.type == Tok::Int) e->literal = x.i;
    else e->literal = x.f;
    return e;
  }
  if (t.type == Tok::Name) {
    std::string name = next().text;
    auto e = node(Expr::Literal);
    if (name == "true" || name == "True") e->literal = true;
    else if (name == "false" || name == "False") e->literal = false;
    else if (name == "none" || name == "None") e->literal = nullptr;
    else {
      e->type = Expr::Name;
      e->name = name;
    }
    return e;
  }
  if (accept_op("(")) return parse_group();
  if (accept_op("[")) return parse_list();
  if (accept_op("{")) return parse_dict();
  fail(line_, "unexpected '" + t.text + "' in expression");
}

ExprP ExprParser::parse_group() {
  ExprP first = expression();
  if (at_op(",")) {  // a tuple, which is a list here
    auto l = node(Expr::List);
    add(*l, std::move(first));
    while (accept_op(",")) {
      if (at_op(")")) break;
      add(*l, expression());
    }
    expect_op(")");
    return l;
  }
  expect_op(")");
  return first;
}

ExprP ExprParser::parse_list() {
  auto l = node(Expr::List);
  while (!at_op("]")) {
    add(*l, expression());
    if (!accept_op(",")) break;
  }
  expect_op("]");
  return l;
}

ExprP ExprParser::parse_dict() {
  auto d = node(Expr::Dict);
  while (!at_op("}")) {
    add(*d, expression());
    expect_op(":");
    add(*d, expression());
    if (!accept_op(",")) break;
  }
  expect_op("}");
  return d;
}

ExprP ExprParser::parse_postfix(ExprP e) {
  while (true) {
    if (accept_op(".")) {
      auto a = node(Expr::Attr);
      if (peek().type == Tok::Int) a->name = std::to_string(next().i);
      else a->name = expect_name();
      add(*a, std::move(e));
      e = std::move(a);
    } else if (accept_op("[")) {
      e = parse_subscript(std::move(e));
    } else if (accept_op("(")) {
      auto c = node(Expr::Call);
      add(*c, std::move(e));
      parse_args(*c);
      e = std::move(c);
    } else {
      return e;
    }
  }
}

ExprP ExprParser::parse_subscript(ExprP e) {
  ExprP idx[3];
  int parts = 0;
  bool slice = false;
  while (true) {
    if (!at_op(":") && !at_op("]")) idx[parts] = expression();
    if (at_op(":") && parts < 2) {
      ++p_;
      slice = true;
      ++parts;
      continue;
    }
    break;
  }
  expect_op("]");
  auto s = node(slice ? Expr::Slice : Expr::Index);
  add(*s, std::move(e));
  if (slice) {
    for (auto& x : idx) add(*s, std::move(x));
  } else {
    if (!idx[0]) fail(line_, "empty subscript");
    add(*s, std::move(idx[0]));
  }
  return s;
}

ExprP ExprParser::parse_filters(ExprP e) {
  while (true) {
    if (accept_op("|")) {
      auto f = node(Expr::Filter);
      f->name = expect_name();
      add(*f, std::move(e));
      if (accept_op("(")) parse_args(*f);
      e = parse_postfix(std::move(f));
    } else if (accept_name("is")) {
      e = parse_test(std::move(e));
    } else {
      return e;
    }
  }
}

ExprP ExprParser::parse_test(ExprP e) {
  auto t = node(Expr::Test);
  if (accept_name("not")) t->negated = true;
  t->name = expect_name();
  add(*t, std::move(e));
  if (accept_op("(")) {
    parse_args(*t);
  } else if (peek().type == Tok::Str || peek().type == Tok::Int || peek().type == Tok::Float ||
             (peek().type == Tok::Name && !at_name("and") && !at_name("or") && !at_name("else") &&
              !at_name("if") && !at_name("is") && !at_name("in") && !at_name("not"))) {
    add(*t, parse_primary());  // "is sameas false", "is divisibleby 3"
  }
  return t;
}

}  // namespace bmx::jinja

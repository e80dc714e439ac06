// Recursive descent over one tag's tokens with Jinja's operator precedence, loosest first:
// x if c else y, or, and, not, comparisons and in, + -, ~, * / // %, **, unary -, then postfix
// (.attr, [i], [a:b], calls) and filters / `is` tests.
#pragma once
#include <initializer_list>
#include <string>
#include <vector>

#include "jinja/ast.h"
#include "jinja/lexer.h"

namespace bmx::jinja {

class ExprParser {
public:
  ExprParser(std::vector<Tok> toks, int line) : t_(std::move(toks)), line_(line) {}

  // expr := or ["if" or ["else" expr]]; a for loop's iterable and filter take no conditional.
  ExprP expression(bool allow_cond = true);

  bool at_op(const char* op) const { return peek().type == Tok::Op && peek().text == op; }
  bool at_name(const char* name) const { return peek().type == Tok::Name && peek().text == name; }
  bool accept_op(const char* op);      // consumes it when it is next
  bool accept_name(const char* name);  // consumes it when it is next
  std::string expect_name();
  void expect_end();                   // nothing may follow

private:
  const Tok& peek(size_t k = 0) const { return t_[std::min(p_ + k, t_.size() - 1)]; }
  bool at_end() const { return peek().type == Tok::End; }
  Tok next() { return t_[std::min(p_++, t_.size() - 1)]; }
  void expect_op(const char* op);
  ExprP node(Expr::Type type) const;
  ExprP binary(std::string op, ExprP a, ExprP b) const;
  void add(Expr& parent, ExprP kid) const;  // appends a kid, keeping parent.depth within the limit

  // Counts the parser's own recursion ('(((' makes no nodes but deep calls), within the limit.
  struct Nest {
    explicit Nest(ExprParser& p);
    ~Nest() { --p.nest_; }
    ExprParser& p;
  };

  ExprP logical(Expr::Type type, const char* word, ExprP (ExprParser::*operand)());
  ExprP parse_or();
  ExprP parse_and();
  ExprP parse_not();
  ExprP parse_compare();
  ExprP binary_level(std::initializer_list<const char*> ops, ExprP (ExprParser::*operand)());
  ExprP parse_additive();
  ExprP parse_concat();
  ExprP parse_multiplicative();
  ExprP parse_pow();
  ExprP parse_unary();
  ExprP parse_primary();
  ExprP parse_group();  // after '(': a parenthesised expression or a tuple
  ExprP parse_list();   // after '['
  ExprP parse_dict();   // after '{'
  ExprP parse_postfix(ExprP e);
  ExprP parse_subscript(ExprP e);  // after '[': x[i] or x[a:b:c]
  ExprP parse_filters(ExprP e);
  ExprP parse_test(ExprP e);       // after "is"
  void parse_args(Expr& call);     // after '('

  std::vector<Tok> t_;
  size_t p_ = 0;
  int line_;
  int nest_ = 0;
};

}  // namespace bmx::jinja

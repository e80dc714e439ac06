// The parsed template: plain trees of expressions and statements, made by the parser, read by the renderer.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace bmx::jinja {

struct Expr {
  enum Type {
    Literal, Undefined, Name, Attr, Index, Slice, Call, Filter, Test, Not, Neg, Binary, And, Or, Cond, List, Dict
  } type = Literal;
  nlohmann::ordered_json literal;
  std::string name;                         // Name/Attr/Filter/Test name, Binary operator
  std::vector<std::unique_ptr<Expr>> kids;  // operands / arguments (null for an omitted slice bound)
  std::vector<std::string> kw;              // keyword names of the trailing kids (Call/Filter/Test)
  bool negated = false;                     // Test: "is not"
  int line = 0;
  int depth = 1;                            // 1 + the deepest kid's; bounded by Limits::kNesting
};
using ExprP = std::unique_ptr<Expr>;

struct Stmt;
using Body = std::vector<std::unique_ptr<Stmt>>;

struct Stmt {
  enum Type { Text, Output, If, For, Set, Break, Continue } type = Text;
  std::string text;                 // Text
  std::vector<ExprP> exprs;         // Output: [e]; If: conditions; For: [iter, cond?]; Set: [value]
  std::vector<Body> bodies;         // If: one per condition (+ else); For: body, else
  std::vector<std::string> targets;  // For: loop variables; Set: name or ns.attr
  int line = 0;
};

}  // namespace bmx::jinja

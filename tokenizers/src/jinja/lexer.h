// The two lexing steps: the template into text and tags, then each tag's inside into tokens.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace bmx::jinja {

// A piece of the template: literal text, the inside of {{ }}, or the inside of {% %}.
struct Segment {
  enum Type { Text, Expr, Stmt } type;
  std::string text;
  int line;
};

// Splits the template into segments, applying "-" markers, trim_blocks and lstrip_blocks the way Jinja's
// lexer does with transformers' settings. Comments vanish.
std::vector<Segment> lex_template(const std::string& src);

struct Tok {
  enum Type { Name, Str, Int, Float, Op, End } type = End;
  std::string text;
  int64_t i = 0;
  double f = 0;
};

// The tokens of a tag's inside, ending with one End token; `line` is the tag's line, for errors.
std::vector<Tok> lex_expr(const std::string& s, int line);

}  // namespace bmx::jinja

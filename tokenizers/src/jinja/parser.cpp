// The statement level: {% if %}, {% for %}, {% set %}, {% break/continue %} around text and {{ }} output.
// Each tag's inside goes to ExprParser; a block's body runs until one of the tags that can end it.
#include "jinja/parser.h"

#include <algorithm>

#include "jinja/error.h"
#include "jinja/expr_parser.h"
#include "jinja/limits.h"
#include "jinja/lexer.h"

namespace bmx::jinja {
namespace {

// The tag that ended a body ("" at the end of the template) and the parser over the rest of that tag.
struct StopTag {
  std::string word;
  ExprParser rest;
};

class StmtParser {
public:
  explicit StmtParser(std::vector<Segment> segs) : segs_(std::move(segs)) {}

  // Parses into `body` until a tag whose first word is in `stops`.
  StopTag parse_body(Body& body, const std::vector<std::string>& stops) {
    while (pos_ < segs_.size()) {
      Segment& s = segs_[pos_++];
      if (s.type == Segment::Text) {
        auto n = std::make_unique<Stmt>();
        n->type = Stmt::Text;
        n->line = s.line;
        n->text = s.text;
        body.push_back(std::move(n));
        continue;
      }
      ExprParser parser(lex_expr(s.text, s.line), s.line);
      if (s.type == Segment::Expr) {
        auto n = std::make_unique<Stmt>();
        n->type = Stmt::Output;
        n->line = s.line;
        n->exprs.push_back(parser.expression());
        parser.expect_end();
        body.push_back(std::move(n));
        continue;
      }
      std::string word = parser.expect_name();
      if (std::find(stops.begin(), stops.end(), word) != stops.end()) return {word, std::move(parser)};
      body.push_back(statement(word, parser, s.line));
    }
    if (!stops.empty()) fail(segs_.empty() ? 1 : segs_.back().line, "missing {% " + stops.back() + " %}");
    return {"", ExprParser({Tok{}}, 0)};
  }

private:
  std::unique_ptr<Stmt> statement(const std::string& word, ExprParser& p, int line) {
    auto n = std::make_unique<Stmt>();
    n->line = line;
    if (word == "if" || word == "for") {
      // Blocks recurse here, and rendering and freeing them recurse as deep.
      check_nesting(++depth_, line, "tags");
      if (word == "if") parse_if(*n, p);
      else parse_for(*n, p);
      --depth_;
    } else if (word == "set") {
      parse_set(*n, p);
    } else if (word == "break" || word == "continue") {
      p.expect_end();
      n->type = word == "break" ? Stmt::Break : Stmt::Continue;
    } else {
      fail(line, "unsupported tag {% " + word + " %}");
    }
    return n;
  }

  void parse_if(Stmt& n, ExprParser& p) {
    n.type = Stmt::If;
    n.exprs.push_back(p.expression());
    p.expect_end();
    while (true) {
      n.bodies.emplace_back();
      StopTag stop = parse_body(n.bodies.back(), {"elif", "else", "endif"});
      if (stop.word == "elif") {
        n.exprs.push_back(stop.rest.expression());
        stop.rest.expect_end();
      } else if (stop.word == "else") {
        stop.rest.expect_end();
        n.bodies.emplace_back();
        parse_body(n.bodies.back(), {"endif"}).rest.expect_end();
        return;
      } else {
        stop.rest.expect_end();
        return;
      }
    }
  }

  void parse_for(Stmt& n, ExprParser& p) {
    n.type = Stmt::For;
    n.targets.push_back(p.expect_name());
    while (p.accept_op(",")) n.targets.push_back(p.expect_name());
    if (!p.accept_name("in")) fail(n.line, "expected 'in' in for loop");
    n.exprs.push_back(p.expression(false));
    if (p.accept_name("if")) n.exprs.push_back(p.expression(false));
    if (p.at_name("recursive")) fail(n.line, "recursive loops are not supported");
    p.expect_end();
    n.bodies.emplace_back();
    StopTag stop = parse_body(n.bodies.back(), {"else", "endfor"});
    stop.rest.expect_end();
    if (stop.word == "else") {
      n.bodies.emplace_back();
      parse_body(n.bodies.back(), {"endfor"}).rest.expect_end();
    }
  }

  void parse_set(Stmt& n, ExprParser& p) {
    n.type = Stmt::Set;
    std::string target = p.expect_name();
    if (p.accept_op(".")) target += "." + p.expect_name();
    if (!p.accept_op("=")) fail(n.line, "block {% set %} ... {% endset %} is not supported");
    n.targets.push_back(target);
    n.exprs.push_back(p.expression());
    p.expect_end();
  }

  std::vector<Segment> segs_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Body parse(const std::string& source) {
  StmtParser parser(lex_template(source));
  Body body;
  parser.parse_body(body, {});
  return body;
}

}  // namespace bmx::jinja

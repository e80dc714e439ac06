// A small Jinja interpreter for chat templates: lexer (with trim_blocks / lstrip_blocks and "-" whitespace
// control), a recursive-descent parser with Jinja's operator precedence, and a tree-walking renderer over
// nlohmann::ordered_json values.
#include "bmx/tokenizers/chat_template.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_map>
#include <vector>

#include "bmx/core/util/error.h"
#include "unicode.h"

namespace bmx {
namespace {

using ojson = nlohmann::ordered_json;

[[noreturn]] void fail(int line, const std::string& msg) {
  throw InputError("chat template: line " + std::to_string(line) + ": " + msg);
}

// ---------------------------------------------------------------------------------------------------
// Values: JSON, plus Jinja's undefined and the mutable namespace object.

struct Value {
  enum Kind { Undefined, Json, Namespace } kind = Undefined;
  ojson j;
  std::shared_ptr<ojson> ns;

  static Value of(ojson v) {
    Value x;
    x.kind = Json;
    x.j = std::move(v);
    return x;
  }
  bool is_undefined() const { return kind == Undefined; }
  bool is_string() const { return kind == Json && j.is_string(); }
};

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

// Python's repr of a float (shortest round-trip, always with a dot or exponent).
std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[32];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  std::string s = buf;
  size_t e = s.find('e');
  if (e != std::string::npos) {
    // Python writes 1e-05 / 1e+20: at least two exponent digits, which %g also gives.
    return s;
  }
  if (s.find('.') == std::string::npos && s.find("inf") == std::string::npos) s += ".0";
  return s;
}

void json_string(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
  }
  out += '"';
}

// json.dumps(v, ensure_ascii=False, separators=(", ", ": ") or indent) as transformers' tojson does.
void to_json(std::string& out, const ojson& v, int indent, int depth) {
  auto newline = [&](int d) {
    out += '\n';
    out.append(size_t(indent * d), ' ');
  };
  switch (v.type()) {
    case ojson::value_t::object: {
      if (v.empty()) { out += "{}"; return; }
      out += '{';
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out += indent >= 0 ? "," : ", ";
        first = false;
        if (indent >= 0) newline(depth + 1);
        json_string(out, it.key());
        out += ": ";
        to_json(out, it.value(), indent, depth + 1);
      }
      if (indent >= 0) newline(depth);
      out += '}';
      return;
    }
    case ojson::value_t::array: {
      if (v.empty()) { out += "[]"; return; }
      out += '[';
      bool first = true;
      for (const auto& x : v) {
        if (!first) out += indent >= 0 ? "," : ", ";
        first = false;
        if (indent >= 0) newline(depth + 1);
        to_json(out, x, indent, depth + 1);
      }
      if (indent >= 0) newline(depth);
      out += ']';
      return;
    }
    case ojson::value_t::string: json_string(out, v.get_ref<const std::string&>()); return;
    case ojson::value_t::number_float: out += float_repr(v.get<double>()); return;
    default: out += v.dump(); return;
  }
}

// Python's repr, for printing lists and dicts with {{ }}.
void py_repr(std::string& out, const ojson& v) {
  switch (v.type()) {
    case ojson::value_t::string: {
      const std::string& s = v.get_ref<const std::string&>();
      char q = (s.find('\'') != std::string::npos && s.find('"') == std::string::npos) ? '"' : '\'';
      out += q;
      for (char c : s) {
        if (c == q || c == '\\') { out += '\\'; out += c; }
        else if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (c == '\r') out += "\\r";
        else out += c;
      }
      out += q;
      return;
    }
    case ojson::value_t::array: {
      out += '[';
      for (size_t i = 0; i < v.size(); ++i) {
        if (i) out += ", ";
        py_repr(out, v[i]);
      }
      out += ']';
      return;
    }
    case ojson::value_t::object: {
      out += '{';
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out += ", ";
        first = false;
        py_repr(out, ojson(it.key()));
        out += ": ";
        py_repr(out, it.value());
      }
      out += '}';
      return;
    }
    case ojson::value_t::null: out += "None"; return;
    case ojson::value_t::boolean: out += v.get<bool>() ? "True" : "False"; return;
    case ojson::value_t::number_float: out += float_repr(v.get<double>()); return;
    default: out += v.dump(); return;
  }
}

std::string to_str(const Value& v) {
  if (v.kind == Value::Undefined) return "";
  if (v.kind == Value::Namespace) return "<Namespace>";
  if (v.j.is_string()) return v.j.get<std::string>();
  std::string out;
  py_repr(out, v.j);
  return out;
}

bool is_number(const ojson& j) { return j.is_number(); }

bool values_equal(const Value& a, const Value& b) {
  if (a.kind != b.kind) return false;
  if (a.kind == Value::Undefined) return true;
  if (a.kind == Value::Namespace) return a.ns == b.ns;
  if (is_number(a.j) && is_number(b.j) && !a.j.is_boolean() && !b.j.is_boolean())
    return a.j.get<double>() == b.j.get<double>();
  return a.j == b.j;
}

// ---------------------------------------------------------------------------------------------------
// Expressions.

struct Tok {
  enum Type { Name, Str, Int, Float, Op, End } type = End;
  std::string text;
  int64_t i = 0;
  double f = 0;
};

std::vector<Tok> lex_expr(const std::string& s, int line) {
  std::vector<Tok> out;
  size_t i = 0, n = s.size();
  while (i < n) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') { ++i; continue; }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < n && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
      out.push_back({Tok::Name, s.substr(i, j - i)});
      i = j;
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t j = i;
      while (j < n && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
      bool is_float = false;
      if (j + 1 < n && s[j] == '.' && std::isdigit(static_cast<unsigned char>(s[j + 1]))) {
        is_float = true;
        ++j;
        while (j < n && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
      }
      if (j < n && (s[j] == 'e' || s[j] == 'E')) {
        size_t k = j + 1;
        if (k < n && (s[k] == '+' || s[k] == '-')) ++k;
        if (k < n && std::isdigit(static_cast<unsigned char>(s[k]))) {
          is_float = true;
          j = k;
          while (j < n && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
        }
      }
      std::string num;
      for (size_t k = i; k < j; ++k)
        if (s[k] != '_') num += s[k];
      Tok t{is_float ? Tok::Float : Tok::Int, num};
      if (is_float) t.f = std::stod(num);
      else t.i = std::stoll(num);
      out.push_back(t);
      i = j;
      continue;
    }
    if (c == '\'' || c == '"') {
      std::string v;
      size_t j = i + 1;
      for (;; ++j) {
        if (j >= n) fail(line, "unterminated string literal");
        if (s[j] == c) break;
        if (s[j] == '\\' && j + 1 < n) {
          char e = s[++j];
          switch (e) {
            case 'n': v += '\n'; break;
            case 't': v += '\t'; break;
            case 'r': v += '\r'; break;
            case '0': v += '\0'; break;
            case 'b': v += '\b'; break;
            case 'f': v += '\f'; break;
            case '\\': v += '\\'; break;
            case '\'': v += '\''; break;
            case '"': v += '"'; break;
            case 'x': case 'u': case 'U': {
              size_t len = e == 'x' ? 2 : e == 'u' ? 4 : 8;
              if (j + len >= n) fail(line, "bad escape in string literal");
              uint32_t cp = 0;
              for (size_t d = 1; d <= len; ++d) {
                const char h = s[j + d];
                const int digit = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                  : h >= 'A' && h <= 'F'   ? h - 'A' + 10 : -1;
                if (digit < 0) fail(line, std::string("bad \\") + e + " escape in string literal: not hex");
                cp = cp * 16 + uint32_t(digit);
              }
              if (cp > 0x10FFFF) fail(line, "bad \\U escape in string literal: beyond U+10FFFF");
              j += len;
              unicode::append_utf8(v, cp);
              break;
            }
            default: v += '\\'; v += e;  // Python keeps unknown escapes
          }
          continue;
        }
        v += s[j];
      }
      out.push_back({Tok::Str, v});
      i = j + 1;
      continue;
    }
    static const char* ops2[] = {"==", "!=", "<=", ">=", "//", "**"};
    bool two = false;
    for (const char* op : ops2)
      if (s.compare(i, 2, op) == 0) {
        out.push_back({Tok::Op, op});
        i += 2;
        two = true;
        break;
      }
    if (two) continue;
    if (std::string("()[]{}.,:|+-*/%~<>=!").find(c) != std::string::npos) {
      out.push_back({Tok::Op, std::string(1, c)});
      ++i;
      continue;
    }
    fail(line, std::string("unexpected character '") + c + "'");
  }
  out.push_back({Tok::End, ""});
  return out;
}

struct Expr {
  enum Type {
    Literal, Name, Attr, Index, Slice, Call, Filter, Test, Not, Neg, Binary, And, Or, Cond, List, Dict
  } type = Literal;
  ojson literal;
  std::string name;                     // Name/Attr/Filter/Test name, Binary operator
  std::vector<std::unique_ptr<Expr>> kids;  // operands / arguments (null for an omitted slice bound)
  std::vector<std::string> kw;          // keyword names of the trailing kids (Call/Filter/Test)
  bool negated = false;                 // Test: "is not"
  int line = 0;
};
using ExprP = std::unique_ptr<Expr>;

class ExprParser {
public:
  ExprParser(std::vector<Tok> toks, int line) : t_(std::move(toks)), line_(line) {}

  const Tok& peek(size_t k = 0) const { return t_[std::min(p_ + k, t_.size() - 1)]; }
  bool at_op(const char* op) const { return peek().type == Tok::Op && peek().text == op; }
  bool at_name(const char* name) const { return peek().type == Tok::Name && peek().text == name; }
  bool at_end() const { return peek().type == Tok::End; }
  Tok next() { return t_[std::min(p_++, t_.size() - 1)]; }
  void expect_op(const char* op) {
    if (!at_op(op)) fail(line_, std::string("expected '") + op + "' but found '" + peek().text + "'");
    ++p_;
  }
  std::string expect_name() {
    if (peek().type != Tok::Name) fail(line_, "expected a name but found '" + peek().text + "'");
    return next().text;
  }
  void expect_end() {
    if (!at_end()) fail(line_, "unexpected '" + peek().text + "'");
  }

  ExprP node(Expr::Type type) {
    auto e = std::make_unique<Expr>();
    e->type = type;
    e->line = line_;
    return e;
  }

  // expr := or ["if" or ["else" expr]]
  ExprP expression(bool allow_cond = true) {
    ExprP e = parse_or();
    if (allow_cond && at_name("if")) {
      ++p_;
      ExprP cond = parse_or();
      ExprP other;
      if (at_name("else")) {
        ++p_;
        other = expression();
      } else {
        other = node(Expr::Literal);  // undefined-like: renders empty
        other->name = "__undefined__";
      }
      auto c = node(Expr::Cond);
      c->kids.push_back(std::move(cond));
      c->kids.push_back(std::move(e));
      c->kids.push_back(std::move(other));
      return c;
    }
    return e;
  }

  ExprP parse_or() {
    ExprP a = parse_and();
    while (at_name("or")) {
      ++p_;
      auto o = node(Expr::Or);
      o->kids.push_back(std::move(a));
      o->kids.push_back(parse_and());
      a = std::move(o);
    }
    return a;
  }
  ExprP parse_and() {
    ExprP a = parse_not();
    while (at_name("and")) {
      ++p_;
      auto o = node(Expr::And);
      o->kids.push_back(std::move(a));
      o->kids.push_back(parse_not());
      a = std::move(o);
    }
    return a;
  }
  ExprP parse_not() {
    if (at_name("not")) {
      ++p_;
      auto o = node(Expr::Not);
      o->kids.push_back(parse_not());
      return o;
    }
    return parse_compare();
  }
  ExprP binary(std::string op, ExprP a, ExprP b) {
    auto o = node(Expr::Binary);
    o->name = std::move(op);
    o->kids.push_back(std::move(a));
    o->kids.push_back(std::move(b));
    return o;
  }
  ExprP parse_compare() {
    ExprP a = parse_math1();
    while (true) {
      if (peek().type == Tok::Op &&
          (at_op("==") || at_op("!=") || at_op("<") || at_op(">") || at_op("<=") || at_op(">="))) {
        std::string op = next().text;
        a = binary(op, std::move(a), parse_math1());
      } else if (at_name("in")) {
        ++p_;
        a = binary("in", std::move(a), parse_math1());
      } else if (at_name("not") && peek(1).type == Tok::Name && peek(1).text == "in") {
        p_ += 2;
        a = binary("not in", std::move(a), parse_math1());
      } else {
        return a;
      }
    }
  }
  ExprP parse_math1() {
    ExprP a = parse_concat();
    while (at_op("+") || at_op("-")) {
      std::string op = next().text;
      a = binary(op, std::move(a), parse_concat());
    }
    return a;
  }
  ExprP parse_concat() {
    ExprP a = parse_math2();
    while (at_op("~")) {
      ++p_;
      a = binary("~", std::move(a), parse_math2());
    }
    return a;
  }
  ExprP parse_math2() {
    ExprP a = parse_pow();
    while (at_op("*") || at_op("/") || at_op("//") || at_op("%")) {
      std::string op = next().text;
      a = binary(op, std::move(a), parse_pow());
    }
    return a;
  }
  ExprP parse_pow() {
    ExprP a = parse_unary();
    while (at_op("**")) {
      ++p_;
      a = binary("**", std::move(a), parse_unary());
    }
    return a;
  }
  ExprP parse_unary() {
    if (at_op("-")) {
      ++p_;
      auto o = node(Expr::Neg);
      o->kids.push_back(parse_unary());
      return o;
    }
    if (at_op("+")) {
      ++p_;
      return parse_unary();
    }
    ExprP e = parse_primary();
    e = parse_postfix(std::move(e));
    return parse_filters(std::move(e));
  }

  void parse_args(Expr& call) {  // after '('
    bool kw_seen = false;
    while (!at_op(")")) {
      if (peek().type == Tok::Name && peek(1).type == Tok::Op && peek(1).text == "=") {
        call.kw.push_back(next().text);
        ++p_;
        kw_seen = true;
      } else if (kw_seen) {
        fail(line_, "positional argument after keyword argument");
      }
      call.kids.push_back(expression());
      if (!at_op(",")) break;
      ++p_;
    }
    expect_op(")");
  }

  ExprP parse_primary() {
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
    if (at_op("(")) {
      ++p_;
      ExprP first = expression();
      if (at_op(",")) {  // tuple -> list
        auto l = node(Expr::List);
        l->kids.push_back(std::move(first));
        while (at_op(",")) {
          ++p_;
          if (at_op(")")) break;
          l->kids.push_back(expression());
        }
        expect_op(")");
        return l;
      }
      expect_op(")");
      return first;
    }
    if (at_op("[")) {
      ++p_;
      auto l = node(Expr::List);
      while (!at_op("]")) {
        l->kids.push_back(expression());
        if (!at_op(",")) break;
        ++p_;
      }
      expect_op("]");
      return l;
    }
    if (at_op("{")) {
      ++p_;
      auto d = node(Expr::Dict);
      while (!at_op("}")) {
        d->kids.push_back(expression());
        expect_op(":");
        d->kids.push_back(expression());
        if (!at_op(",")) break;
        ++p_;
      }
      expect_op("}");
      return d;
    }
    fail(line_, "unexpected '" + t.text + "' in expression");
  }

  ExprP parse_postfix(ExprP e) {
    while (true) {
      if (at_op(".")) {
        ++p_;
        auto a = node(Expr::Attr);
        if (peek().type == Tok::Int) a->name = std::to_string(next().i);
        else a->name = expect_name();
        a->kids.push_back(std::move(e));
        e = std::move(a);
      } else if (at_op("[")) {
        ++p_;
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
        s->kids.push_back(std::move(e));
        if (slice) {
          for (auto& x : idx) s->kids.push_back(std::move(x));
        } else {
          if (!idx[0]) fail(line_, "empty subscript");
          s->kids.push_back(std::move(idx[0]));
        }
        e = std::move(s);
      } else if (at_op("(")) {
        ++p_;
        auto c = node(Expr::Call);
        c->kids.push_back(std::move(e));
        parse_args(*c);
        e = std::move(c);
      } else {
        return e;
      }
    }
  }

  ExprP parse_filters(ExprP e) {
    while (true) {
      if (at_op("|")) {
        ++p_;
        auto f = node(Expr::Filter);
        f->name = expect_name();
        f->kids.push_back(std::move(e));
        if (at_op("(")) {
          ++p_;
          parse_args(*f);
        }
        e = parse_postfix(std::move(f));
      } else if (at_name("is")) {
        ++p_;
        auto t = node(Expr::Test);
        if (at_name("not")) {
          ++p_;
          t->negated = true;
        }
        t->name = expect_name();
        t->kids.push_back(std::move(e));
        if (at_op("(")) {
          ++p_;
          parse_args(*t);
        } else if (peek().type == Tok::Str || peek().type == Tok::Int || peek().type == Tok::Float ||
                   (peek().type == Tok::Name && !at_name("and") && !at_name("or") && !at_name("else") &&
                    !at_name("if") && !at_name("is") && !at_name("in") && !at_name("not"))) {
          t->kids.push_back(parse_primary());  // "is sameas false", "is divisibleby 3"
        }
        e = std::move(t);
      } else {
        return e;
      }
    }
  }

  size_t p_ = 0;

private:
  std::vector<Tok> t_;
  int line_;
};

// ---------------------------------------------------------------------------------------------------
// Statements.

}  // namespace

struct ChatTemplate::Node {
  enum Type { Block, Text, Output, If, For, Set, Break, Continue } type = Block;
  std::string text;                                   // Text
  std::vector<ExprP> exprs;                           // Output: [e]; If: conditions; For: [iter, cond?]; Set: [value]
  std::vector<std::vector<std::unique_ptr<Node>>> bodies;  // If: one per condition (+ else); For: body, else
  std::vector<std::string> targets;                   // For: loop variables; Set: name or ns.attr
  int line = 0;
};

namespace {

using Node = ChatTemplate::Node;
using NodeP = std::unique_ptr<Node>;

struct Segment {
  enum Type { Text, Expr, Stmt } type;
  std::string text;
  int line;
};

// Splits the template into text, {{ }} and {% %} segments, applying "-" markers, trim_blocks and
// lstrip_blocks the way Jinja's lexer does. Comments vanish.
std::vector<Segment> lex_template(const std::string& src) {
  std::vector<Segment> out;
  size_t i = 0, n = src.size();
  int line = 1;
  auto count_lines = [&](size_t a, size_t b) {
    for (size_t k = a; k < b; ++k)
      if (src[k] == '\n') ++line;
  };
  bool strip_next = false;  // a "-" closed the previous tag
  bool trim_newline = false;  // the previous tag was a block/comment (trim_blocks)
  while (i < n) {
    size_t open = src.find('{', i);
    while (open != std::string::npos && open + 1 < n && src[open + 1] != '{' && src[open + 1] != '%' &&
           src[open + 1] != '#')
      open = src.find('{', open + 1);
    if (open == std::string::npos || open + 1 >= n) open = n;
    std::string text = src.substr(i, open - i);
    int text_line = line;
    count_lines(i, open);
    if (strip_next) {
      size_t k = 0;
      while (k < text.size() && std::isspace(static_cast<unsigned char>(text[k]))) ++k;
      text.erase(0, k);
    } else if (trim_newline && !text.empty() && text[0] == '\n') {
      text.erase(0, 1);
    } else if (trim_newline && text.size() >= 2 && text[0] == '\r' && text[1] == '\n') {
      text.erase(0, 2);
    }
    strip_next = trim_newline = false;
    if (open == n) {
      if (!text.empty()) out.push_back({Segment::Text, text, text_line});
      break;
    }
    char kind = src[open + 1];
    size_t body = open + 2;
    bool minus_left = body < n && src[body] == '-';
    bool plus_left = body < n && src[body] == '+';
    if (minus_left || plus_left) ++body;
    if (minus_left) {
      size_t k = text.size();
      while (k > 0 && std::isspace(static_cast<unsigned char>(text[k - 1]))) --k;
      text.resize(k);
    } else if (kind != '{' && !plus_left) {
      // lstrip_blocks: blanks between the start of a line and a block or comment tag are removed.
      size_t k = open;
      while (k > i && (src[k - 1] == ' ' || src[k - 1] == '\t')) --k;
      if (k == 0 || src[k - 1] == '\n') {
        size_t t = text.size();
        while (t > 0 && (text[t - 1] == ' ' || text[t - 1] == '\t')) --t;
        text.resize(t);
      }
    }
    if (!text.empty()) out.push_back({Segment::Text, text, text_line});
    std::string close = kind == '{' ? "}}" : kind == '%' ? "%}" : "#}";
    size_t end = src.find(close, body);
    if (end == std::string::npos) fail(line, "unclosed '{" + std::string(1, kind) + "'");
    size_t inner_end = end;
    bool minus_right = end > body && src[end - 1] == '-';
    bool plus_right = end > body && src[end - 1] == '+';
    if (minus_right || plus_right) --inner_end;
    int tag_line = line;
    count_lines(open, end + 2);
    if (kind != '#') out.push_back({kind == '{' ? Segment::Expr : Segment::Stmt, src.substr(body, inner_end - body), tag_line});
    i = end + 2;
    if (minus_right) strip_next = true;
    else if (kind != '{' && !plus_right) trim_newline = true;
  }
  return out;
}

class StmtParser {
public:
  explicit StmtParser(std::vector<Segment> segs) : segs_(std::move(segs)) {}

  // Parses until one of `stops` (first word of a {% %} tag); returns that word ("" at the end).
  std::string parse_body(std::vector<NodeP>& body, const std::vector<std::string>& stops, ExprParser** stop_parser) {
    while (pos_ < segs_.size()) {
      Segment& s = segs_[pos_++];
      if (s.type == Segment::Text) {
        auto n = std::make_unique<Node>();
        n->type = Node::Text;
        n->text = s.text;
        body.push_back(std::move(n));
        continue;
      }
      auto parser = std::make_unique<ExprParser>(lex_expr(s.text, s.line), s.line);
      if (s.type == Segment::Expr) {
        auto n = std::make_unique<Node>();
        n->type = Node::Output;
        n->line = s.line;
        n->exprs.push_back(parser->expression());
        parser->expect_end();
        body.push_back(std::move(n));
        continue;
      }
      std::string word = parser->expect_name();
      if (std::find(stops.begin(), stops.end(), word) != stops.end()) {
        held_.push_back(std::move(parser));
        *stop_parser = held_.back().get();
        return word;
      }
      body.push_back(statement(word, *parser, s.line));
    }
    if (!stops.empty()) fail(segs_.empty() ? 1 : segs_.back().line, "missing {% " + stops.back() + " %}");
    return "";
  }

  NodeP statement(const std::string& word, ExprParser& p, int line) {
    auto n = std::make_unique<Node>();
    n->line = line;
    ExprParser* stop = nullptr;
    if (word == "if") {
      n->type = Node::If;
      n->exprs.push_back(p.expression());
      p.expect_end();
      while (true) {
        n->bodies.emplace_back();
        std::string w = parse_body(n->bodies.back(), {"elif", "else", "endif"}, &stop);
        if (w == "elif") {
          n->exprs.push_back(stop->expression());
          stop->expect_end();
        } else if (w == "else") {
          stop->expect_end();
          n->bodies.emplace_back();
          parse_body(n->bodies.back(), {"endif"}, &stop);
          stop->expect_end();
          break;
        } else {
          stop->expect_end();
          break;
        }
      }
      return n;
    }
    if (word == "for") {
      n->type = Node::For;
      n->targets.push_back(p.expect_name());
      while (p.at_op(",")) {
        ++p.p_;
        n->targets.push_back(p.expect_name());
      }
      if (!p.at_name("in")) fail(line, "expected 'in' in for loop");
      ++p.p_;
      n->exprs.push_back(p.expression(false));
      if (p.at_name("if")) {
        ++p.p_;
        n->exprs.push_back(p.expression(false));
      }
      if (p.at_name("recursive")) fail(line, "recursive loops are not supported");
      p.expect_end();
      n->bodies.emplace_back();
      std::string w = parse_body(n->bodies.back(), {"else", "endfor"}, &stop);
      stop->expect_end();
      if (w == "else") {
        n->bodies.emplace_back();
        parse_body(n->bodies.back(), {"endfor"}, &stop);
        stop->expect_end();
      }
      return n;
    }
    if (word == "set") {
      n->type = Node::Set;
      std::string target = p.expect_name();
      if (p.at_op(".")) {
        ++p.p_;
        target += "." + p.expect_name();
      }
      if (!p.at_op("=")) fail(line, "block {% set %} ... {% endset %} is not supported");
      ++p.p_;
      n->targets.push_back(target);
      n->exprs.push_back(p.expression());
      p.expect_end();
      return n;
    }
    if (word == "break" || word == "continue") {
      p.expect_end();
      n->type = word == "break" ? Node::Break : Node::Continue;
      return n;
    }
    fail(line, "unsupported tag {% " + word + " %}");
  }

private:
  std::vector<Segment> segs_;
  size_t pos_ = 0;
  std::vector<std::unique_ptr<ExprParser>> held_;
};

// ---------------------------------------------------------------------------------------------------
// Rendering.

enum class Flow { Normal, Break, Continue };

class Renderer {
public:
  explicit Renderer(const ojson& vars) {
    frames_.emplace_back();
    if (vars.is_object())
      for (auto it = vars.begin(); it != vars.end(); ++it) frames_.back()[it.key()] = Value::of(it.value());
  }

  std::string out;

  Flow exec(const std::vector<NodeP>& body) {
    for (const auto& n : body) {
      Flow f = exec(*n);
      if (f != Flow::Normal) return f;
    }
    return Flow::Normal;
  }

  Flow exec(const Node& n) {
    switch (n.type) {
      case Node::Text: out += n.text; return Flow::Normal;
      case Node::Output: out += to_str(eval(*n.exprs[0])); return Flow::Normal;
      case Node::If:
        for (size_t i = 0; i < n.exprs.size(); ++i)
          if (truthy(eval(*n.exprs[i]))) return exec(n.bodies[i]);
        if (n.bodies.size() > n.exprs.size()) return exec(n.bodies.back());
        return Flow::Normal;
      case Node::For: return exec_for(n);
      case Node::Set: {
        Value v = eval(*n.exprs[0]);
        const std::string& t = n.targets[0];
        size_t dot = t.find('.');
        if (dot == std::string::npos) {
          frames_.back()[t] = std::move(v);
        } else {
          Value ns = lookup(t.substr(0, dot));
          if (ns.kind != Value::Namespace) fail(n.line, "cannot set an attribute of '" + t.substr(0, dot) + "' (not a namespace)");
          (*ns.ns)[t.substr(dot + 1)] = v.kind == Value::Json ? v.j : ojson();
        }
        return Flow::Normal;
      }
      case Node::Break: return Flow::Break;
      case Node::Continue: return Flow::Continue;
      case Node::Block: return Flow::Normal;
    }
    return Flow::Normal;
  }

  Flow exec_for(const Node& n) {
    Value seq = eval(*n.exprs[0]);
    std::vector<ojson> items;
    if (seq.kind == Value::Json) {
      if (seq.j.is_array()) items.assign(seq.j.begin(), seq.j.end());
      else if (seq.j.is_object())
        for (auto it = seq.j.begin(); it != seq.j.end(); ++it) items.push_back(it.key());
      else if (seq.j.is_string()) {
        const std::string& s = seq.j.get_ref<const std::string&>();
        for (size_t i = 0; i < s.size();) {  // by code point
          size_t j = i + 1;
          while (j < s.size() && (static_cast<unsigned char>(s[j]) & 0xC0) == 0x80) ++j;
          items.push_back(s.substr(i, j - i));
          i = j;
        }
      } else if (!seq.j.is_null()) {
        fail(n.line, "cannot loop over a " + std::string(seq.j.type_name()));
      }
    } else if (seq.kind == Value::Namespace) {
      fail(n.line, "cannot loop over a namespace");
    }
    auto bind = [&](std::unordered_map<std::string, Value>& frame, const ojson& item) {
      if (n.targets.size() == 1) {
        frame[n.targets[0]] = Value::of(item);
      } else {
        if (!item.is_array() || item.size() != n.targets.size())
          fail(n.line, "cannot unpack loop item into " + std::to_string(n.targets.size()) + " names");
        for (size_t k = 0; k < n.targets.size(); ++k) frame[n.targets[k]] = Value::of(item[k]);
      }
    };
    if (n.exprs.size() > 1) {  // for x in xs if cond: filter first, so loop.* counts kept items
      std::vector<ojson> kept;
      for (const ojson& item : items) {
        frames_.emplace_back();
        bind(frames_.back(), item);
        bool keep = truthy(eval(*n.exprs[1]));
        frames_.pop_back();
        if (keep) kept.push_back(item);
      }
      items.swap(kept);
    }
    if (items.empty()) {
      if (n.bodies.size() > 1) return exec(n.bodies[1]);
      return Flow::Normal;
    }
    const size_t len = items.size();
    for (size_t i = 0; i < len; ++i) {
      frames_.emplace_back();
      auto& frame = frames_.back();
      bind(frame, items[i]);
      ojson loop = ojson::object();
      loop["index"] = i + 1;
      loop["index0"] = i;
      loop["revindex"] = len - i;
      loop["revindex0"] = len - i - 1;
      loop["first"] = i == 0;
      loop["last"] = i + 1 == len;
      loop["length"] = len;
      if (i > 0) loop["previtem"] = items[i - 1];
      if (i + 1 < len) loop["nextitem"] = items[i + 1];
      frame["loop"] = Value::of(std::move(loop));
      Flow f = exec(n.bodies[0]);
      frames_.pop_back();
      if (f == Flow::Break) break;
    }
    return Flow::Normal;
  }

  Value lookup(const std::string& name) const {
    for (auto it = frames_.rbegin(); it != frames_.rend(); ++it) {
      auto f = it->find(name);
      if (f != it->end()) return f->second;
    }
    return Value{};
  }

  static int64_t as_int(const Value& v, int line, const char* what) {
    if (v.kind != Value::Json || !v.j.is_number()) fail(line, std::string(what) + " must be a number");
    return v.j.is_number_float() ? int64_t(v.j.get<double>()) : v.j.get<int64_t>();
  }

  Value attribute(const Value& obj, const std::string& name) const {
    if (obj.kind == Value::Namespace) {
      auto it = obj.ns->find(name);
      return it == obj.ns->end() ? Value{} : Value::of(*it);
    }
    if (obj.kind == Value::Json) {
      if (obj.j.is_object()) {
        auto it = obj.j.find(name);
        if (it != obj.j.end()) return Value::of(*it);
      } else if (obj.j.is_array() && !name.empty() && std::all_of(name.begin(), name.end(), ::isdigit)) {
        size_t k = std::stoul(name);
        if (k < obj.j.size()) return Value::of(obj.j[k]);
      }
    }
    return Value{};
  }

  Value index(const Value& obj, const Value& key, int line) const {
    if (obj.kind == Value::Namespace && key.is_string()) return attribute(obj, key.j.get<std::string>());
    if (obj.kind != Value::Json || key.kind != Value::Json) return Value{};
    if (obj.j.is_object()) {
      if (!key.j.is_string()) return Value{};
      auto it = obj.j.find(key.j.get<std::string>());
      return it == obj.j.end() ? Value{} : Value::of(*it);
    }
    if (obj.j.is_array() || obj.j.is_string()) {
      if (!key.j.is_number_integer()) return Value{};
      int64_t k = key.j.get<int64_t>();
      if (obj.j.is_array()) {
        int64_t len = int64_t(obj.j.size());
        if (k < 0) k += len;
        if (k < 0 || k >= len) return Value{};
        return Value::of(obj.j[size_t(k)]);
      }
      auto cps = code_points(obj.j.get_ref<const std::string&>());
      int64_t len = int64_t(cps.size());
      if (k < 0) k += len;
      if (k < 0 || k >= len) return Value{};
      return Value::of(cps[size_t(k)]);
    }
    return Value{};
  }

  static std::vector<std::string> code_points(const std::string& s) {
    std::vector<std::string> out;
    for (size_t i = 0; i < s.size();) {
      size_t j = i + 1;
      while (j < s.size() && (static_cast<unsigned char>(s[j]) & 0xC0) == 0x80) ++j;
      out.push_back(s.substr(i, j - i));
      i = j;
    }
    return out;
  }

  Value slice(const Value& obj, const Expr& e) {
    auto bound = [&](int k) -> std::optional<int64_t> {
      if (!e.kids[size_t(k)]) return std::nullopt;
      Value v = eval(*e.kids[size_t(k)]);
      if (v.kind != Value::Json || v.j.is_null()) return std::nullopt;
      return as_int(v, e.line, "slice bound");
    };
    auto a = bound(1), b = bound(2), st = bound(3);
    int64_t step = st.value_or(1);
    if (step == 0) fail(e.line, "slice step cannot be zero");
    bool is_str = obj.is_string();
    std::vector<ojson> items;
    if (is_str) {
      for (auto& c : code_points(obj.j.get<std::string>())) items.push_back(c);
    } else if (obj.kind == Value::Json && obj.j.is_array()) {
      items.assign(obj.j.begin(), obj.j.end());
    } else {
      fail(e.line, "cannot slice this value");
    }
    int64_t len = int64_t(items.size());
    auto norm = [&](std::optional<int64_t> v, int64_t dflt, int64_t lo, int64_t hi) {
      if (!v) return dflt;
      int64_t x = *v < 0 ? *v + len : *v;
      return std::clamp(x, lo, hi);
    };
    int64_t start, stop;
    if (step > 0) {
      start = norm(a, 0, 0, len);
      stop = norm(b, len, 0, len);
    } else {
      start = norm(a, len - 1, -1, len - 1);
      stop = norm(b, -1, -1, len - 1);
    }
    ojson res = ojson::array();
    std::string sres;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
      if (is_str) sres += items[size_t(i)].get<std::string>();
      else res.push_back(items[size_t(i)]);
    }
    return is_str ? Value::of(sres) : Value::of(res);
  }

  const std::string& str_arg(const Value& v, int line, const char* what) const {
    if (!v.is_string()) fail(line, std::string(what) + " needs a string");
    return v.j.get_ref<const std::string&>();
  }

  static std::string strip_chars(const std::string& s, const std::string* chars, bool left, bool right) {
    auto is_strip = [&](char c) {
      return chars ? chars->find(c) != std::string::npos : std::isspace(static_cast<unsigned char>(c)) != 0;
    };
    size_t b = 0, e = s.size();
    if (left)
      while (b < e && is_strip(s[b])) ++b;
    if (right)
      while (e > b && is_strip(s[e - 1])) --e;
    return s.substr(b, e - b);
  }

  Value call_method(const Value& obj, const std::string& name, const std::vector<Value>& args, int line) {
    if (obj.is_string()) {
      const std::string& s = obj.j.get_ref<const std::string&>();
      auto opt_chars = [&](size_t k) -> const std::string* {
        return args.size() > k && args[k].is_string() ? &args[k].j.get_ref<const std::string&>() : nullptr;
      };
      if (name == "startswith" || name == "endswith") {
        if (args.empty()) fail(line, name + "() needs an argument");
        std::vector<std::string> prefixes;
        if (args[0].kind == Value::Json && args[0].j.is_array())
          for (auto& x : args[0].j) prefixes.push_back(x.get<std::string>());
        else prefixes.push_back(str_arg(args[0], line, name.c_str()));
        for (auto& p : prefixes) {
          if (name == "startswith" ? s.compare(0, p.size(), p) == 0
                                   : s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0)
            return Value::of(true);
        }
        return Value::of(false);
      }
      if (name == "strip") return Value::of(strip_chars(s, opt_chars(0), true, true));
      if (name == "lstrip") return Value::of(strip_chars(s, opt_chars(0), true, false));
      if (name == "rstrip") return Value::of(strip_chars(s, opt_chars(0), false, true));
      if (name == "upper" || name == "lower") {
        std::string r = s;
        for (char& c : r) c = char(name == "upper" ? std::toupper(static_cast<unsigned char>(c)) : std::tolower(static_cast<unsigned char>(c)));
        return Value::of(r);
      }
      if (name == "title" || name == "capitalize") return filter(obj, name, {}, {}, line);
      if (name == "split") {
        ojson parts = ojson::array();
        const std::string* sep = opt_chars(0);
        int64_t maxsplit = args.size() > 1 ? as_int(args[1], line, "maxsplit") : -1;
        if (sep) {
          if (sep->empty()) fail(line, "split() with an empty separator");
          size_t start = 0;
          while (true) {
            size_t k = maxsplit == 0 ? std::string::npos : s.find(*sep, start);
            if (k == std::string::npos) {
              parts.push_back(s.substr(start));
              break;
            }
            parts.push_back(s.substr(start, k - start));
            start = k + sep->size();
            if (maxsplit > 0) --maxsplit;
          }
        } else {
          size_t i = 0;
          while (true) {
            while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
            if (i >= s.size()) break;
            size_t j = i;
            if (maxsplit == 0) {
              j = s.size();
              std::string rest = strip_chars(s.substr(i), nullptr, false, true);
              parts.push_back(rest);
              break;
            }
            while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
            parts.push_back(s.substr(i, j - i));
            if (maxsplit > 0) --maxsplit;
            i = j;
          }
        }
        return Value::of(parts);
      }
      if (name == "replace") {
        if (args.size() < 2) fail(line, "replace() needs two arguments");
        return filter(obj, "replace", args, {}, line);
      }
      if (name == "find") {
        size_t k = s.find(str_arg(args.at(0), line, "find()"));
        return Value::of(k == std::string::npos ? int64_t(-1) : int64_t(k));
      }
      if (name == "count") {
        const std::string& sub = str_arg(args.at(0), line, "count()");
        int64_t c = 0;
        for (size_t k = s.find(sub); !sub.empty() && k != std::string::npos; k = s.find(sub, k + sub.size())) ++c;
        return Value::of(c);
      }
    }
    if (obj.kind == Value::Json && obj.j.is_object()) {
      if (name == "items") {
        ojson r = ojson::array();
        for (auto it = obj.j.begin(); it != obj.j.end(); ++it) r.push_back(ojson::array({it.key(), it.value()}));
        return Value::of(r);
      }
      if (name == "keys" || name == "values") {
        ojson r = ojson::array();
        for (auto it = obj.j.begin(); it != obj.j.end(); ++it) r.push_back(name == "keys" ? ojson(it.key()) : it.value());
        return Value::of(r);
      }
      if (name == "get") {
        if (args.empty()) fail(line, "get() needs a key");
        Value v = index(obj, args[0], line);
        if (v.is_undefined()) return args.size() > 1 ? args[1] : Value::of(nullptr);
        return v;
      }
    }
    fail(line, "unknown method " + name + "()");
  }

  Value filter(const Value& v, const std::string& name, const std::vector<Value>& args,
               const std::vector<std::pair<std::string, Value>>& kwargs, int line) {
    auto kwarg = [&](const char* key, size_t pos) -> const Value* {
      for (auto& kv : kwargs)
        if (kv.first == key) return &kv.second;
      return args.size() > pos ? &args[pos] : nullptr;
    };
    if (name == "length" || name == "count") {
      if (v.kind != Value::Json) return Value::of(0);
      if (v.j.is_string()) return Value::of(int64_t(code_points(v.j.get<std::string>()).size()));
      if (v.j.is_array() || v.j.is_object()) return Value::of(int64_t(v.j.size()));
      fail(line, "length of a " + std::string(v.j.type_name()));
    }
    if (name == "tojson") {
      if (v.kind == Value::Namespace) fail(line, "tojson of a namespace");
      const Value* ind = kwarg("indent", 0);
      int indent = ind && ind->kind == Value::Json && ind->j.is_number() ? int(ind->j.get<int64_t>()) : -1;
      std::string s;
      to_json(s, v.kind == Value::Json ? v.j : ojson(), indent, 0);
      return Value::of(s);
    }
    if (name == "string") return Value::of(to_str(v));
    if (name == "safe") return v;
    if (name == "trim") {
      const Value* chars = kwarg("chars", 0);
      return Value::of(strip_chars(to_str(v), chars && chars->is_string() ? &chars->j.get_ref<const std::string&>() : nullptr, true, true));
    }
    if (name == "upper" || name == "lower") return call_method(Value::of(to_str(v)), name, {}, line);
    if (name == "capitalize" || name == "title") {
      std::string s = to_str(v);
      bool start = true;
      for (size_t i = 0; i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (name == "capitalize") s[i] = char(i == 0 ? std::toupper(c) : std::tolower(c));
        else {
          s[i] = char(start ? std::toupper(c) : std::tolower(c));
          start = !std::isalnum(c);
        }
      }
      return Value::of(s);
    }
    if (name == "default" || name == "d") {
      const Value* dflt = kwarg("default_value", 0);
      const Value* boolean = kwarg("boolean", 1);
      bool use = v.is_undefined() || (boolean && truthy(*boolean) && !truthy(v));
      return use ? (dflt ? *dflt : Value::of("")) : v;
    }
    if (name == "join") {
      const Value* sep = kwarg("d", 0);
      std::string s, d = sep ? to_str(*sep) : "";
      if (v.kind == Value::Json && v.j.is_array()) {
        bool first = true;
        for (auto& x : v.j) {
          if (!first) s += d;
          first = false;
          s += to_str(Value::of(x));
        }
      }
      return Value::of(s);
    }
    if (name == "first" || name == "last") {
      if (v.kind == Value::Json && v.j.is_array()) {
        if (v.j.empty()) return Value{};
        return Value::of(name == "first" ? v.j.front() : v.j.back());
      }
      if (v.is_string()) {
        auto cps = code_points(v.j.get<std::string>());
        if (cps.empty()) return Value{};
        return Value::of(name == "first" ? cps.front() : cps.back());
      }
      fail(line, name + " of a non-sequence");
    }
    if (name == "list") {
      if (v.kind == Value::Json && v.j.is_array()) return v;
      if (v.is_string()) {
        ojson r = ojson::array();
        for (auto& c : code_points(v.j.get<std::string>())) r.push_back(c);
        return Value::of(r);
      }
      if (v.kind == Value::Json && v.j.is_object()) return call_method(v, "keys", {}, line);
      fail(line, "list of a non-sequence");
    }
    if (name == "reverse") {
      if (v.is_string()) {
        auto cps = code_points(v.j.get<std::string>());
        std::string r;
        for (auto it = cps.rbegin(); it != cps.rend(); ++it) r += *it;
        return Value::of(r);
      }
      if (v.kind == Value::Json && v.j.is_array()) {
        ojson r = ojson::array();
        for (auto it = v.j.rbegin(); it != v.j.rend(); ++it) r.push_back(*it);
        return Value::of(r);
      }
      fail(line, "reverse of a non-sequence");
    }
    if (name == "items") return call_method(v, "items", {}, line);
    if (name == "int") {
      if (v.kind == Value::Json && v.j.is_number()) return Value::of(as_int(v, line, "int"));
      if (v.is_string()) {
        try { return Value::of(int64_t(std::stoll(v.j.get<std::string>()))); } catch (...) { return Value::of(0); }
      }
      return Value::of(0);
    }
    if (name == "float") {
      if (v.kind == Value::Json && v.j.is_number()) return Value::of(v.j.get<double>());
      if (v.is_string()) {
        try { return Value::of(std::stod(v.j.get<std::string>())); } catch (...) { return Value::of(0.0); }
      }
      return Value::of(0.0);
    }
    if (name == "abs") {
      if (v.kind != Value::Json || !v.j.is_number()) fail(line, "abs of a non-number");
      if (v.j.is_number_float()) return Value::of(std::fabs(v.j.get<double>()));
      return Value::of(std::llabs(v.j.get<int64_t>()));
    }
    if (name == "replace") {
      if (args.size() < 2) fail(line, "replace needs two arguments");
      std::string s = to_str(v), from = to_str(args[0]), to = to_str(args[1]);
      int64_t count = args.size() > 2 ? as_int(args[2], line, "replace count") : -1;
      std::string r;
      size_t start = 0;
      if (from.empty()) return Value::of(s);
      while (count != 0) {
        size_t k = s.find(from, start);
        if (k == std::string::npos) break;
        r += s.substr(start, k - start) + to;
        start = k + from.size();
        if (count > 0) --count;
      }
      r += s.substr(start);
      return Value::of(r);
    }
    if (name == "unique") {
      if (v.kind != Value::Json || !v.j.is_array()) fail(line, "unique of a non-list");
      ojson r = ojson::array();
      for (auto& x : v.j)
        if (std::find(r.begin(), r.end(), x) == r.end()) r.push_back(x);
      return Value::of(r);
    }
    fail(line, "unknown filter '" + name + "'");
  }

  bool test(const Value& v, const std::string& name, const std::vector<Value>& args, int line) {
    const bool json = v.kind == Value::Json;
    if (name == "defined") return !v.is_undefined();
    if (name == "undefined") return v.is_undefined();
    if (name == "none") return json && v.j.is_null();
    if (name == "string") return v.is_string();
    if (name == "number") return json && v.j.is_number();
    if (name == "integer") return json && v.j.is_number_integer();
    if (name == "float") return json && v.j.is_number_float();
    if (name == "boolean") return json && v.j.is_boolean();
    if (name == "true") return json && v.j.is_boolean() && v.j.get<bool>();
    if (name == "false") return json && v.j.is_boolean() && !v.j.get<bool>();
    if (name == "mapping") return (json && v.j.is_object()) || v.kind == Value::Namespace;
    if (name == "sequence" || name == "iterable") return json && (v.j.is_array() || v.j.is_string() || v.j.is_object());
    if (name == "odd" || name == "even") {
      int64_t x = as_int(v, line, "odd/even test");
      return (x % 2 != 0) == (name == "odd");
    }
    if (name == "divisibleby") {
      int64_t d = as_int(args.at(0), line, "divisibleby");
      return d != 0 && as_int(v, line, "divisibleby") % d == 0;
    }
    if (name == "eq" || name == "equalto" || name == "sameas") return !args.empty() && values_equal(v, args[0]);
    if (name == "ne") return args.empty() || !values_equal(v, args[0]);
    fail(line, "unknown test '" + name + "'");
  }

  static double num(const Value& v, int line) {
    if (v.kind != Value::Json || !v.j.is_number()) fail(line, "arithmetic on a non-number");
    return v.j.get<double>();
  }
  static bool both_int(const Value& a, const Value& b) {
    return a.kind == Value::Json && b.kind == Value::Json && a.j.is_number_integer() && b.j.is_number_integer();
  }

  Value binary(const std::string& op, const Value& a, const Value& b, int line) {
    if (op == "==") return Value::of(values_equal(a, b));
    if (op == "!=") return Value::of(!values_equal(a, b));
    if (op == "in" || op == "not in") {
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
      return Value::of(op == "in" ? found : !found);
    }
    if (op == "<" || op == ">" || op == "<=" || op == ">=") {
      int c;
      if (a.is_string() && b.is_string()) {
        c = a.j.get_ref<const std::string&>().compare(b.j.get_ref<const std::string&>());
      } else {
        double x = num(a, line), y = num(b, line);
        c = x < y ? -1 : x > y ? 1 : 0;
      }
      bool r = op == "<" ? c < 0 : op == ">" ? c > 0 : op == "<=" ? c <= 0 : c >= 0;
      return Value::of(r);
    }
    if (op == "~") return Value::of(to_str(a) + to_str(b));
    if (op == "+") {
      if (a.is_string() && b.is_string()) return Value::of(a.j.get<std::string>() + b.j.get<std::string>());
      if (a.kind == Value::Json && b.kind == Value::Json && a.j.is_array() && b.j.is_array()) {
        ojson r = a.j;
        for (auto& x : b.j) r.push_back(x);
        return Value::of(r);
      }
      if (a.is_undefined() || b.is_undefined()) fail(line, "'+' on an undefined value");
      if (both_int(a, b)) return Value::of(a.j.get<int64_t>() + b.j.get<int64_t>());
      if (a.is_string() || b.is_string()) fail(line, "cannot add a string and a non-string");
      return Value::of(num(a, line) + num(b, line));
    }
    if (op == "-") {
      if (both_int(a, b)) return Value::of(a.j.get<int64_t>() - b.j.get<int64_t>());
      return Value::of(num(a, line) - num(b, line));
    }
    if (op == "*") {
      if (a.is_string() && b.kind == Value::Json && b.j.is_number_integer()) {
        std::string r;
        for (int64_t k = 0; k < b.j.get<int64_t>(); ++k) r += a.j.get<std::string>();
        return Value::of(r);
      }
      if (both_int(a, b)) return Value::of(a.j.get<int64_t>() * b.j.get<int64_t>());
      return Value::of(num(a, line) * num(b, line));
    }
    if (op == "/") {
      double d = num(b, line);
      if (d == 0) fail(line, "division by zero");
      return Value::of(num(a, line) / d);
    }
    if (op == "//" || op == "%") {
      if (both_int(a, b)) {
        int64_t x = a.j.get<int64_t>(), y = b.j.get<int64_t>();
        if (y == 0) fail(line, "division by zero");
        int64_t q = x / y, r = x % y;
        if (r != 0 && ((r < 0) != (y < 0))) {
          --q;
          r += y;
        }
        return Value::of(op == "//" ? q : r);
      }
      double x = num(a, line), y = num(b, line);
      if (y == 0) fail(line, "division by zero");
      double q = std::floor(x / y);
      return Value::of(op == "//" ? q : x - q * y);
    }
    if (op == "**") {
      if (both_int(a, b) && b.j.get<int64_t>() >= 0) {
        int64_t r = 1;
        for (int64_t k = 0; k < b.j.get<int64_t>(); ++k) r *= a.j.get<int64_t>();
        return Value::of(r);
      }
      return Value::of(std::pow(num(a, line), num(b, line)));
    }
    fail(line, "unknown operator " + op);
  }

  void eval_args(const Expr& e, size_t first, std::vector<Value>& args,
                 std::vector<std::pair<std::string, Value>>& kwargs) {
    size_t n_kw = e.kw.size();
    size_t n_pos = e.kids.size() - first - n_kw;
    for (size_t k = 0; k < n_pos; ++k) args.push_back(eval(*e.kids[first + k]));
    for (size_t k = 0; k < n_kw; ++k) kwargs.emplace_back(e.kw[k], eval(*e.kids[first + n_pos + k]));
  }

  Value eval(const Expr& e) {
    switch (e.type) {
      case Expr::Literal:
        if (e.name == "__undefined__") return Value{};
        return Value::of(e.literal);
      case Expr::Name: return lookup(e.name);
      case Expr::Attr: return attribute(eval(*e.kids[0]), e.name);
      case Expr::Index: return index(eval(*e.kids[0]), eval(*e.kids[1]), e.line);
      case Expr::Slice: return slice(eval(*e.kids[0]), e);
      case Expr::Not: return Value::of(!truthy(eval(*e.kids[0])));
      case Expr::Neg: {
        Value v = eval(*e.kids[0]);
        if (v.kind == Value::Json && v.j.is_number_integer()) return Value::of(-v.j.get<int64_t>());
        return Value::of(-num(v, e.line));
      }
      case Expr::And: {
        Value a = eval(*e.kids[0]);
        return truthy(a) ? eval(*e.kids[1]) : a;
      }
      case Expr::Or: {
        Value a = eval(*e.kids[0]);
        return truthy(a) ? a : eval(*e.kids[1]);
      }
      case Expr::Cond: return truthy(eval(*e.kids[0])) ? eval(*e.kids[1]) : eval(*e.kids[2]);
      case Expr::Binary: return binary(e.name, eval(*e.kids[0]), eval(*e.kids[1]), e.line);
      case Expr::List: {
        ojson r = ojson::array();
        for (auto& k : e.kids) {
          Value v = eval(*k);
          r.push_back(v.kind == Value::Json ? v.j : ojson());
        }
        return Value::of(r);
      }
      case Expr::Dict: {
        ojson r = ojson::object();
        for (size_t k = 0; k + 1 < e.kids.size(); k += 2) {
          Value key = eval(*e.kids[k]), val = eval(*e.kids[k + 1]);
          if (!key.is_string()) fail(e.line, "dict keys must be strings");
          r[key.j.get<std::string>()] = val.kind == Value::Json ? val.j : ojson();
        }
        return Value::of(r);
      }
      case Expr::Filter: {
        Value v = eval(*e.kids[0]);
        std::vector<Value> args;
        std::vector<std::pair<std::string, Value>> kwargs;
        eval_args(e, 1, args, kwargs);
        return filter(v, e.name, args, kwargs, e.line);
      }
      case Expr::Test: {
        Value v = eval(*e.kids[0]);
        std::vector<Value> args;
        std::vector<std::pair<std::string, Value>> kwargs;
        eval_args(e, 1, args, kwargs);
        bool r = test(v, e.name, args, e.line);
        return Value::of(e.negated ? !r : r);
      }
      case Expr::Call: {
        const Expr& callee = *e.kids[0];
        std::vector<Value> args;
        std::vector<std::pair<std::string, Value>> kwargs;
        eval_args(e, 1, args, kwargs);
        if (callee.type == Expr::Attr) return call_method(eval(*callee.kids[0]), callee.name, args, e.line);
        if (callee.type == Expr::Name && lookup(callee.name).is_undefined()) return call_global(callee.name, args, kwargs, e.line);
        fail(e.line, "this value cannot be called");
      }
    }
    return Value{};
  }

  Value call_global(const std::string& name, const std::vector<Value>& args,
                    const std::vector<std::pair<std::string, Value>>& kwargs, int line) {
    if (name == "namespace") {
      Value v;
      v.kind = Value::Namespace;
      v.ns = std::make_shared<ojson>(ojson::object());
      for (auto& a : args)
        if (a.kind == Value::Json && a.j.is_object()) v.ns->update(a.j);
      for (auto& kv : kwargs) (*v.ns)[kv.first] = kv.second.kind == Value::Json ? kv.second.j : ojson();
      return v;
    }
    if (name == "range") {
      int64_t start = 0, stop, step = 1;
      if (args.size() == 1) stop = as_int(args[0], line, "range");
      else if (args.size() >= 2) {
        start = as_int(args[0], line, "range");
        stop = as_int(args[1], line, "range");
        if (args.size() > 2) step = as_int(args[2], line, "range");
      } else fail(line, "range() needs arguments");
      if (step == 0) fail(line, "range() step cannot be zero");
      ojson r = ojson::array();
      for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) r.push_back(i);
      return Value::of(r);
    }
    if (name == "raise_exception") throw InputError("chat template: " + (args.empty() ? std::string("error") : to_str(args[0])));
    if (name == "dict") {
      ojson r = ojson::object();
      for (auto& kv : kwargs) r[kv.first] = kv.second.kind == Value::Json ? kv.second.j : ojson();
      return Value::of(r);
    }
    fail(line, "unknown function " + name + "()");
  }

private:
  std::vector<std::unordered_map<std::string, Value>> frames_;
};

}  // namespace

ChatTemplate::ChatTemplate(const std::string& source) {
  StmtParser parser(lex_template(source));
  auto root = std::make_shared<Node>();
  root->type = Node::Block;
  root->bodies.emplace_back();
  ExprParser* stop = nullptr;
  parser.parse_body(root->bodies[0], {}, &stop);
  root_ = root;
}
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;
ChatTemplate::~ChatTemplate() = default;

std::string ChatTemplate::render(const nlohmann::ordered_json& variables) const {
  Renderer r(variables);
  r.exec(root_->bodies[0]);
  return std::move(r.out);
}

std::string render_chat(const ChatTemplate& tmpl, const ChatInput& input) {
  ojson vars = ojson::object();
  vars["messages"] = input.messages;
  vars["add_generation_prompt"] = input.add_generation_prompt;
  if (input.tools) vars["tools"] = *input.tools;
  if (input.enable_thinking) vars["enable_thinking"] = *input.enable_thinking;
  if (!input.bos_token.empty()) vars["bos_token"] = input.bos_token;
  if (!input.eos_token.empty()) vars["eos_token"] = input.eos_token;
  if (!input.pad_token.empty()) vars["pad_token"] = input.pad_token;
  return tmpl.render(vars);
}

}  // namespace bmx

// The statement walker: text and {{ }} output append to one string, {% if %} picks a body, {% for %}
// pushes a frame per item with Jinja's loop.* variables, {% break %}/{% continue %} unwind as a Flow.
#include "jinja/render.h"

#include "jinja/error.h"
#include "jinja/eval.h"
#include "jinja/limits.h"
#include "jinja/text.h"

namespace bmx::jinja {
namespace {

enum class Flow { Normal, Break, Continue };

// What a for loop walks: list items, dict keys, or a string's code points; none is an empty loop.
std::vector<ojson> loop_items(const Value& seq, int line) {
  std::vector<ojson> items;
  if (seq.kind == Value::Json) {
    if (seq.j.is_array()) items.assign(seq.j.begin(), seq.j.end());
    else if (seq.j.is_object())
      for (auto it = seq.j.begin(); it != seq.j.end(); ++it) items.push_back(it.key());
    else if (seq.j.is_string())
      for (auto& c : code_points(seq.j.get_ref<const std::string&>())) items.push_back(c);
    else if (!seq.j.is_null())
      fail(line, "cannot loop over a " + std::string(seq.j.type_name()));
  } else if (seq.kind == Value::Namespace) {
    fail(line, "cannot loop over a namespace");
  }
  check_item_count(int64_t(items.size()), line);  // a string's code points can outnumber any list
  return items;
}

// Binds the loop variables: one name takes the item, several unpack a list of that length.
void bind_targets(Frame& frame, const std::vector<std::string>& targets, const ojson& item, int line) {
  if (targets.size() == 1) {
    frame[targets[0]] = Value::of(item);
    return;
  }
  if (!item.is_array() || item.size() != targets.size())
    fail(line, "cannot unpack loop item into " + std::to_string(targets.size()) + " names");
  for (size_t k = 0; k < targets.size(); ++k) frame[targets[k]] = Value::of(item[k]);
}

// Jinja's `loop` variable for item i of items.
ojson loop_variable(const std::vector<ojson>& items, size_t i) {
  const size_t len = items.size();
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
  return loop;
}

struct Renderer {
  Scope scope;
  std::string out;
  RenderBudget budget;

  void append(const std::string& s, int line) {
    check_string_size(out.size() + s.size(), line);
    out += s;
  }

  Flow exec(const Body& body) {
    for (const auto& n : body) {
      Flow f = exec(*n);
      if (f != Flow::Normal) return f;
    }
    return Flow::Normal;
  }

  Flow exec(const Stmt& n) {
    budget.check_time(n.line);  // a long template of costly statements, with no loop, ends too
    switch (n.type) {
      case Stmt::Text: append(n.text, n.line); return Flow::Normal;
      case Stmt::Output: append(to_str(eval(*n.exprs[0], scope)), n.line); return Flow::Normal;
      case Stmt::If:
        for (size_t i = 0; i < n.exprs.size(); ++i)
          if (truthy(eval(*n.exprs[i], scope))) return exec(n.bodies[i]);
        if (n.bodies.size() > n.exprs.size()) return exec(n.bodies.back());
        return Flow::Normal;
      case Stmt::For: return exec_for(n);
      case Stmt::Set: exec_set(n); return Flow::Normal;
      case Stmt::Break: return Flow::Break;
      case Stmt::Continue: return Flow::Continue;
    }
    return Flow::Normal;
  }

  // {% set x = v %} binds in the innermost frame; {% set ns.x = v %} writes into the namespace.
  void exec_set(const Stmt& n) {
    Value v = eval(*n.exprs[0], scope);
    const std::string& t = n.targets[0];
    size_t dot = t.find('.');
    if (dot == std::string::npos) {
      scope.frames.back()[t] = std::move(v);
      return;
    }
    Value ns = scope.lookup(t.substr(0, dot));
    if (ns.kind != Value::Namespace) fail(n.line, "cannot set an attribute of '" + t.substr(0, dot) + "' (not a namespace)");
    (*ns.ns)[t.substr(dot + 1)] = v.kind == Value::Json ? v.j : ojson();
  }

  // for x in xs if cond: the filter runs first, so loop.* counts the kept items.
  std::vector<ojson> kept_items(const Stmt& n, std::vector<ojson> items) {
    std::vector<ojson> kept;
    for (const ojson& item : items) {
      budget.add_iteration(n.line);
      scope.frames.emplace_back();
      bind_targets(scope.frames.back(), n.targets, item, n.line);
      bool keep = truthy(eval(*n.exprs[1], scope));
      scope.frames.pop_back();
      if (keep) kept.push_back(item);
    }
    return kept;
  }

  Flow exec_for(const Stmt& n) {
    std::vector<ojson> items = loop_items(eval(*n.exprs[0], scope), n.line);
    if (n.exprs.size() > 1) items = kept_items(n, std::move(items));
    if (items.empty()) {
      if (n.bodies.size() > 1) return exec(n.bodies[1]);  // {% else %}
      return Flow::Normal;
    }
    for (size_t i = 0; i < items.size(); ++i) {
      budget.add_iteration(n.line);
      scope.frames.emplace_back();
      Frame& frame = scope.frames.back();
      bind_targets(frame, n.targets, items[i], n.line);
      frame["loop"] = Value::of(loop_variable(items, i));
      Flow f = exec(n.bodies[0]);
      scope.frames.pop_back();
      if (f == Flow::Break) break;
    }
    return Flow::Normal;
  }
};

}  // namespace

std::string render(const Body& body, const ojson& variables) {
  Renderer r;
  checked_size(variables, 0);  // the caller's values nest within the limit too (printing them recurses)
  r.scope.frames.emplace_back();
  if (variables.is_object())
    for (auto it = variables.begin(); it != variables.end(); ++it) r.scope.frames.back()[it.key()] = Value::of(it.value());
  r.exec(body);
  return std::move(r.out);
}

}  // namespace bmx::jinja

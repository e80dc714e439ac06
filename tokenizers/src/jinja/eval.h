// Expression evaluation over the current scope. Expressions have no side effects apart from the
// errors they raise, so the scope is read only.
#pragma once
#include "jinja/ast.h"
#include "jinja/scope.h"

namespace bmx::jinja {

Value eval(const Expr& e, const Scope& scope);

}  // namespace bmx::jinja

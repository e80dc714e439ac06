// Reading inside a value: x.name, x[key] and x[a:b:step]. A missing key or an index out of range is
// undefined, as in Jinja, so templates can probe with `is defined`.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "jinja/value.h"

namespace bmx::jinja {

// x.name: a dict key, a namespace attribute, or (for digits) a list index.
Value attribute(const Value& obj, const std::string& name);

// x[key]: dict by string key, list or string (by code point) by integer, negative from the end.
Value item(const Value& obj, const Value& key);

// x[start:stop:step] on a list or a string, with Python's clamping of the bounds.
Value slice(const Value& obj, std::optional<int64_t> start, std::optional<int64_t> stop,
            std::optional<int64_t> step, int line);

}  // namespace bmx::jinja

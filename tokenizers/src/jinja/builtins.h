// What a template can call by name: filters (x | name), tests (x is name), methods (x.name()) and the
// global functions. Each kind is a table name -> function in its own file; an unknown name is an error
// when it is reached, not when the template is parsed, as in Jinja.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "jinja/value.h"

namespace bmx::jinja {

struct Args {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;

  // The keyword argument `key`, else the positional one at `pos`; null when neither was given.
  const Value* get(const char* key, size_t pos) const {
    for (auto& kv : keyword)
      if (kv.first == key) return &kv.second;
    return positional.size() > pos ? &positional[pos] : nullptr;
  }
};

Value call_filter(const std::string& name, const Value& v, const Args& args, int line);              // filters.cpp
bool call_test(const std::string& name, const Value& v, const std::vector<Value>& args, int line);   // is_tests.cpp
Value call_method(const Value& self, const std::string& name, const std::vector<Value>& args, int line);  // methods.cpp
Value call_global(const std::string& name, const Args& args, int line);                             // globals.cpp

}  // namespace bmx::jinja

// String helpers that filters and methods share ("abc" | upper and "abc".upper() are one operation).
// Case changes are ASCII-only, as before; lengths and indices count code points, as Python does.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace bmx::jinja {

// The UTF-8 sequences of s, one string per code point.
std::vector<std::string> code_points(const std::string& s);

// str.strip/lstrip/rstrip: `chars` null strips whitespace.
std::string strip_chars(const std::string& s, const std::string* chars, bool left, bool right);

std::string ascii_upper(std::string s);
std::string ascii_lower(std::string s);
std::string capitalize(std::string s);  // first character upper, the rest lower
std::string title(std::string s);       // every word's first character upper

// str.replace(from, to, count): count < 0 replaces all; an empty `from` leaves s as it is. A result over
// the string limit fails at `line`.
std::string replace_all(const std::string& s, const std::string& from, const std::string& to, int64_t count, int line);

}  // namespace bmx::jinja

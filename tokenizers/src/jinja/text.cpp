#include "jinja/text.h"

#include <cctype>

#include "jinja/limits.h"

namespace bmx::jinja {

std::vector<std::string> code_points(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    size_t j = i + 1;
    while (j < s.size() && (static_cast<unsigned char>(s[j]) & 0xC0) == 0x80) ++j;
    out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

std::string strip_chars(const std::string& s, const std::string* chars, bool left, bool right) {
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

std::string ascii_upper(std::string s) {
  for (char& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string ascii_lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string capitalize(std::string s) {
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    s[i] = char(i == 0 ? std::toupper(c) : std::tolower(c));
  }
  return s;
}

std::string title(std::string s) {
  bool start = true;
  for (char& ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    ch = char(start ? std::toupper(c) : std::tolower(c));
    start = !std::isalnum(c);
  }
  return s;
}

std::string replace_all(const std::string& s, const std::string& from, const std::string& to, int64_t count, int line) {
  if (from.empty()) return s;
  std::string r;
  size_t start = 0;
  while (count != 0) {
    size_t k = s.find(from, start);
    if (k == std::string::npos) break;
    r += s.substr(start, k - start) + to;
    check_string_size(r.size(), line);  // short `from`, long `to`: the result can grow far beyond s
    start = k + from.size();
    if (count > 0) --count;
  }
  r += s.substr(start);
  return r;
}

}  // namespace bmx::jinja

// A whole file as bytes; InputError naming the file when it cannot be opened.
#pragma once
#include <string>

namespace bmx {

std::string read_file(const std::string& path);

}  // namespace bmx

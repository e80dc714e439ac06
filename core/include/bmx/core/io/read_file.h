// A whole file as bytes; InputError naming the file when it cannot be opened.
#pragma once
#include <string>

#include "bmx/core/util/big_allocator.h"

namespace bmx {

std::string read_file(const std::string& path);
// The same into huge-page memory (big_allocator.h): for large files read once into fresh memory (tokenizer.json).
BigString read_big_file(const std::string& path);

}  // namespace bmx

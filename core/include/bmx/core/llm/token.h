// The token id, one type from the tokenizer through sampling and generation to the command line. int32_t, as
// Hugging Face's tokenizers and bmx::Tokenizer use: vocabularies stay far below 2^31. ATen's id tensors are
// int64; the forward pass takes ids as a tensor, so the one widening happens where that tensor is built.
#pragma once
#include <cstdint>

namespace bmx {

using TokenId = int32_t;

}  // namespace bmx

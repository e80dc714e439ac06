// How load_qwen3 reads the projections of a quantized model folder (bmx/core/llm/quantized_model.h).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "bmx/core/nn/block_quant.h"
#include "bmx/core/nn/projection.h"

namespace bmx {
class SafetensorsCheckpoint;
}

namespace bmx::detail {

// The block format the checkpoint's "bmx.weights" metadata names, or nullopt for weights as Hugging Face
// writes them. InputError for an unknown format or version.
std::optional<kernels::BlockFormat> stored_block_format(const SafetensorsCheckpoint& ckpt);

// Projection `name` [rows, cols] of a quantized checkpoint, as a view of the mapping. InputError naming file
// and tensor when a tensor is missing, has the wrong dtype or shape, or a scale is NaN or inf.
nn::Projection stored_projection(const SafetensorsCheckpoint& ckpt, kernels::BlockFormat f, const std::string& name,
                                 int64_t rows, int64_t cols);

}  // namespace bmx::detail

// A decoder model folder with block-quantized projections (bmx quantize): rounded once, then loaded
// memory-mapped by load_qwen3 like any model folder, so start-up pays neither the rounding (20-30 s for a 4B
// model) nor the BF16 bytes.
//
// Format, version 1. The folder holds the source folder's files (config.json, generation_config.json, the
// tokenizer's files, structure-tokenizer subfolders) and one model.safetensors in place of the source weights:
//   __metadata__       "format": "pt", "bmx.weights": "q8_0" or "q4_0", "bmx.weights_version": "1"
//   as stored          every tensor the decoder reads whole (embedding, norms), dtype and shape unchanged
//   per projection P   (q/k/v/o_proj, gate/up/down_proj of each layer, and the LM head: "lm_head.weight", or
//                      "model.embed_tokens.weight" when tied), in the layout of bmx/core/nn/block_quant.h:
//                        "P.q8_0" or "P.q4_0"  U8  [rows, quant_bytes_per_row(cols)]
//                        "P.scales"            F16 [rows, scales_per_row(cols)]
// Tensors are safetensors byte ranges, so a reader in any language finds them by name; rows and cols are those
// config.json gives P (block_quant.h pads cols to 64).
#pragma once
#include <optional>
#include <string>

#include "bmx/core/nn/block_quant.h"

namespace bmx {

struct Qwen3Model;

constexpr int kQuantizedModelVersion = 1;

// Writes `model` (its projections quantized: quantize_weights, or loaded so) as a model folder in `out_dir`,
// the other files copied from `source_dir`. `out_dir` must be new or empty and not `source_dir` (InputError).
// The weights are written last, through OutputFile: an interrupted run leaves no model.safetensors.
void save_quantized_model(const Qwen3Model& model, const std::string& source_dir, const std::string& out_dir);

// The check save_quantized_model makes of `out_dir` first, for callers that want it before the rounding.
void check_quantized_model_folder(const std::string& source_dir, const std::string& out_dir);

}  // namespace bmx

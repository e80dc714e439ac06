// Shared between the GCP-VQVAE source files: the loaded weights and the stages of the network.
#pragma once
#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bmx/core/nn/quantized_matmul.h"

#include "bmx/prot3d/gcp_vqvae.h"

namespace bmx::prot3d {

// Where each size of the config was read: field ("gcp_layers", "encoder.depth", ...) -> {file, YAML key}.
using GcpConfigKeys = std::map<std::string, std::pair<std::string, std::string>>;

// Reads the three YAML files; every size is checked against sane bounds (InputError naming file and key).
GcpVqvaeConfig read_gcp_vqvae_config(const std::string& dir, GcpConfigKeys* keys = nullptr);

// Before anything is allocated from the config: each layer count and dimension must be what the checkpoint's
// tensors hold (`shapes`: canonical name -> shape). InputError naming the config file, the key, the config's value
// and the checkpoint's. After this, the network the config describes is no larger than the checkpoint.
void check_config_against_checkpoint(const GcpVqvaeConfig& config, const GcpConfigKeys& keys,
                                     const std::map<std::string, std::vector<int64_t>>& shapes,
                                     const std::string& checkpoint);

// §2 inputs of GCPNet, computed in float64 then cast to the model dtype.
struct GcpFeatures {
  at::Tensor h, chi;           // [L, 49], [L, 2, 3]
  at::Tensor edge_index;       // int64 [2, E]
  at::Tensor edge_e, edge_xi;  // [E, 1], [E, 1, 3]
  at::Tensor pos;              // [L, 3] CA, float64
};
GcpFeatures gcp_features(const BackboneChain& chain, int k, at::ScalarType dtype);

// One transformer block stack (x-transformers ContinuousTransformerWrapper, §4.2).
struct TransformerWeights {
  // Matrices as PyTorch stores them ([out, in], contiguous; products take x·Wᵀ), q/k/v as one [q + k + v, D]
  // matrix.
  struct Layer {
    at::Tensor attn_norm, ff_norm;  // gamma + 1
    at::Tensor qkv, out, ff_in, ff_in_b, ff_out;
  };
  GcpVqvaeConfig::Transformer shape;
  at::Tensor project_in, project_out, final_norm;
  std::vector<Layer> layers;
};
// The stack's matrices rounded for kernels::quantized_matmul (float32 models only).
struct QuantizedTransformer {
  struct Layer {
    kernels::QuantizedMatrix qkv, out, ff_in, ff_out;
  };
  kernels::QuantizedMatrix project_in, project_out;
  std::vector<Layer> layers;
  explicit QuantizedTransformer(const TransformerWeights& w);
};
// x [n, D]; valid: bool [n] key/query mask, undefined = all valid. With `quantized`, the matrix products run
// on its integer matrices instead of w's.
at::Tensor transformer_forward(const TransformerWeights& w, const at::Tensor& x, const at::Tensor& valid,
                               const QuantizedTransformer* quantized = nullptr);

struct GcpWeights {
  std::map<std::string, at::Tensor> by_name;  // GCPNet's tensors by canonical name (all under "encoder.")
  const at::Tensor& operator()(const std::string& name) const;
  bool has(const std::string& name) const { return by_name.count(name) != 0; }
};
// §3: node embeddings [L, 128].
at::Tensor gcpnet_forward(const GcpWeights& w, const GcpVqvaeConfig& config, const GcpFeatures& f);

struct GcpVqvae::Impl {
  GcpVqvaeConfig config;
  ModelPrecision precision = ModelPrecision::float32;
  at::ScalarType dtype;
  GcpWeights gcp;
  at::Tensor tail_w, tail_b, head_w, head_b;  // Conv1d(k=1) as linear
  TransformerWeights encoder, decoder;
  at::Tensor codebook, codebook_sq;            // [K, d], [K]
  at::Tensor projector_in;
  at::Tensor ffn1_w, ffn1_b, norm_w, norm_b, proj_w, proj_b;
  // Built on the first int16 decode (the model is shared between threads, hence the once_flag).
  mutable std::once_flag decoder_int16_once;
  mutable std::unique_ptr<const QuantizedTransformer> decoder_int16;
};

}  // namespace bmx::prot3d

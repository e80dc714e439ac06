// GCP-VQVAE (spec gcp_vqvae.md §2-§6): a preprocessed protein backbone chain -> one structure token per observed
// residue, and tokens -> N/CA/C backbone coordinates. Loads the released model directory natively.
#pragma once
#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bmx/core/util/error.h"
#include "bmx/prot3d/backbone.h"
#include "bmx/prot3d/encoding.h"

namespace bmx::prot3d {

// Every dimension of the network; read from the model directory's YAML files (and checked against the tensor
// shapes), or one of the released shapes for random-weight benchmarks.
struct GcpVqvaeConfig {
  struct Transformer {
    int64_t dim = 1024, depth = 8, heads = 8, kv_heads = 2, ff_mult = 4, dim_head = 64;
    bool qk_norm = true, rotary = true;
  };
  // GCPNet (config_gcpnet_encoder.yaml, model_cfg / layer_cfg / module_cfg)
  int64_t h_input = 49, chi_input = 2, e_input = 9, xi_input = 1;
  int64_t h_hidden = 128, chi_hidden = 16, e_hidden = 32, xi_hidden = 4;
  int64_t gcp_layers = 6, message_layers = 4, feedforward_layers = 2, bottleneck = 4;
  int64_t num_rbf = 8;
  double r_max = 10.0;
  int knn = 16;  // features.kwargs.edge_types: [knn_16]
  // VQ-VAE (config_vqvae.yaml) and decoder (config_geometric_decoder.yaml)
  Transformer encoder{1024, 8}, decoder{1024, 12};
  int64_t vq_dim = 128, codebook_size = 4096;
  int64_t max_length = 512;
  double pos_scale_factor = 1.0, output_scale = 1.0;

  static GcpVqvaeConfig large();
  static GcpVqvaeConfig lite();  // assumed shape: Large with transformer depths halved (encoder 4, decoder 6)
};

// Canonical tensor names and shapes the network consumes (GCPNet under "encoder.", `_orig_mod.` removed).
std::vector<std::pair<std::string, std::vector<int64_t>>> gcp_vqvae_tensor_shapes(const GcpVqvaeConfig& config);

struct EncodeOptions {
  // Chains longer than max_length() are refused unless `window` is set; then the transformer runs on
  // overlapping windows of max_length() residues (`window_overlap` shared residues between neighbours), each
  // residue taking its token from the window in which it lies most centrally. The GCPNet graph always spans
  // the whole chain.
  bool window = false;
  int64_t window_overlap = 128;
  // The original's behaviour instead (when `window` is not set): residues beyond max_length() get no token.
  bool truncate = false;
};


// What encode() refused, as a type, so that a front end can name the way out without reading the message.
enum class EncodeProblem {
  bad_input,  // residues and coordinates disagree, no residues, a non-finite coordinate
  too_long,   // more residues than max_length() and neither options.window nor options.truncate
};
struct EncodeError : InputError {
  EncodeError(EncodeProblem problem, const std::string& message) : InputError(message), problem(problem) {}
  EncodeProblem problem;
};


// The floating-point type the whole network holds its weights and computes in: float32 as the reference runs;
// float64 for tests, which then meet the reference's vectors far inside the float32 tolerances at every stage.
enum class ModelPrecision { float32, float64 };

// How decode computes the decoder transformer's matrix products (about 95% of its arithmetic).
//   float32: as the reference does.
//   int16: both operands rounded to 14-bit integers per row and multiplied with AVX2's integer multiply-add
//   (bmx/core/nn/quantized_matmul.h), about 1.6x the float32 rate; float32 models only. The rounding moves decoded
//   atoms by thousandths of an ångström, against the ~1 Å that quantizing a structure into tokens costs.
enum class DecodeArithmetic { float32, int16 };

class GcpVqvae;
namespace testing {
struct EncodeTrace;  // bmx/prot3d/testing.h
Encoding encode_traced(const GcpVqvae& model, const BackboneChain& chain, const EncodeOptions& options,
                       EncodeTrace& trace);
}  // namespace testing

class GcpVqvae {
 public:
  // Model directory: config_vqvae.yaml, config_gcpnet_encoder.yaml, config_geometric_decoder.yaml and
  // checkpoints/best_valid.pth. Strict: every expected tensor present with its shape, every tensor used.
  static GcpVqvae load(const std::string& dir, ModelPrecision precision = ModelPrecision::float32);
  // Seeded random weights of a given shape (benchmarks; tokens are meaningless).
  static GcpVqvae random(const GcpVqvaeConfig& config, uint64_t seed,
                         ModelPrecision precision = ModelPrecision::float32);
  // "large" or "lite".
  static GcpVqvae random(const std::string& arch, uint64_t seed, ModelPrecision precision = ModelPrecision::float32);

  // Throws EncodeError (an InputError) for a chain it cannot take.
  Encoding encode(const BackboneChain& chain, const EncodeOptions& options = {}) const;
  // At most max_length() tokens, each in [0, codebook_size()); throws InputError otherwise.
  Decoding decode(const std::vector<int>& tokens, DecodeArithmetic arithmetic = DecodeArithmetic::float32) const;

  int64_t max_length() const;
  int64_t codebook_size() const;
  const GcpVqvaeConfig& config() const;
  ModelPrecision precision() const;

  struct Impl;

 private:
  // The encode that also records its intermediate values (testing::encode_traced).
  Encoding encode(const BackboneChain& chain, const EncodeOptions& options, testing::EncodeTrace* trace) const;
  friend Encoding testing::encode_traced(const GcpVqvae&, const BackboneChain&, const EncodeOptions&,
                                         testing::EncodeTrace&);
  explicit GcpVqvae(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace bmx::prot3d

// GCP-VQVAE architecture: the released shapes, the YAML model-directory configs (spec §6) and the tensor table
// the network consumes.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "bmx/core/util/error.h"
#include "bmx/prot3d/gcp_vqvae.h"
#include "gcp_internal.h"

namespace bmx::prot3d {

GcpVqvaeConfig GcpVqvaeConfig::large() { return GcpVqvaeConfig{}; }

GcpVqvaeConfig GcpVqvaeConfig::lite() {
  GcpVqvaeConfig c;
  c.encoder.depth = 4;
  c.decoder.depth = 6;
  return c;
}

namespace {

using Shapes = std::vector<std::pair<std::string, std::vector<int64_t>>>;

void add_gcp(Shapes& out, const std::string& p, int64_t s_in, int64_t v_in, int64_t s_out, int64_t v_out,
             int64_t hidden, bool ff_head) {
  out.push_back({p + "vector_down.weight", {hidden, v_in}});
  if (ff_head) {
    out.push_back({p + "scalar_out.0.weight", {s_out, s_in + hidden + 9}});
    out.push_back({p + "scalar_out.0.bias", {s_out}});
    out.push_back({p + "scalar_out.2.weight", {s_out, s_out}});
    out.push_back({p + "scalar_out.2.bias", {s_out}});
  } else {
    out.push_back({p + "scalar_out.weight", {s_out, s_in + hidden + 9}});
    out.push_back({p + "scalar_out.bias", {s_out}});
  }
  out.push_back({p + "vector_down_frames.weight", {3, v_in}});
  if (v_out > 0) {
    out.push_back({p + "vector_up.weight", {v_out, hidden}});
    out.push_back({p + "vector_out_scale.weight", {v_out, s_out}});
    out.push_back({p + "vector_out_scale.bias", {v_out}});
  }
}

void add_norm(Shapes& out, const std::string& p, int64_t s) {
  out.push_back({p + "scalar_norm.weight", {s}});
  out.push_back({p + "scalar_norm.bias", {s}});
}

void add_transformer(Shapes& out, const std::string& p, const GcpVqvaeConfig::Transformer& t) {
  const int64_t D = t.dim, inner = t.heads * t.dim_head, kv = t.kv_heads * t.dim_head, ff = t.dim * t.ff_mult;
  for (int64_t l = 0; l < t.depth; ++l) {
    std::string a = p + "attn_layers.layers." + std::to_string(2 * l) + ".";
    std::string f = p + "attn_layers.layers." + std::to_string(2 * l + 1) + ".";
    out.push_back({a + "0.0.gamma", {D}});
    out.push_back({a + "1.to_q.weight", {inner, D}});
    out.push_back({a + "1.to_k.weight", {kv, D}});
    out.push_back({a + "1.to_v.weight", {kv, D}});
    out.push_back({a + "1.to_out.weight", {D, inner}});
    out.push_back({f + "0.0.gamma", {D}});
    out.push_back({f + "1.ff.0.proj.weight", {2 * ff, D}});
    out.push_back({f + "1.ff.0.proj.bias", {2 * ff}});
    out.push_back({f + "1.ff.2.weight", {D, ff}});
  }
  out.push_back({p + "attn_layers.final_norm.gamma", {D}});
  out.push_back({p + "project_in.weight", {D, D}});
  out.push_back({p + "project_out.weight", {D, D}});
}

}  // namespace

std::vector<std::pair<std::string, std::vector<int64_t>>> gcp_vqvae_tensor_shapes(const GcpVqvaeConfig& c) {
  Shapes out;
  const std::string g = "encoder.";
  add_norm(out, g + "gcp_embedding.edge_normalization.", c.e_input);
  add_norm(out, g + "gcp_embedding.node_normalization.", c.h_input);
  // Embedding and readout GCPs use bottleneck 1: hidden = max(V, V').
  add_gcp(out, g + "gcp_embedding.edge_embedding.", c.e_input, c.xi_input, c.e_hidden, c.xi_hidden,
          std::max(c.xi_input, c.xi_hidden), false);
  add_gcp(out, g + "gcp_embedding.node_embedding.", c.h_input, c.chi_input, c.h_hidden, c.chi_hidden,
          std::max(c.chi_input, c.chi_hidden), false);
  const int64_t S = c.h_hidden, V = c.chi_hidden, b = c.bottleneck;
  for (int64_t l = 0; l < c.gcp_layers; ++l) {
    std::string p = g + "interaction_layers." + std::to_string(l) + ".";
    const int64_t ms = 2 * S + c.e_hidden, mv = 2 * V + c.xi_hidden;
    add_gcp(out, p + "interaction.message_fusion.0.", ms, mv, S, V, mv / b, false);
    for (int64_t t = 1; t < c.message_layers; ++t)
      add_gcp(out, p + "interaction.message_fusion." + std::to_string(t) + ".", S, V, S, V, V / b, false);
    out.push_back({p + "interaction.scalar_message_attention.0.weight", {1, S}});
    out.push_back({p + "interaction.scalar_message_attention.0.bias", {1}});
    add_norm(out, p + "gcp_norm.0.", S);
    // feed-forward: (2S, 2V) -> (4S, 2V) -> ... -> (S, V); the last one has the two-layer scalar head
    int64_t fs = 2 * S, fv = 2 * V;
    for (int64_t t = 0; t < c.feedforward_layers; ++t) {
      const bool last = t == c.feedforward_layers - 1;
      const int64_t os = last ? S : 4 * S, ov = last ? V : 2 * V;
      add_gcp(out, p + "feedforward_network." + std::to_string(t) + ".", fs, fv, os, ov, fv / b, last);
      fs = os;
      fv = ov;
    }
  }
  add_norm(out, g + "invariant_node_projection.0.", S);
  add_gcp(out, g + "invariant_node_projection.1.", S, V, S, 0, V, false);

  out.push_back({"vqvae.encoder_tail.0.weight", {c.encoder.dim, S, 1}});
  out.push_back({"vqvae.encoder_tail.0.bias", {c.encoder.dim}});
  add_transformer(out, "vqvae.encoder_blocks.", c.encoder);
  out.push_back({"vqvae.encoder_head.0.weight", {c.vq_dim, c.encoder.dim, 1}});
  out.push_back({"vqvae.encoder_head.0.bias", {c.vq_dim}});
  out.push_back({"vqvae.vector_quantizer._codebook.embed", {1, c.codebook_size, c.vq_dim}});
  out.push_back({"vqvae.decoder.projector_in.weight", {c.decoder.dim, c.vq_dim}});
  add_transformer(out, "vqvae.decoder.decoder_stack.", c.decoder);
  const std::string h = "vqvae.decoder.affine_output_projection.";
  out.push_back({h + "ffn1.weight", {c.decoder.dim, c.decoder.dim}});
  out.push_back({h + "ffn1.bias", {c.decoder.dim}});
  out.push_back({h + "norm.weight", {c.decoder.dim}});
  out.push_back({h + "norm.bias", {c.decoder.dim}});
  out.push_back({h + "proj.weight", {9, c.decoder.dim}});
  out.push_back({h + "proj.bias", {9}});
  return out;
}

namespace {

YAML::Node load_yaml(const std::string& path) {
  try {
    return YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw UnsupportedError(path + ": cannot open (a GCP-VQVAE model directory holds config_vqvae.yaml, "
                           "config_gcpnet_encoder.yaml, config_geometric_decoder.yaml and "
                           "checkpoints/best_valid.pth)");
  } catch (const YAML::Exception& e) {
    fail_input(path, std::string("invalid YAML: ") + e.what());
  }
}

// Looks a key path up; `required` missing keys are an error naming the file and the key.
struct Yaml {
  std::string file;
  YAML::Node root;
  GcpConfigKeys* keys = nullptr;
  // A size (layer count, dimension): an integer in [lo, hi], else InputError naming file and key. `field` records
  // where it came from for check_config_against_checkpoint.
  int64_t size(const std::string& field, const std::string& dotted, int64_t fallback, bool required, int64_t lo,
               int64_t hi) const {
    const int64_t v = get<int64_t>(dotted, fallback, required);
    if (v < lo || v > hi)
      fail_input(file, dotted, std::to_string(v) + (hi == INT64_MAX ? " is less than " + std::to_string(lo)
                                                                      : " is outside " + std::to_string(lo) + ".." +
                                                                            std::to_string(hi)));
    if (keys) (*keys)[field] = {file, dotted};
    return v;
  }
  double real(const std::string& dotted, double fallback, double lo, double hi) const {
    const double v = get<double>(dotted, fallback);
    if (!(v >= lo && v <= hi))
      fail_input(file, dotted, std::to_string(v) + " is outside " + std::to_string(lo) + ".." + std::to_string(hi));
    return v;
  }
  YAML::Node at(const std::string& dotted, bool required = true) const {
    YAML::Node n = YAML::Clone(root);
    std::string rest = dotted;
    while (!rest.empty()) {
      auto dot = rest.find('.');
      std::string key = rest.substr(0, dot);
      rest = dot == std::string::npos ? "" : rest.substr(dot + 1);
      if (!n.IsMap() || !n[key]) {
        if (required) fail_input(file, dotted, "missing key");
        return YAML::Node();
      }
      n = n[key];
    }
    return n;
  }
  template <class T>
  T get(const std::string& dotted, T fallback, bool required = false) const {
    YAML::Node n = at(dotted, required);
    if (!n || n.IsNull()) return fallback;
    try {
      return n.as<T>();
    } catch (const YAML::Exception&) {
      fail_input(file, dotted, "unexpected value");
    }
  }
};

// Bounds far beyond any released model, for sizes the checkpoint cannot confirm. Layer counts and the dimensions
// that tensors show have no upper bound here: check_config_against_checkpoint compares them with the checkpoint
// before anything is built from them, which bounds them by the file and names the checkpoint's count.
constexpr int64_t kMaxDim = 1 << 16, kByCheckpoint = INT64_MAX;

void read_transformer(const Yaml& y, const std::string& p, const std::string& field, GcpVqvaeConfig::Transformer& t) {
  t.dim = y.size(field + ".dim", p + "dimension", 0, true, 1, kByCheckpoint);
  t.depth = y.size(field + ".depth", p + "depth", 0, true, 1, kByCheckpoint);
  t.heads = y.size(field + ".heads", p + "heads", 0, true, 1, 1024);
  t.kv_heads = y.size(field + ".kv_heads", p + "attn_kv_heads", t.heads, false, 1, 1024);
  t.ff_mult = y.size(field + ".ff_mult", p + "ff_mult", 4, false, 1, 64);
  t.qk_norm = y.get<bool>(p + "qk_norm", false);
  t.rotary = y.get<bool>(p + "rotary_pos_emb", false);
  if (!y.get<bool>(p + "pre_norm", true)) fail_input(y.file, p + "pre_norm", "only pre-norm transformers are supported");
  if (y.get<bool>(p + "residual_attn", false)) fail_input(y.file, p + "residual_attn", "residual attention is not supported");
  if (y.get<int64_t>(p + "num_memory_tokens", 0) != 0) fail_input(y.file, p + "num_memory_tokens", "memory tokens are not supported");
  if (y.get<bool>(p + "causal", false)) fail_input(y.file, p + "causal", "a causal encoder is not supported");
  if (t.heads <= 0 || t.kv_heads <= 0 || t.heads % t.kv_heads != 0)
    fail_input(y.file, p + "attn_kv_heads", "heads must be a multiple of attn_kv_heads");
}

}  // namespace

GcpVqvaeConfig read_gcp_vqvae_config(const std::string& dir, GcpConfigKeys* keys) {
  GcpVqvaeConfig c;
  Yaml vq{dir + "/config_vqvae.yaml", load_yaml(dir + "/config_vqvae.yaml"), keys};
  Yaml gc{dir + "/config_gcpnet_encoder.yaml", load_yaml(dir + "/config_gcpnet_encoder.yaml"), keys};
  Yaml dc{dir + "/config_geometric_decoder.yaml", load_yaml(dir + "/config_geometric_decoder.yaml"), keys};

  if (vq.get<bool>("model.use_ndlinear", false))
    throw UnsupportedError(vq.file + ": model.use_ndlinear: true (NdLinear projections) is not supported by bmx; "
                           "the released GCP-VQVAE models use plain linear layers");
  if (vq.get<bool>("model.vqvae.vector_quantization.tik_tok.enabled", false))
    throw UnsupportedError(vq.file + ": model.vqvae.vector_quantization.tik_tok.enabled: true (one token per "
                           "several residues) is not supported: BioMatrix uses one structure token per residue");
  if (!vq.get<bool>("model.vqvae.vector_quantization.enabled", true))
    throw UnsupportedError(vq.file + ": vector quantization is disabled: this model produces no tokens");
  const auto enc_name = vq.get<std::string>("model.encoder.name", "gcpnet");
  if (enc_name != "gcpnet") fail_input(vq.file, "model.encoder.name", "encoder '" + enc_name + "' is not supported (gcpnet)");
  const auto dec_name = vq.get<std::string>("model.vqvae.decoder.name", "geometric_decoder");
  if (dec_name != "geometric_decoder")
    fail_input(vq.file, "model.vqvae.decoder.name", "decoder '" + dec_name + "' is not supported (geometric_decoder)");
  c.max_length = vq.size("max_length", "model.max_length", 0, true, 1, 1 << 20);
  c.output_scale = vq.real("model.decoder_output_scaling_factor", 1.0, 1e-6, 1e6);
  c.vq_dim = vq.size("vq_dim", "model.vqvae.vector_quantization.dim", 0, true, 1, kByCheckpoint);
  // One code would make every residue the same token.
  c.codebook_size = vq.size("codebook_size", "model.vqvae.vector_quantization.codebook_size", 0, true, 2, kByCheckpoint);
  read_transformer(vq, "model.vqvae.encoder.", "encoder", c.encoder);
  read_transformer(dc, "", "decoder", c.decoder);
  c.pos_scale_factor = dc.real("pos_scale_factor", 1.0, 1e-6, 1e6);

  // GCPNet featurisation: only the released feature set exists in bmx.
  const std::string fk = "features.kwargs.";
  auto edge_types = gc.at(fk + "edge_types");
  if (!edge_types.IsSequence() || edge_types.size() != 1)
    fail_input(gc.file, fk + "edge_types", "expected one knn_<k> edge type");
  const std::string et = edge_types[0].IsScalar() ? edge_types[0].Scalar() : std::string();
  if (et.rfind("knn_", 0) != 0) fail_input(gc.file, fk + "edge_types", "edge type '" + et + "' is not supported (knn_<k>)");
  try {
    c.knn = std::stoi(et.substr(4));
  } catch (...) {
    fail_input(gc.file, fk + "edge_types", "bad k in '" + et + "'");
  }
  if (c.knn <= 0 || c.knn > 1024) fail_input(gc.file, fk + "edge_types", "k must be in 1..1024");
  const auto rep = gc.get<std::string>(fk + "representation", "CA");
  if (rep != "CA") fail_input(gc.file, fk + "representation", "only the CA representation is supported");

  const std::string mk = "encoder.kwargs.";
  c.h_input = gc.size("h_input", mk + "model_cfg.h_input_dim", 0, true, 1, kMaxDim);
  c.chi_input = gc.size("chi_input", mk + "model_cfg.chi_input_dim", 0, true, 1, kMaxDim);
  c.e_input = gc.size("e_input", mk + "model_cfg.e_input_dim", 0, true, 1, kMaxDim);
  c.xi_input = gc.size("xi_input", mk + "model_cfg.xi_input_dim", 0, true, 1, kMaxDim);
  c.h_hidden = gc.size("h_hidden", mk + "model_cfg.h_hidden_dim", 0, true, 1, kByCheckpoint);
  c.chi_hidden = gc.size("chi_hidden", mk + "model_cfg.chi_hidden_dim", 0, true, 1, kByCheckpoint);
  c.e_hidden = gc.size("e_hidden", mk + "model_cfg.e_hidden_dim", 0, true, 1, kByCheckpoint);
  c.xi_hidden = gc.size("xi_hidden", mk + "model_cfg.xi_hidden_dim", 0, true, 1, kByCheckpoint);
  c.gcp_layers = gc.size("gcp_layers", mk + "model_cfg.num_layers", 0, true, 1, kByCheckpoint);
  c.message_layers = gc.size("message_layers", mk + "layer_cfg.mp_cfg.num_message_layers", 0, true, 1, kByCheckpoint);
  c.feedforward_layers =
      gc.size("feedforward_layers", mk + "layer_cfg.num_feedforward_layers", 0, true, 2, kByCheckpoint);
  c.bottleneck = gc.size("bottleneck", mk + "module_cfg.bottleneck", 4, false, 1, kMaxDim);
  c.num_rbf = gc.size("num_rbf", mk + "module_cfg.num_rbf", 8, false, 1, 1024);
  c.r_max = gc.real(mk + "module_cfg.r_max", 10.0, 1e-3, 1e6);
  if (c.h_input != 49 || c.chi_input != 2 || c.e_input != 1 + c.num_rbf || c.xi_input != 1)
    fail_input(gc.file, mk + "model_cfg", "input dims must be h 49, chi 2, e 1+num_rbf, xi 1 (the released features)");
  if (gc.get<bool>(mk + "layer_cfg.pre_norm", false))
    fail_input(gc.file, mk + "layer_cfg.pre_norm", "only post-norm GCPNet layers are supported");
  if (!gc.get<bool>(mk + "layer_cfg.use_gcp_norm", true))
    fail_input(gc.file, mk + "layer_cfg.use_gcp_norm", "GCPNet without GCP norm is not supported");
  if (!gc.get<bool>(mk + "layer_cfg.use_scalar_message_attention", true))
    fail_input(gc.file, mk + "layer_cfg.use_scalar_message_attention", "must be true");
  if (gc.get<bool>(mk + "module_cfg.predict_node_positions", false))
    fail_input(gc.file, mk + "module_cfg.predict_node_positions", "must be false");
  if (gc.get<bool>(mk + "module_cfg.enable_e3_equivariance", false))
    fail_input(gc.file, mk + "module_cfg.enable_e3_equivariance", "must be false");
  if (!gc.get<bool>(mk + "module_cfg.vector_gate", true))
    fail_input(gc.file, mk + "module_cfg.vector_gate", "must be true");
  auto nl = gc.at(mk + "module_cfg.nonlinearities", false);
  if (nl && nl.IsSequence())
    for (auto n : nl)
      if (!n.IsScalar() || n.Scalar() != "silu")
        fail_input(gc.file, mk + "module_cfg.nonlinearities", "only [silu, silu] is supported");
  if (c.gcp_layers < 1 || c.message_layers < 1 || c.feedforward_layers < 2 || c.bottleneck < 1)
    fail_input(gc.file, mk, "layer counts must be positive (at least 2 feed-forward layers)");
  if (c.h_hidden != 128) fail_input(gc.file, mk + "model_cfg.h_hidden_dim", "must be 128 (the VQ-VAE input is 128 wide)");
  return c;
}

}  // namespace bmx::prot3d

namespace bmx::prot3d {
namespace {

// Distinct indices N of tensors named `prefix`N.*.
int64_t count_indices(const std::map<std::string, std::vector<int64_t>>& shapes, const std::string& prefix) {
  std::set<int64_t> seen;
  for (auto it = shapes.lower_bound(prefix); it != shapes.end() && it->first.compare(0, prefix.size(), prefix) == 0;
       ++it) {
    const std::string rest = it->first.substr(prefix.size());
    const std::size_t dot = rest.find('.');
    const std::string digits = rest.substr(0, dot);
    if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    seen.insert(std::stoll(digits));
  }
  return static_cast<int64_t>(seen.size());
}

}  // namespace

void check_config_against_checkpoint(const GcpVqvaeConfig& c, const GcpConfigKeys& keys,
                                     const std::map<std::string, std::vector<int64_t>>& shapes,
                                     const std::string& checkpoint) {
  // Dimension `axis` of a tensor, -1 when the tensor is absent or smaller (the strict shape check names it later).
  const auto dim = [&](const std::string& name, std::size_t axis) -> int64_t {
    auto it = shapes.find(name);
    return it == shapes.end() || it->second.size() <= axis ? -1 : it->second[axis];
  };
  struct Check {
    const char* field;
    int64_t config, checkpoint;
    std::string what;  // what the checkpoint's number counts
  };
  const std::string gl = "encoder.interaction_layers.", cb = "vqvae.vector_quantizer._codebook.embed";
  const std::string ge = "encoder.gcp_embedding.";
  const std::vector<Check> checks = {
      // Layer counts first: they decide how many tensors the network has.
      {"gcp_layers", c.gcp_layers, count_indices(shapes, gl), "GCPNet interaction layers (" + gl + "N)"},
      {"message_layers", c.message_layers, count_indices(shapes, gl + "0.interaction.message_fusion."),
       "message layers (" + gl + "0.interaction.message_fusion.N)"},
      {"feedforward_layers", c.feedforward_layers, count_indices(shapes, gl + "0.feedforward_network."),
       "feed-forward layers (" + gl + "0.feedforward_network.N)"},
      {"encoder.depth", c.encoder.depth, count_indices(shapes, "vqvae.encoder_blocks.attn_layers.layers.") / 2,
       "encoder transformer blocks (vqvae.encoder_blocks.attn_layers.layers.N, two per block)"},
      {"decoder.depth", c.decoder.depth, count_indices(shapes, "vqvae.decoder.decoder_stack.attn_layers.layers.") / 2,
       "decoder transformer blocks (vqvae.decoder.decoder_stack.attn_layers.layers.N, two per block)"},
      {"codebook_size", c.codebook_size, dim(cb, 1), "codes (rows of " + cb + ")"},
      {"vq_dim", c.vq_dim, dim(cb, 2), "code dimensions (columns of " + cb + ")"},
      {"encoder.dim", c.encoder.dim, dim("vqvae.encoder_tail.0.weight", 0), "rows of vqvae.encoder_tail.0.weight"},
      {"decoder.dim", c.decoder.dim, dim("vqvae.decoder.projector_in.weight", 0),
       "rows of vqvae.decoder.projector_in.weight"},
      {"h_hidden", c.h_hidden, dim(ge + "node_embedding.scalar_out.weight", 0),
       "rows of " + ge + "node_embedding.scalar_out.weight"},
      {"chi_hidden", c.chi_hidden, dim(ge + "node_embedding.vector_up.weight", 0),
       "rows of " + ge + "node_embedding.vector_up.weight"},
      {"e_hidden", c.e_hidden, dim(ge + "edge_embedding.scalar_out.weight", 0),
       "rows of " + ge + "edge_embedding.scalar_out.weight"},
      {"xi_hidden", c.xi_hidden, dim(ge + "edge_embedding.vector_up.weight", 0),
       "rows of " + ge + "edge_embedding.vector_up.weight"},
  };
  for (const Check& k : checks) {
    if (k.checkpoint < 0 || k.checkpoint == k.config) continue;
    auto it = keys.find(k.field);
    const std::string file = it == keys.end() ? "config" : it->second.first;
    const std::string key = it == keys.end() ? k.field : it->second.second;
    fail_input(file, key,
               std::to_string(k.config) + ", but the checkpoint " + checkpoint + " has " +
                   std::to_string(k.checkpoint) + " " + k.what);
  }
}

}  // namespace bmx::prot3d

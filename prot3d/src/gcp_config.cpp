// GCP-VQVAE architecture: the released shapes, the YAML model-directory configs (spec §6) and the tensor table
// the network consumes.
#include <yaml-cpp/yaml.h>

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

void read_transformer(const Yaml& y, const std::string& p, GcpVqvaeConfig::Transformer& t) {
  t.dim = y.get<int64_t>(p + "dimension", 0, true);
  t.depth = y.get<int64_t>(p + "depth", 0, true);
  t.heads = y.get<int64_t>(p + "heads", 0, true);
  t.kv_heads = y.get<int64_t>(p + "attn_kv_heads", t.heads);
  t.ff_mult = y.get<int64_t>(p + "ff_mult", 4);
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

GcpVqvaeConfig read_gcp_vqvae_config(const std::string& dir) {
  GcpVqvaeConfig c;
  Yaml vq{dir + "/config_vqvae.yaml", load_yaml(dir + "/config_vqvae.yaml")};
  Yaml gc{dir + "/config_gcpnet_encoder.yaml", load_yaml(dir + "/config_gcpnet_encoder.yaml")};
  Yaml dc{dir + "/config_geometric_decoder.yaml", load_yaml(dir + "/config_geometric_decoder.yaml")};

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
  c.max_length = vq.get<int64_t>("model.max_length", 0, true);
  c.output_scale = vq.get<double>("model.decoder_output_scaling_factor", 1.0);
  c.vq_dim = vq.get<int64_t>("model.vqvae.vector_quantization.dim", 0, true);
  c.codebook_size = vq.get<int64_t>("model.vqvae.vector_quantization.codebook_size", 0, true);
  read_transformer(vq, "model.vqvae.encoder.", c.encoder);
  read_transformer(dc, "", c.decoder);
  c.pos_scale_factor = dc.get<double>("pos_scale_factor", 1.0);
  if (c.max_length <= 0) fail_input(vq.file, "model.max_length", "must be positive");

  // GCPNet featurisation: only the released feature set exists in bmx.
  const std::string fk = "features.kwargs.";
  auto edge_types = gc.at(fk + "edge_types");
  if (!edge_types.IsSequence() || edge_types.size() != 1)
    fail_input(gc.file, fk + "edge_types", "expected one knn_<k> edge type");
  const auto et = edge_types[0].as<std::string>();
  if (et.rfind("knn_", 0) != 0) fail_input(gc.file, fk + "edge_types", "edge type '" + et + "' is not supported (knn_<k>)");
  try {
    c.knn = std::stoi(et.substr(4));
  } catch (...) {
    fail_input(gc.file, fk + "edge_types", "bad k in '" + et + "'");
  }
  if (c.knn <= 0) fail_input(gc.file, fk + "edge_types", "k must be positive");
  const auto rep = gc.get<std::string>(fk + "representation", "CA");
  if (rep != "CA") fail_input(gc.file, fk + "representation", "only the CA representation is supported");

  const std::string mk = "encoder.kwargs.";
  c.h_input = gc.get<int64_t>(mk + "model_cfg.h_input_dim", 0, true);
  c.chi_input = gc.get<int64_t>(mk + "model_cfg.chi_input_dim", 0, true);
  c.e_input = gc.get<int64_t>(mk + "model_cfg.e_input_dim", 0, true);
  c.xi_input = gc.get<int64_t>(mk + "model_cfg.xi_input_dim", 0, true);
  c.h_hidden = gc.get<int64_t>(mk + "model_cfg.h_hidden_dim", 0, true);
  c.chi_hidden = gc.get<int64_t>(mk + "model_cfg.chi_hidden_dim", 0, true);
  c.e_hidden = gc.get<int64_t>(mk + "model_cfg.e_hidden_dim", 0, true);
  c.xi_hidden = gc.get<int64_t>(mk + "model_cfg.xi_hidden_dim", 0, true);
  c.gcp_layers = gc.get<int64_t>(mk + "model_cfg.num_layers", 0, true);
  c.message_layers = gc.get<int64_t>(mk + "layer_cfg.mp_cfg.num_message_layers", 0, true);
  c.feedforward_layers = gc.get<int64_t>(mk + "layer_cfg.num_feedforward_layers", 0, true);
  c.bottleneck = gc.get<int64_t>(mk + "module_cfg.bottleneck", 4);
  c.num_rbf = gc.get<int64_t>(mk + "module_cfg.num_rbf", 8);
  c.r_max = gc.get<double>(mk + "module_cfg.r_max", 10.0);
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
      if (n.as<std::string>() != "silu")
        fail_input(gc.file, mk + "module_cfg.nonlinearities", "only [silu, silu] is supported");
  if (c.gcp_layers < 1 || c.message_layers < 1 || c.feedforward_layers < 2 || c.bottleneck < 1)
    fail_input(gc.file, mk, "layer counts must be positive (at least 2 feed-forward layers)");
  if (c.h_hidden != 128) fail_input(gc.file, mk + "model_cfg.h_hidden_dim", "must be 128 (the VQ-VAE input is 128 wide)");
  return c;
}

}  // namespace bmx::prot3d

// GCP-VQVAE model: strict loading of the released model directory (spec §6), random weights of the released
// shapes, encode (§2-§4) and decode (§5).
#include "bmx/prot3d/gcp_vqvae.h"
#include "bmx/prot3d/testing.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "bmx/core/util/error.h"
#include "bmx/core/nn/nn.h"
#include "bmx/core/io/torch_checkpoint.h"
#include "gcp_internal.h"

namespace bmx::prot3d {

namespace {

std::string shape_str(at::IntArrayRef s) {
  std::ostringstream o;
  for (size_t i = 0; i < s.size(); ++i) o << (i ? "x" : "") << s[i];
  return o.str();
}

// Canonical tensor name: every "_orig_mod." (torch.compile) removed; the pretrained-wrapper GCPNet prefix
// "encoder.encoder." folded to "encoder.".
std::string canonical_name(std::string k) {
  for (size_t p; (p = k.find("_orig_mod.")) != std::string::npos;) k.erase(p, 10);
  if (k.rfind("encoder.encoder.", 0) == 0) k.erase(0, 8);
  return k;
}

// Tensors the released checkpoints carry that inference does not need (spec §6 step 4).
bool ignorable(const std::string& k) {
  return k == "vqvae.vector_quantizer._codebook.initted" || k == "vqvae.vector_quantizer._codebook.cluster_size" ||
         k == "vqvae.vector_quantizer._codebook.embed_avg" || k.find("rotary_pos_emb.inv_freq") != std::string::npos ||
         k.rfind("vqvae.ntp_", 0) == 0 || k.find("tik_tok") != std::string::npos ||
         k.find("pairwise_classification_head") != std::string::npos || k.find("featuriser") != std::string::npos;
}

TransformerWeights take_transformer(std::map<std::string, at::Tensor>& m, const std::string& p,
                                    const GcpVqvaeConfig::Transformer& shape) {
  TransformerWeights w;
  w.shape = shape;
  auto get = [&](const std::string& k) { return m.at(p + k); };
  w.project_in = get("project_in.weight");
  w.project_out = get("project_out.weight");
  w.final_norm = get("attn_layers.final_norm.gamma") + 1;  // stored offset by -1 (norm_add_unit_offset)
  for (int64_t l = 0; l < shape.depth; ++l) {
    const std::string a = "attn_layers.layers." + std::to_string(2 * l) + ".";
    const std::string f = "attn_layers.layers." + std::to_string(2 * l + 1) + ".";
    TransformerWeights::Layer L;
    L.attn_norm = get(a + "0.0.gamma") + 1;
    L.qkv = at::cat({get(a + "1.to_q.weight"), get(a + "1.to_k.weight"), get(a + "1.to_v.weight")}, 0);
    L.out = get(a + "1.to_out.weight").contiguous();
    L.ff_norm = get(f + "0.0.gamma") + 1;
    L.ff_in = get(f + "1.ff.0.proj.weight").contiguous();
    L.ff_in_b = get(f + "1.ff.0.proj.bias");
    L.ff_out = get(f + "1.ff.2.weight").contiguous();
    // Drop the checkpoint's copies now so that the model is held once.
    for (const char* k : {"1.to_q.weight", "1.to_k.weight", "1.to_v.weight", "1.to_out.weight"}) m.erase(p + a + k);
    for (const char* k : {"1.ff.0.proj.weight", "1.ff.2.weight"}) m.erase(p + f + k);
    w.layers.push_back(L);
  }
  return w;
}

// `m` holds exactly the tensors of gcp_vqvae_tensor_shapes(config), already in the model dtype.
std::shared_ptr<GcpVqvae::Impl> build(const GcpVqvaeConfig& config, std::map<std::string, at::Tensor> m,
                                      ModelPrecision precision) {
  auto impl = std::make_shared<GcpVqvae::Impl>();
  impl->config = config;
  impl->precision = precision;
  impl->dtype = precision == ModelPrecision::float64 ? at::kDouble : at::kFloat;
  for (auto it = m.begin(); it != m.end(); ++it)
    if (it->first.rfind("encoder.", 0) == 0) impl->gcp.by_name.emplace(it->first, it->second);
  impl->tail_w = m.at("vqvae.encoder_tail.0.weight").squeeze(-1);
  impl->tail_b = m.at("vqvae.encoder_tail.0.bias");
  impl->head_w = m.at("vqvae.encoder_head.0.weight").squeeze(-1);
  impl->head_b = m.at("vqvae.encoder_head.0.bias");
  impl->encoder = take_transformer(m, "vqvae.encoder_blocks.", config.encoder);
  impl->decoder = take_transformer(m, "vqvae.decoder.decoder_stack.", config.decoder);
  impl->codebook = m.at("vqvae.vector_quantizer._codebook.embed")[0].contiguous();
  impl->codebook_sq = impl->codebook.pow(2).sum(-1);
  impl->projector_in = m.at("vqvae.decoder.projector_in.weight");
  const std::string h = "vqvae.decoder.affine_output_projection.";
  impl->ffn1_w = m.at(h + "ffn1.weight");
  impl->ffn1_b = m.at(h + "ffn1.bias");
  impl->norm_w = m.at(h + "norm.weight");
  impl->norm_b = m.at(h + "norm.bias");
  impl->proj_w = m.at(h + "proj.weight");
  impl->proj_b = m.at(h + "proj.bias");
  return impl;
}

// Broken weights give constant or NaN output with no error, so they are refused at load: every weight finite (one
// vectorised pass over the model, a few percent of the load; see tests/prot3d/gcp), and a codebook with at least two
// distinct codes (with one, every residue gets the same token).
void check_weights(const std::map<std::string, at::Tensor>& used, const std::string& path) {
  for (const auto& [name, t] : used) {
    if (t.numel() == 0) continue;
    // One read of the tensor and no temporary (min and max carry any NaN and show any infinity).
    const auto [lo, hi] = at::aminmax(t);
    if (std::isfinite(lo.item<double>()) && std::isfinite(hi.item<double>())) continue;
    const int64_t bad = (~at::isfinite(t)).sum().item<int64_t>();
    fail_input(path, name, std::to_string(bad) + " of " + std::to_string(t.numel()) +
                               " weights are NaN or infinite: the checkpoint is damaged");
  }
  const std::string cb = "vqvae.vector_quantizer._codebook.embed";
  const at::Tensor codes = used.at(cb)[0];
  if (codes.size(0) < 2 || (codes - codes[0]).abs().max().item<double>() == 0.0)
    fail_input(path, cb, "all " + std::to_string(codes.size(0)) +
                             " codes are identical: every residue would get the same token (an untrained or damaged "
                             "codebook)");
}

at::ScalarType dtype_of(ModelPrecision p) { return p == ModelPrecision::float64 ? at::kDouble : at::kFloat; }

}  // namespace

GcpVqvae GcpVqvae::load(const std::string& dir, ModelPrecision precision) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir))
    throw UnsupportedError(dir + ": not a GCP-VQVAE model directory (expected config_vqvae.yaml, "
                           "config_gcpnet_encoder.yaml, config_geometric_decoder.yaml and checkpoints/best_valid.pth)");
  GcpConfigKeys keys;
  const GcpVqvaeConfig config = read_gcp_vqvae_config(dir, &keys);
  const std::string path = (fs::path(dir) / "checkpoints" / "best_valid.pth").string();
  if (!fs::exists(path)) throw UnsupportedError(path + ": checkpoint not found");
  TorchCheckpoint ck(path);
  const PyValue* sd = ck.root().get("model_state_dict");
  if (!sd) sd = &ck.root();  // a bare state_dict
  if (!sd->is(PyValue::Kind::Dict)) fail_input(path, "model_state_dict", "not a dict of tensors");

  std::map<std::string, at::Tensor> found;
  for (auto& [key, t] : ck.tensors(*sd)) {
    const std::string k = canonical_name(key);
    if (!found.emplace(k, t).second) fail_input(path, key, "two tensors have the canonical name " + k);
  }
  if (auto it = found.find("vqvae.vector_quantizer._codebook.initted"); it != found.end())
    if (it->second.numel() != 1 || it->second.to(at::kDouble).item<double>() != 1.0)
      fail_input(path, it->first, "codebook not initialised (initted != 1): the model was never trained");

  // The config's sizes against the checkpoint before the network's tensor list is built from them: a config that
  // claims a billion layers is refused here, not allocated.
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& [name, t] : found) shapes.emplace(name, t.sizes().vec());
  check_config_against_checkpoint(config, keys, shapes, path);

  std::map<std::string, at::Tensor> used;
  const auto dt = dtype_of(precision);
  for (const auto& [name, shape] : gcp_vqvae_tensor_shapes(config)) {
    auto it = found.find(name);
    if (it == found.end())
      fail_input(path, name, "tensor missing (expected " + shape_str(shape) + " from the configs in " + dir + ")");
    if (it->second.sizes().vec() != shape)
      fail_input(path, name, "shape " + shape_str(it->second.sizes()) + " does not match the configs (" +
                                 shape_str(shape) + ")");
    if (!it->second.is_floating_point()) fail_input(path, name, "not a floating-point tensor");
    used.emplace(name, it->second.to(dt).contiguous());
    found.erase(it);
  }
  for (const auto& [name, t] : found)
    if (!ignorable(name)) fail_input(path, name, "tensor of shape " + shape_str(t.sizes()) + " is not used by the network the configs describe");
  check_weights(used, path);
  return GcpVqvae(build(config, std::move(used), precision));
}

GcpVqvae GcpVqvae::random(const GcpVqvaeConfig& config, uint64_t seed, ModelPrecision precision) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::map<std::string, at::Tensor> m;
  const auto dt = dtype_of(precision);
  auto opts = at::TensorOptions().dtype(at::kFloat);
  auto ends_with = [](const std::string& s, const std::string& e) {
    return s.size() >= e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0;
  };
  // Scales of the test vectors' tiny model: weights N(0,1)/sqrt(fan_in), biases 0.1 N, LayerNorm weights
  // 1 + 0.1 N, x-transformers gammas 0.1 N (stored offset by -1), codebook N(0,1).
  for (const auto& [name, shape] : gcp_vqvae_tensor_shapes(config)) {
    at::Tensor t = at::randn(shape, gen, opts);
    if (ends_with(name, ".gamma") || ends_with(name, ".bias")) {
      t = t * 0.1;
    } else if (ends_with(name, "norm.weight")) {
      t = 1 + 0.1 * t;
    } else if (name.find("_codebook") == std::string::npos && shape.size() >= 2) {
      int64_t fan_in = 1;
      for (size_t i = 1; i < shape.size(); ++i) fan_in *= shape[i];
      t = t / std::sqrt(double(fan_in));
    }
    m.emplace(name, t.to(dt).contiguous());
  }
  return GcpVqvae(build(config, std::move(m), precision));
}

GcpVqvae GcpVqvae::random(const std::string& arch, uint64_t seed, ModelPrecision precision) {
  if (arch == "large") return random(GcpVqvaeConfig::large(), seed, precision);
  if (arch == "lite") return random(GcpVqvaeConfig::lite(), seed, precision);
  throw UnsupportedError("unknown GCP-VQVAE architecture '" + arch + "' (large or lite)");
}

int64_t GcpVqvae::max_length() const { return impl_->config.max_length; }
int64_t GcpVqvae::codebook_size() const { return impl_->config.codebook_size; }
const GcpVqvaeConfig& GcpVqvae::config() const { return impl_->config; }
ModelPrecision GcpVqvae::precision() const { return impl_->precision; }

namespace {

struct Quantized {
  std::vector<int> token;
  std::vector<float> margin;
};

// Nearest code by Euclidean distance sqrt(max(|z|^2 + |c|^2 - 2 z.c, 1e-8)); the lowest index wins a tie.
Quantized quantize(const GcpVqvae::Impl& m, const at::Tensor& z) {
  auto d2 = z.pow(2).sum(-1, true) + m.codebook_sq.unsqueeze(0) - 2 * nn::linear(z, m.codebook);
  auto dist = d2.clamp_min(1e-8).sqrt().to(at::kDouble).contiguous();
  const int64_t n = dist.size(0), K = dist.size(1);
  const double* p = dist.data_ptr<double>();
  Quantized q;
  for (int64_t i = 0; i < n; ++i) {
    const double* r = p + i * K;
    int64_t best = 0;
    double d1 = r[0], d2nd = std::numeric_limits<double>::infinity();
    for (int64_t k = 1; k < K; ++k) {
      if (r[k] < d1) {
        d2nd = d1;
        d1 = r[k];
        best = k;
      } else if (r[k] < d2nd) {
        d2nd = r[k];
      }
    }
    q.token.push_back(static_cast<int>(best));
    q.margin.push_back(static_cast<float>(d2nd - d1));
  }
  return q;
}

std::string chain_name(const BackboneChain& c) {
  std::string s = c.id;
  if (!c.chain.empty()) s += (s.empty() ? "chain " : " chain ") + c.chain;
  return s.empty() ? "chain" : s;
}

}  // namespace

Encoding GcpVqvae::encode(const BackboneChain& chain, const EncodeOptions& options) const {
  return encode(chain, options, nullptr);
}

Encoding testing::encode_traced(const GcpVqvae& model, const BackboneChain& chain, const EncodeOptions& options,
                                EncodeTrace& trace) {
  return model.encode(chain, options, &trace);
}

Encoding GcpVqvae::encode(const BackboneChain& chain, const EncodeOptions& options, testing::EncodeTrace* trace) const {
  const Impl& m = *impl_;
  const int64_t L = static_cast<int64_t>(chain.coords.size());
  const std::string what = chain_name(chain);
  const auto bad_input = [&](const std::string& problem) {
    return EncodeError(EncodeProblem::bad_input, what + ": " + problem);
  };
  if (static_cast<int64_t>(chain.residues.size()) != L)
    throw bad_input(std::to_string(chain.residues.size()) + " residues but " + std::to_string(L) + " coordinate rows");
  if (L == 0) throw bad_input("no residues to encode");
  std::vector<Vec3> observed_atoms;
  for (int64_t i = 0; i < L; ++i) {
    for (const auto& atom : chain.coords[i])
      if (!plausible_coordinate(atom))
        throw bad_input("residue " + to_string(chain.residues[i].id) + " has a coordinate that is not finite or " +
                        "beyond ±100000 Å" + (std::isfinite(atom[0] + atom[1] + atom[2]) ? "" : " (impute first)"));
    if (chain.residues[i].observed) observed_atoms.insert(observed_atoms.end(), chain.coords[i].begin(), chain.coords[i].end());
  }
  if (std::string problem = collapsed_points_problem(observed_atoms); !problem.empty()) throw bad_input(problem);
  const int64_t W = m.config.max_length;
  if (L > W && !options.window && !options.truncate)
    throw EncodeError(EncodeProblem::too_long,
                      what + ": " + std::to_string(L) + " residues, more than the model maximum of " + std::to_string(W) +
                          ", which the original silently truncates");
  if (options.window && (options.window_overlap < 0 || options.window_overlap >= W))
    throw UnsupportedError("window overlap must be in [0, " + std::to_string(W) + ")");

  at::NoGradGuard no_grad;
  GcpFeatures f = gcp_features(chain, m.config.knn, m.dtype);
  at::Tensor node = gcpnet_forward(m.gcp, m.config, f);
  auto valid = at::empty({L}, at::TensorOptions().dtype(at::kBool));
  for (int64_t i = 0; i < L; ++i) valid.data_ptr<bool>()[i] = chain.residues[i].observed;
  if (trace) {
    trace->h = f.h;
    trace->chi = f.chi;
    trace->edge_index = f.edge_index;
    trace->edge_e = f.edge_e;
    trace->edge_xi = f.edge_xi;
    trace->node_embedding = node;
  }

  // Windows: [start, start + W); consecutive starts `W - overlap` apart, the last one flush with the end.
  std::vector<int64_t> starts{0};
  if (L > W && options.window) {
    const int64_t stride = W - options.window_overlap;
    while (starts.back() + W < L) starts.push_back(std::min(starts.back() + stride, L - W));
  }
  const int64_t span = std::min(L, W);
  std::vector<int> token(L, -1);
  std::vector<float> margin(L, 0.f);
  std::vector<int64_t> owner(L, -1);  // window whose centre is nearest (most context on both sides)
  for (int64_t i = 0; i < L; ++i) {
    int64_t best = -1, best_depth = -1;
    for (size_t w = 0; w < starts.size(); ++w) {
      const int64_t s = starts[w];
      if (i < s || i >= s + span) continue;
      const int64_t depth = std::min(i - s, s + span - 1 - i);
      if (depth > best_depth) best = static_cast<int64_t>(w), best_depth = depth;
    }
    owner[i] = best;
  }
  for (size_t w = 0; w < starts.size(); ++w) {
    const int64_t s = starts[w];
    auto x = nn::linear(node.narrow(0, s, span), m.tail_w, m.tail_b);
    auto vmask = valid.narrow(0, s, span);
    x = transformer_forward(m.encoder, x, vmask);
    auto z = nn::linear(x, m.head_w, m.head_b);
    if (trace && w == 0) {
      trace->encoder_out = x;
      trace->quantizer_input = z;
    }
    Quantized q = quantize(m, z);
    for (int64_t j = 0; j < span; ++j)
      if (owner[s + j] == static_cast<int64_t>(w)) {
        token[s + j] = q.token[j];
        margin[s + j] = q.margin[j];
      }
  }
  Encoding out;
  out.windows = static_cast<int>(starts.size());
  out.truncated = L > W && !options.window;
  for (int64_t i = 0; i < L; ++i)
    if (chain.residues[i].observed && token[i] >= 0) {
      out.tokens.push_back(token[i]);
      out.positions.push_back(static_cast<int>(i));
      out.margins.push_back(margin[i]);
    }
  return out;
}

Decoding GcpVqvae::decode(const std::vector<int>& tokens, DecodeArithmetic arithmetic) const {
  const Impl& m = *impl_;
  const QuantizedTransformer* quantized = nullptr;
  if (arithmetic == DecodeArithmetic::int16) {
    if (m.precision != ModelPrecision::float32)
      throw std::invalid_argument("int16 decoding needs a float32 model");
    std::call_once(m.decoder_int16_once,
                   [&] { m.decoder_int16 = std::make_unique<const QuantizedTransformer>(m.decoder); });
    quantized = m.decoder_int16.get();
  }
  const int64_t n = static_cast<int64_t>(tokens.size());
  Decoding decoded;
  std::vector<std::array<Vec3, 3>>& out = decoded.n_ca_c;
  if (n == 0) return decoded;
  if (n > m.config.max_length)
    throw InputError(std::to_string(n) + " structure tokens, more than the model maximum of " +
                     std::to_string(m.config.max_length));
  auto idx = at::empty({n}, at::TensorOptions().dtype(at::kLong));
  for (int64_t i = 0; i < n; ++i) {
    if (tokens[i] < 0 || tokens[i] >= m.config.codebook_size)
      throw InputError("structure token " + std::to_string(tokens[i]) + " at position " + std::to_string(i) +
                       " is outside the codebook (0.." + std::to_string(m.config.codebook_size - 1) + ")");
    idx.data_ptr<int64_t>()[i] = tokens[i];
  }
  at::NoGradGuard no_grad;
  auto x = nn::linear(m.codebook.index_select(0, idx), m.projector_in);
  x = transformer_forward(m.decoder, x, {}, quantized);
  auto y = nn::layer_norm(at::gelu(nn::linear(x, m.ffn1_w, m.ffn1_b)), m.norm_w, m.norm_b, 1e-5);
  auto o = nn::linear(y, m.proj_w, m.proj_b).to(at::kDouble).contiguous();
  const double* p = o.data_ptr<double>();
  // Local backbone frame: N, CA, C.
  static const double local[3][3] = {{0.5256, 1.3612, 0.0}, {0.0, 0.0, 0.0}, {-1.5251, 0.0, 0.0}};
  out.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    const double* r = p + i * 9;
    double t[3], u[3], w[3];
    const double nu = std::sqrt(r[3] * r[3] + r[4] * r[4] + r[5] * r[5]) + 1e-5;
    const double nw = std::sqrt(r[6] * r[6] + r[7] * r[7] + r[8] * r[8]) + 1e-5;
    for (int a = 0; a < 3; ++a) {
      t[a] = r[a] * m.config.pos_scale_factor;
      u[a] = r[3 + a] / nu;
      w[a] = r[6 + a] / nw;
    }
    // Gram-Schmidt as upstream: X = t - (u + t), Y = (w + t) - t, eps 1e-10.
    double e0[3], e1[3], e2[3], Y[3];
    for (int a = 0; a < 3; ++a) {
      e0[a] = t[a] - (u[a] + t[a]);
      Y[a] = (w[a] + t[a]) - t[a];
    }
    const double n0 = std::sqrt(e0[0] * e0[0] + e0[1] * e0[1] + e0[2] * e0[2] + 1e-10);
    for (double& v : e0) v /= n0;
    const double d = e0[0] * Y[0] + e0[1] * Y[1] + e0[2] * Y[2];
    for (int a = 0; a < 3; ++a) e1[a] = Y[a] - e0[a] * d;
    const double n1 = std::sqrt(e1[0] * e1[0] + e1[1] * e1[1] + e1[2] * e1[2] + 1e-10);
    for (double& v : e1) v /= n1;
    e2[0] = e0[1] * e1[2] - e0[2] * e1[1];
    e2[1] = e0[2] * e1[0] - e0[0] * e1[2];
    e2[2] = e0[0] * e1[1] - e0[1] * e1[0];
    for (int atom = 0; atom < 3; ++atom)
      for (int a = 0; a < 3; ++a)
        out[i][atom][a] = (e0[a] * local[atom][0] + e1[a] * local[atom][1] + e2[a] * local[atom][2] + t[a]) *
                          m.config.output_scale;
  }
  return decoded;
}

}  // namespace bmx::prot3d

#include "vq_network.h"

#include <ATen/ATen.h>

#include <cmath>
#include <map>

#include "bmx/core/util/error.h"
#include "bmx/core/io/torch_checkpoint.h"

namespace bmx::mol3d {

namespace {

constexpr float kPi = 3.14159265358979323846f;
constexpr double kBatchNormEps = 1e-5;

struct Weights {
  const std::string& path;
  std::map<std::string, at::Tensor> tensors;

  // A float32 tensor with the given shape ({n} or {out, in}).
  const float* get(const std::string& key, std::vector<int64_t> shape) {
    auto it = tensors.find(key);
    if (it == tensors.end()) fail_input(path, "missing tensor '" + key + "' (not a MolStrucTok VQ-VAE checkpoint?)");
    at::Tensor& t = it->second;
    if (t.sizes().vec() != shape)
      fail_input(path, "tensor '" + key + "' has shape " + std::string(c10::str(t.sizes())) + ", expected " +
                           std::string(c10::str(at::IntArrayRef(shape))));
    if (t.scalar_type() != at::kFloat || !t.is_contiguous()) t = t.to(at::kFloat).contiguous();
    // A NaN or inf weight would make every code, or every decoded atom, silently the same.
    const float* v = t.data_ptr<float>();
    for (int64_t k = 0, n = t.numel(); k < n; ++k)
      if (!std::isfinite(v[k]))
        fail_input(path, "tensor '" + key + "' holds a non-finite value (" + std::to_string(v[k]) + " at element " +
                             std::to_string(k) + "); the checkpoint is damaged");
    return v;
  }

  // Linear `prefix.<lin>` followed by BatchNorm `prefix.<bn>` (bn < 0: none).
  DenseF32 layer(const std::string& prefix, int lin, int bn, int out, int in) {
    std::string l = prefix + std::to_string(lin);
    DenseF32 d = DenseF32::from_linear(get(l + ".weight", {out, in}), get(l + ".bias", {out}), out, in);
    if (bn >= 0) {
      std::string b = prefix + std::to_string(bn);
      d.fold_batch_norm(get(b + ".weight", {out}), get(b + ".bias", {out}), get(b + ".running_mean", {out}),
                        get(b + ".running_var", {out}), kBatchNormEps);
    }
    return d;
  }
};

// Linear-BN-ReLU, Linear-BN-ReLU, Linear (the encoder), BatchNorm folded into the linears.
struct Mlp3 {
  DenseF32 l[3];
  Mlp3(Weights& w, const std::string& prefix, int in, int hidden, int out)
      : l{w.layer(prefix, 0, 1, hidden, in), w.layer(prefix, 3, 4, hidden, hidden), w.layer(prefix, 6, -1, out, hidden)} {}
};

}  // namespace
VqNetwork::VqNetwork(const std::string& path) {
  Weights w{path, load_state_dict(path)};
  const int hidden = 64, latent = 64;
  auto emb = w.tensors.find("quantizer.embedding.weight");
  if (emb == w.tensors.end() || emb->second.dim() != 2)
    fail_input(path, "missing tensor 'quantizer.embedding.weight' (not a MolStrucTok VQ-VAE checkpoint?)");
  // One code per atom needs a choice between codes: an empty or one-row codebook gives every atom code 0.
  if (emb->second.size(0) < 2 || emb->second.size(0) > (int64_t(1) << 20))
    fail_input(path, "tensor 'quantizer.embedding.weight' has " + std::to_string(emb->second.size(0)) +
                         " rows; a MolStrucTok codebook needs 2 to 1048576 codes (the released one has 512)");
  const int size = int(emb->second.size(0));
  const float* codebook = w.get("quantizer.embedding.weight", {size, latent});

  Mlp3 encoder(w, "encoder.", 4, hidden, latent);
  for (int k = 0; k < 3; ++k) encoder_[k] = encoder.l[k];
  quantizer_ = NearestF32(codebook, size, latent);

  // The decoder runs once per code, here, so it is evaluated with ATen exactly as PyTorch does (BatchNorm not
  // folded): decoded coordinates accumulate its rounding along chains, and these values track the
  // reference's best (public vectors: 2e-5 Å worst, against 5e-5 Å with folded float loops).
  const at::Tensor q = w.tensors.at("quantizer.embedding.weight");
  auto branch = [&](const std::string& name, int64_t out) {
    const std::string p = "multi_head_decoder." + name + ".";
    auto t = [&](int layer, const char* what, std::vector<int64_t> shape) {
      w.get(p + std::to_string(layer) + "." + what, shape);  // checks presence and shape
      return w.tensors.at(p + std::to_string(layer) + "." + what);
    };
    auto bn = [&](const at::Tensor& h, int layer) {
      return at::batch_norm(h, t(layer, "weight", {hidden}), t(layer, "bias", {hidden}),
                            t(layer, "running_mean", {hidden}), t(layer, "running_var", {hidden}), false, 0.1,
                            kBatchNormEps, false);
    };
    at::Tensor h = at::linear(q, t(0, "weight", {hidden, latent}), t(0, "bias", {hidden}));
    h = at::relu(bn(h, 1));
    h = at::linear(h, t(3, "weight", {hidden, hidden}), t(3, "bias", {hidden}));
    h = at::relu(bn(h, 4));
    h = at::linear(h, t(6, "weight", {out, hidden}), t(6, "bias", {out})).contiguous();
    return std::vector<float>(h.data_ptr<float>(), h.data_ptr<float>() + h.numel());
  };
  std::vector<float> len = branch("gen_len_branch", 1), ang = branch("gen_ang_branch", 1),
                     tor = branch("gen_tor_branch", 1), sgn = branch("sign_branch", 3);
  decoded_.resize(size);
  for (int k = 0; k < size; ++k) {
    const float* s = &sgn[3 * k];
    int arg = 0;
    for (int j = 1; j < 3; ++j)
      if (s[j] > s[arg]) arg = j;
    // Computed in float32 as the reference's network does; widening to double is exact.
    const float distance = std::exp(len[k]) - 1.f, polar_angle = ang[k] * kPi, azimuth = tor[k] * kPi;
    if (!std::isfinite(distance) || !std::isfinite(polar_angle) || !std::isfinite(azimuth))
      fail_input(path, "code " + std::to_string(k) + " decodes to non-finite internal coordinates "
                       "(multi_head_decoder weights or BatchNorm statistics out of range)");
    decoded_[k] = {distance, polar_angle, azimuth, double(arg - 1)};
  }
}

std::vector<CodeChoice> VqNetwork::encode(const std::vector<AtomDescriptor>& desc) const {
  const std::size_t n = desc.size();
  // Scratch reused across calls (per thread): see NearestF32::search.
  struct Scratch {
    std::vector<float> x, h1, h2, z, bd, sd;
    std::vector<int> best, second;
  };
  thread_local Scratch scratch;
  std::vector<float>&x = scratch.x, &h1 = scratch.h1, &h2 = scratch.h2, &z = scratch.z, &bd = scratch.bd,
                    &sd = scratch.sd;
  std::vector<int>&best = scratch.best, &second = scratch.second;
  x.resize(n * 4);
  for (std::size_t i = 0; i < n; ++i) {
    // Normalised in float32 as the reference does (spec §4).
    x[4 * i + 0] = std::log(float(desc[i].distance) + 1.f);
    x[4 * i + 1] = float(desc[i].polar_angle) / kPi;
    x[4 * i + 2] = float(desc[i].azimuth) / kPi;
    x[4 * i + 3] = float(desc[i].azimuth_sign);
  }
  h1.resize(n * encoder_[0].out);
  h2.resize(n * encoder_[1].out);
  z.resize(n * encoder_[2].out);
  encoder_[0].forward(x.data(), n, h1.data(), true);
  encoder_[1].forward(h1.data(), n, h2.data(), true);
  encoder_[2].forward(h2.data(), n, z.data(), false);
  best.resize(n);
  second.resize(n);
  bd.resize(n);
  sd.resize(n);
  quantizer_.search(z.data(), n, best.data(), bd.data(), second.data(), sd.data());
  std::vector<CodeChoice> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = {best[i], second[i], bd[i], sd[i]};
  return out;
}

}  // namespace bmx::mol3d

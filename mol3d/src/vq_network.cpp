#include "vq_network.h"

#include <cmath>
#include <map>

#include "bmx/core/io/checkpoint_archive.h"
#include "bmx/core/util/error.h"
#include "code_decoder.h"

namespace bmx::mol3d {

namespace {

constexpr float kPi = 3.14159265358979323846f;
constexpr double kBatchNormEps = 1e-5;

// The checkpoint's tensors, read (as float32) when first asked for: no libtorch, so that `bmx mol` starts fast.
struct Weights {
  const std::string& path;
  CheckpointArchive archive;
  std::map<std::string, const TensorRef*> refs;
  std::map<std::string, FloatTensor> read;

  explicit Weights(const std::string& p) : path(p), archive(p) {
    for (auto& [key, ref] : archive.tensor_refs(archive.root())) refs.emplace(key, ref);
  }

  static std::string shape_text(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (std::size_t k = 0; k < shape.size(); ++k) s += (k ? ", " : "") + std::to_string(shape[k]);
    return s + "]";
  }

  bool has(const std::string& key) const { return refs.count(key) != 0; }
  const std::vector<int64_t>& sizes(const std::string& key) const { return refs.at(key)->sizes; }

  // A float32 tensor with the given shape ({n} or {out, in}).
  const float* get(const std::string& key, std::vector<int64_t> shape) {
    auto it = refs.find(key);
    if (it == refs.end()) fail_input(path, "missing tensor '" + key + "' (not a MolStrucTok VQ-VAE checkpoint?)");
    if (it->second->sizes != shape)
      fail_input(path, "tensor '" + key + "' has shape " + shape_text(it->second->sizes) + ", expected " +
                           shape_text(shape));
    auto done = read.find(key);
    if (done == read.end()) {
      FloatTensor t = archive.float_tensor(*it->second, key);
      // A NaN or inf weight would make every code, or every decoded atom, silently the same.
      for (std::size_t k = 0; k < t.values.size(); ++k)
        if (!std::isfinite(t.values[k]))
          fail_input(path, "tensor '" + key + "' holds a non-finite value (" + std::to_string(t.values[k]) +
                               " at element " + std::to_string(k) + "); the checkpoint is damaged");
      done = read.emplace(key, std::move(t)).first;
    }
    return done->second.values.data();
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
  Weights w{path};
  const int hidden = 64, latent = 64;
  if (!w.has("quantizer.embedding.weight") || w.sizes("quantizer.embedding.weight").size() != 2)
    fail_input(path, "missing tensor 'quantizer.embedding.weight' (not a MolStrucTok VQ-VAE checkpoint?)");
  // One code per atom needs a choice between codes: an empty or one-row codebook gives every atom code 0.
  const int64_t rows = w.sizes("quantizer.embedding.weight")[0];
  if (rows < 2 || rows > (int64_t(1) << 20))
    fail_input(path, "tensor 'quantizer.embedding.weight' has " + std::to_string(rows) +
                         " rows; a MolStrucTok codebook needs 2 to 1048576 codes (the released one has 512)");
  const int size = int(rows);
  const float* codebook = w.get("quantizer.embedding.weight", {size, latent});

  Mlp3 encoder(w, "encoder.", 4, hidden, latent);
  for (int k = 0; k < 3; ++k) encoder_[k] = encoder.l[k];
  quantizer_ = NearestF32(codebook, size, latent);

  // The decoder runs once per code, here (BatchNorm not folded, sums in double: code_decoder.h): decoded
  // coordinates accumulate its rounding along chains, and these values track the reference's best (public
  // vectors: 1.7e-5 Å worst, against 2.2e-5 Å with ATen's float32 and 5e-5 Å with folded float loops).
  const std::vector<float> q(codebook, codebook + std::size_t(size) * latent);
  auto branch = [&](const std::string& name, int out) {
    const std::string p = "multi_head_decoder." + name + ".";
    auto t = [&](int layer, const char* what, int n) { return w.get(p + std::to_string(layer) + "." + what, {n}); };
    auto lin = [&](int layer, int o, int i) {
      return LinearF32{i, o, w.get(p + std::to_string(layer) + ".weight", {o, i}), t(layer, "bias", o)};
    };
    auto bn = [&](int layer) {
      return BatchNormF32{t(layer, "weight", hidden), t(layer, "bias", hidden), t(layer, "running_mean", hidden),
                          t(layer, "running_var", hidden), float(kBatchNormEps)};
    };
    const LinearF32 linear[3] = {lin(0, hidden, latent), lin(3, hidden, hidden), lin(6, out, hidden)};
    const BatchNormF32 norm[2] = {bn(1), bn(4)};
    return decoder_mlp(q, size, linear, norm);
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

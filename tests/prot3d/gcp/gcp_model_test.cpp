// GCP-VQVAE model directory: released key tables, strict loading, refused configs, long chains.
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "bmx/core/util/error.h"
#include "bmx/core/io/torch_checkpoint.h"
#include "bmx/prot3d/gcp_vqvae.h"
#include "bmx/prot3d/testing.h"
#include "gcp_test_util.h"
#include "shared.h"

using namespace bmx;
using namespace bmx::prot3d;
namespace fs = std::filesystem;

namespace {

// name -> shape of a keys_*.tsv table, GCPNet prefix folded to "encoder.".
std::map<std::string, std::vector<int64_t>> key_table(const std::string& file) {
  std::map<std::string, std::vector<int64_t>> out;
  auto lines = test::read_lines(test::shared_file("vectors/gcp/" + file));
  for (size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    std::stringstream ss(lines[i]);
    std::string name, shape;
    std::getline(ss, name, '\t');
    std::getline(ss, shape, '\t');
    if (name.rfind("encoder.encoder.", 0) == 0) name.erase(0, 8);
    std::vector<int64_t> dims;
    std::stringstream ds(shape);
    for (std::string d; std::getline(ds, d, 'x');) dims.push_back(std::stoll(d));
    out[name] = dims;
  }
  return out;
}

void check_table(const GcpVqvaeConfig& config, const std::string& file, int64_t expected_elements) {
  auto table = key_table(file);
  int64_t total = 0;
  for (auto& [n, s] : table) {
    int64_t e = 1;
    for (auto d : s) e *= d;
    total += e;
  }
  CHECK(total == expected_elements);
  std::set<std::string> extra;
  for (auto& [n, s] : table) extra.insert(n);
  for (const auto& [name, shape] : gcp_vqvae_tensor_shapes(config)) {
    auto it = table.find(name);
    REQUIRE_MESSAGE(it != table.end(), file << " lacks " << name);
    CHECK_MESSAGE(it->second == shape, name);
    extra.erase(name);
  }
  // What the released checkpoints carry beyond the network: buffers and training-only heads.
  const std::set<std::string> unused{"encoder.featuriser.positional_encoding.frequency",
                                     "vqvae.encoder_blocks.attn_layers.rotary_pos_emb.inv_freq",
                                     "vqvae.decoder.decoder_stack.attn_layers.rotary_pos_emb.inv_freq",
                                     "vqvae.ntp_projector_head.weight",
                                     "vqvae.ntp_projector_head.bias",
                                     "vqvae.vector_quantizer._codebook.initted",
                                     "vqvae.vector_quantizer._codebook.cluster_size",
                                     "vqvae.vector_quantizer._codebook.embed_avg"};
  CHECK(extra == unused);
}

// A copy of the tiny model directory (checkpoint linked) with one config file edited.
fs::path edited_model(const std::string& name, const std::string& file, const std::string& from, const std::string& to) {
  auto src = test::shared_file("vectors/gcp/tiny_model");
  auto dir = test::scratch_dir("gcp_" + name);
  for (const char* f : {"config_vqvae.yaml", "config_gcpnet_encoder.yaml", "config_geometric_decoder.yaml"})
    fs::copy_file(src / f, dir / f);
  fs::create_directory_symlink(src / "checkpoints", dir / "checkpoints");
  std::string text = test::read_file(dir / file);
  auto pos = text.find(from);
  REQUIRE_MESSAGE(pos != std::string::npos, from);
  text.replace(pos, from.size(), to);
  fs::remove(dir / file);
  std::ofstream(dir / file) << text;
  return dir;
}

template <class E>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("the tensor table derived from the configs is the released Large and Lite checkpoint layout") {
  check_table(GcpVqvaeConfig::large(), "keys_large.tsv", 287430029);
  check_table(GcpVqvaeConfig::lite(), "keys_lite.tsv", 148391309);
}

TEST_CASE("configs bmx cannot run are refused with a clear message") {
  auto tt = edited_model("tiktok", "config_vqvae.yaml", "tik_tok:\n        enabled: false", "tik_tok:\n        enabled: true");
  auto msg = error_of<UnsupportedError>([&] { GcpVqvae::load(tt.string()); });
  CHECK(msg.find("tik_tok") != std::string::npos);
  CHECK(msg.find("one structure token per residue") != std::string::npos);

  auto nd = edited_model("ndlinear", "config_vqvae.yaml", "use_ndlinear: false", "use_ndlinear: true");
  msg = error_of<UnsupportedError>([&] { GcpVqvae::load(nd.string()); });
  CHECK(msg.find("use_ndlinear") != std::string::npos);

  msg = error_of<UnsupportedError>([&] { GcpVqvae::load((test::scratch_dir("gcp_empty")).string()); });
  CHECK(msg.find("config_vqvae.yaml") != std::string::npos);
}

TEST_CASE("loading is strict: every expected tensor present with its shape, every tensor used") {
  // One decoder layer more or fewer than the checkpoint has: the config's key and the checkpoint's count.
  auto deeper = edited_model("deeper", "config_geometric_decoder.yaml", "depth: 2", "depth: 3");
  auto msg = error_of<InputError>([&] { GcpVqvae::load(deeper.string()); });
  CHECK(msg.find("config_geometric_decoder.yaml:depth: 3, but the checkpoint") != std::string::npos);
  CHECK(msg.find("has 2 decoder transformer blocks") != std::string::npos);
  auto shallower = edited_model("shallower", "config_geometric_decoder.yaml", "depth: 2", "depth: 1");
  msg = error_of<InputError>([&] { GcpVqvae::load(shallower.string()); });
  CHECK(msg.find("depth: 1, but the checkpoint") != std::string::npos);
  // A width that disagrees with the tensors.
  auto wider = edited_model("wider", "config_gcpnet_encoder.yaml", "chi_hidden_dim: 8", "chi_hidden_dim: 16");
  msg = error_of<InputError>([&] { GcpVqvae::load(wider.string()); });
  CHECK(msg.find("chi_hidden_dim: 16, but the checkpoint") != std::string::npos);
  CHECK(msg.find("has 8 rows of encoder.gcp_embedding.node_embedding.vector_up.weight") != std::string::npos);
  // A tensor whose shape disagrees where no config size names it: the strict check names the tensor.
  auto heads = edited_model("heads", "config_geometric_decoder.yaml", "heads: 4", "heads: 2");
  msg = error_of<InputError>([&] { GcpVqvae::load(heads.string()); });
  CHECK(msg.find("vqvae.decoder.decoder_stack.attn_layers.layers.0.1.to_q.weight: shape 256x64 does not match") !=
        std::string::npos);
}

TEST_CASE("chains longer than the model maximum are refused, or encoded in overlapping windows on request") {
  auto short_model = edited_model("max100", "config_vqvae.yaml", "max_length: 512", "max_length: 100");
  auto model = GcpVqvae::load(short_model.string());
  REQUIRE(model.max_length() == 100);
  const auto v = gcptest::vector_json("1igy_B");  // L = 477, 434 observed
  const BackboneChain chain = gcptest::chain_from_vector(v);
  auto msg = error_of<InputError>([&] { model.encode(chain); });
  CHECK(msg.find("477 residues") != std::string::npos);
  CHECK(msg.find("100") != std::string::npos);

  EncodeOptions opt;
  opt.window = true;
  opt.window_overlap = 40;
  testing::EncodeTrace trace;
  Encoding enc = testing::encode_traced(model, chain, opt, trace);
  CHECK(enc.windows == 8);  // starts 0, 60, ..., 360, 377
  CHECK(enc.tokens.size() == 434);
  CHECK(enc.positions == v["token_positions"].get<std::vector<int>>());
  for (int t : enc.tokens) CHECK((t >= 0 && t < 512));
  // Residues up to 79 lie deeper in the first window [0, 100) than in the second [60, 160): their tokens are
  // those of the first window, whose quantizer input the trace holds.
  REQUIRE(trace.quantizer_input.size(0) == 100);
  auto z = trace.quantizer_input.to(at::kDouble);
  at::Tensor codebook;
  TorchCheckpoint ck((short_model / "checkpoints" / "best_valid.pth").string());
  for (auto& [name, t] : ck.tensors(*ck.root().get("model_state_dict")))
    if (name == "vqvae.vector_quantizer._codebook.embed") codebook = t[0].to(at::kDouble);
  REQUIRE(codebook.defined());
  size_t checked = 0;
  for (size_t k = 0; k < enc.positions.size() && enc.positions[k] < 80; ++k, ++checked)
    CHECK(enc.tokens[k] == (codebook - z[enc.positions[k]]).pow(2).sum(-1).argmin().item<int64_t>());
  CHECK(checked > 70);
  CHECK_FALSE(enc.truncated);

  // The original's truncation on request: tokens for the observed residues among the first 100 only, the same
  // as the first window's.
  EncodeOptions cut;
  cut.truncate = true;
  Encoding head = model.encode(chain, cut);
  CHECK(head.truncated);
  CHECK(head.windows == 1);
  REQUIRE(!head.positions.empty());
  CHECK(head.positions.back() < 100);
  size_t observed = 0;
  for (int i = 0; i < 100; ++i) observed += chain.residues[i].observed;
  CHECK(head.tokens.size() == observed);
  for (size_t k = 0; k < head.positions.size() && head.positions[k] < 80; ++k) CHECK(head.tokens[k] == enc.tokens[k]);

  // With a maximum above the length, windowed and plain encodes agree.
  auto full = GcpVqvae::load(test::shared_file("vectors/gcp/tiny_model").string());
  Encoding plain = full.encode(chain);
  Encoding windowed = full.encode(chain, opt);
  CHECK(windowed.windows == 1);
  CHECK(windowed.tokens == plain.tokens);
  CHECK(plain.tokens == v["tokens"].get<std::vector<int>>());
}

TEST_CASE("random weights of the released shapes run end to end") {
  GcpVqvaeConfig small = GcpVqvaeConfig::lite();
  small.encoder.dim = small.decoder.dim = 64;
  small.encoder.depth = small.decoder.depth = 1;
  auto a = GcpVqvae::random(small, 7), b = GcpVqvae::random(small, 7), c = GcpVqvae::random(small, 8);
  const BackboneChain chain = gcptest::chain_from_vector(gcptest::vector_json("1aki_A"));
  auto ta = a.encode(chain).tokens;
  CHECK(ta.size() == 129);
  CHECK(ta == b.encode(chain).tokens);  // seeded
  CHECK(ta != c.encode(chain).tokens);
  auto xyz = a.decode(ta).n_ca_c;
  REQUIRE(xyz.size() == 129);
  for (const auto& r : xyz) {
    // N-CA and CA-C bond lengths of the ideal local frame are preserved by the rotation.
    auto dist = [](const std::array<double, 3>& p, const std::array<double, 3>& q) {
      return std::sqrt((p[0] - q[0]) * (p[0] - q[0]) + (p[1] - q[1]) * (p[1] - q[1]) + (p[2] - q[2]) * (p[2] - q[2]));
    };
    CHECK(dist(r[0], r[1]) == doctest::Approx(std::hypot(0.5256, 1.3612)).epsilon(1e-6));
    CHECK(dist(r[1], r[2]) == doctest::Approx(1.5251).epsilon(1e-6));
  }
  CHECK_THROWS_AS(GcpVqvae::random("huge", 1), UnsupportedError);
  CHECK_THROWS_AS(a.decode({0, 4096}), InputError);
}

TEST_CASE("tiny chains and chains without observed residues encode without failing") {
  auto model = GcpVqvae::load(test::shared_file("vectors/gcp/tiny_model").string());
  const BackboneChain full = gcptest::chain_from_vector(gcptest::vector_json("1aki_A"));
  for (size_t L : {1, 2, 3, 5, 17}) {
    BackboneChain c = full;
    c.residues.resize(L);
    c.coords.resize(L);
    testing::EncodeTrace trace;
    Encoding e = testing::encode_traced(model, c, EncodeOptions{}, trace);
    CHECK(e.tokens.size() == L);
    CHECK(trace.edge_index.size(1) == static_cast<int64_t>(L * std::min<size_t>(16, L - 1)));
    for (int t : e.tokens) CHECK((t >= 0 && t < 512));
    CHECK(model.decode(e.tokens).n_ca_c.size() == L);
  }
  BackboneChain none = full;
  for (auto& r : none.residues) r.observed = false;
  Encoding e = model.encode(none);
  CHECK(e.tokens.empty());
  CHECK(e.positions.empty());
  // Malformed input: messages name the chain.
  BackboneChain bad = full;
  bad.coords[3][1][0] = NAN;
  auto msg = error_of<InputError>([&] { model.encode(bad); });
  CHECK(msg.find("1aki.pdb chain A") != std::string::npos);
  CHECK(msg.find("residue 4 ") != std::string::npos);  // the residue's number (index 3)
  bad = full;
  bad.residues.pop_back();
  CHECK_THROWS_AS(model.encode(bad), InputError);
  CHECK_THROWS_AS(model.encode(BackboneChain{}), InputError);
  CHECK(model.decode({}).n_ca_c.empty());
  CHECK_THROWS_AS(model.decode(std::vector<int>(513, 0)), InputError);
  CHECK_THROWS_AS(model.decode({-1}), InputError);
}

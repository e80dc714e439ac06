// GCP-VQVAE against the reference vectors (tiny random-weight model with the released code path).
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "bmx/core/nn/kernels.h"
#include "bmx/core/nn/quantized_matmul.h"
#include "bmx/core/nn/testing.h"
#include "bmx/prot3d/gcp_vqvae.h"
#include "bmx/prot3d/testing.h"
#include "gcp_test_util.h"
#include "shared.h"

using namespace bmx;
using namespace bmx::prot3d;
using nlohmann::json;

namespace {

double max_abs_diff(const at::Tensor& got, const json& expected) {
  auto want = gcptest::flatten(expected);
  auto g = got.to(at::kDouble).contiguous();
  REQUIRE(static_cast<size_t>(g.numel()) == want.size());
  const double* p = g.data_ptr<double>();
  double m = 0;
  for (size_t i = 0; i < want.size(); ++i) m = std::max(m, std::abs(p[i] - want[i]));
  return m;
}

void check_chain(const GcpVqvae& model, const std::string& name, bool float64) {
  const json v = gcptest::vector_json(name);
  const BackboneChain chain = gcptest::chain_from_vector(v);
  const int64_t L = v["length"].get<int64_t>();
  REQUIRE(static_cast<int64_t>(chain.coords.size()) == L);
  const bool imputed = name == "1igy_B";
  // README tolerances vs a float32 port; the float64 port sits far inside them.
  const double tol = imputed ? 5e-3 : 1e-4;

  testing::EncodeTrace trace;
  Encoding enc = testing::encode_traced(model, chain, EncodeOptions{}, trace);

  // k-NN edges: exact as a set. Edge features compared edge by edge.
  const auto& edges = v["edges"];
  REQUIRE(trace.edge_index.size(1) == static_cast<int64_t>(edges.size()));
  std::map<std::pair<int64_t, int64_t>, int64_t> mine;
  auto ei = trace.edge_index.contiguous();
  const int64_t E = ei.size(1);
  for (int64_t e = 0; e < E; ++e) mine[{ei[0][e].item<int64_t>(), ei[1][e].item<int64_t>()}] = e;
  CHECK(static_cast<int64_t>(mine.size()) == E);
  std::vector<int64_t> perm;
  for (const auto& ed : edges) {
    auto it = mine.find({ed[0].get<int64_t>(), ed[1].get<int64_t>()});
    REQUIRE_MESSAGE(it != mine.end(), name << ": edge " << ed.dump() << " missing");
    perm.push_back(it->second);
  }
  auto idx = at::tensor(perm, at::TensorOptions().dtype(at::kLong));
  CHECK(max_abs_diff(trace.edge_e.index_select(0, idx).reshape({-1}), v["edge_e"]) < tol);
  CHECK(max_abs_diff(trace.edge_xi.index_select(0, idx).reshape({-1, 3}), v["edge_xi"]) < tol);

  CHECK(max_abs_diff(trace.h, v["h"]) < tol);
  CHECK(max_abs_diff(trace.chi, v["chi"]) < tol);
  const double d_emb = max_abs_diff(trace.node_embedding, v["gcp_node_embedding"]);
  CHECK(d_emb < tol);
  CHECK(max_abs_diff(trace.encoder_out.narrow(0, 0, 4), v["encoder_transformer_out"]) < 1e-4);
  const double d_z = max_abs_diff(trace.quantizer_input, v["quantizer_input"]);
  CHECK(d_z < tol);
  MESSAGE(name << (float64 ? " f64" : " f32") << ": node embedding max diff " << d_emb << ", quantizer input " << d_z);

  // Tokens: exact, on the same residues.
  CHECK(enc.windows == 1);
  CHECK(enc.tokens == v["tokens"].get<std::vector<int>>());
  CHECK(enc.positions == v["token_positions"].get<std::vector<int>>());
  CHECK(enc.tokens.size() == v["n_tokens"].get<size_t>());

  // Decode: N/CA/C within 1e-4 Å.
  auto xyz = model.decode(v["tokens"].get<std::vector<int>>()).n_ca_c;
  const auto want = gcptest::flatten(v["decoded_N_CA_C"]);
  REQUIRE(want.size() == xyz.size() * 9);
  double d_xyz = 0;
  for (size_t i = 0; i < xyz.size(); ++i)
    for (int a = 0; a < 3; ++a)
      for (int c = 0; c < 3; ++c) d_xyz = std::max(d_xyz, std::abs(xyz[i][a][c] - want[i * 9 + a * 3 + c]));
  CHECK(d_xyz < 1e-4);
}

}  // namespace

TEST_CASE("tiny model, float64: features, k-NN, GCPNet, quantizer input, tokens and decode match the reference") {
  auto model = GcpVqvae::load(test::shared_file("vectors/gcp/tiny_model").string(), ModelPrecision::float64);
  CHECK(model.max_length() == 512);
  CHECK(model.codebook_size() == 512);
  size_t total = 0;
  for (const char* name : {"1A8O_A", "1aki_A", "7CFN_R", "1igy_B"}) {
    check_chain(model, name, true);
    total += gcptest::vector_json(name)["n_tokens"].get<size_t>();
  }
  CHECK(total == 903);
}

TEST_CASE("tiny model, float32: the same 903 tokens within the README tolerances") {
  auto model = GcpVqvae::load(test::shared_file("vectors/gcp/tiny_model").string(), ModelPrecision::float32);
  for (const char* name : {"1A8O_A", "1aki_A", "7CFN_R", "1igy_B"}) check_chain(model, name, false);
}

TEST_CASE("rotation + translation keeps every token, the mirror image keeps almost none") {
  auto model = GcpVqvae::load(test::shared_file("vectors/gcp/tiny_model").string(), ModelPrecision::float32);
  const json rc = json::parse(test::read_file(test::shared_file("vectors/gcp/tiny_rotation_check.json")));
  BackboneChain chain = gcptest::chain_from_vector(gcptest::vector_json("1aki_A"));
  const auto original = rc["tokens_original_pose"].get<std::vector<int>>();
  CHECK(model.encode(chain).tokens == original);

  const auto R = rc["rotation_matrix"].get<std::vector<std::vector<double>>>();
  const auto t = rc["translation"].get<std::vector<double>>();
  BackboneChain moved = chain, mirrored = chain;
  for (size_t i = 0; i < chain.coords.size(); ++i)
    for (int a = 0; a < 3; ++a) {
      const auto& x = chain.coords[i][a];
      for (int r = 0; r < 3; ++r) moved.coords[i][a][r] = R[r][0] * x[0] + R[r][1] * x[1] + R[r][2] * x[2] + t[r];
      mirrored.coords[i][a][0] = -x[0];
    }
  auto rot = model.encode(moved).tokens;
  CHECK(rot == rc["rotated"]["reference_tokens"].get<std::vector<int>>());
  CHECK(rot == original);
  auto mir = model.encode(mirrored).tokens;
  CHECK(mir == rc["mirrored"]["reference_tokens"].get<std::vector<int>>());
  size_t same = 0;
  for (size_t i = 0; i < mir.size(); ++i) same += mir[i] == original[i];
  CHECK(same == rc["mirrored"]["reference_tokens_equal_to_original_pose"].get<size_t>());
  CHECK(same < mir.size() / 10);
}

TEST_CASE("int16 decoding stays within hundredths of an angstrom of the reference decode") {
  auto model = GcpVqvae::load(test::shared_file("vectors/gcp/tiny_model").string(), ModelPrecision::float32);
  double worst = 0;
  for (const char* name : {"1A8O_A", "1aki_A", "7CFN_R", "1igy_B"}) {
    const json v = gcptest::vector_json(name);
    const auto xyz = model.decode(v["tokens"].get<std::vector<int>>(), DecodeArithmetic::int16).n_ca_c;
    const auto want = gcptest::flatten(v["decoded_N_CA_C"]);
    REQUIRE(want.size() == xyz.size() * 9);
    for (size_t i = 0; i < xyz.size(); ++i)
      for (int a = 0; a < 3; ++a) {
        double d2 = 0;
        for (int c = 0; c < 3; ++c) d2 += std::pow(xyz[i][a][c] - want[i * 9 + a * 3 + c], 2);
        worst = std::max(worst, std::sqrt(d2));
      }
  }
  MESSAGE("int16 decode: largest atom deviation from the reference " << worst << " A");
  CHECK(worst < 0.01);
  CHECK(worst > 0);  // the integer path really ran
  auto f64 = GcpVqvae::load(test::shared_file("vectors/gcp/tiny_model").string(), ModelPrecision::float64);
  CHECK_THROWS_AS(f64.decode({1, 2, 3}, DecodeArithmetic::int16), std::invalid_argument);
}

TEST_CASE("int16 decoding gives the same coordinates, bit for bit, at the AVX2 and AVX-512 VNNI int16 levels") {
  // The integer sums are exact and every level adds them to float32 in the same order, so the levels must agree
  // exactly, not within a tolerance. The reference is the AVX2 level: the decoder's other loops (attention,
  // SwiGLU) run their AVX2 code at every kernel level from AVX2 up, so only the int16 level changes below.
  // (The portable level is compared with the others in the core_nn tests: at the scalar kernel level the
  // attention loops change too.)
  namespace k = bmx::kernels;
  if (k::detected_isa() == k::Isa::scalar) {
    MESSAGE("no AVX2 on this CPU: nothing to compare");
    return;
  }
  auto model = GcpVqvae::load(test::shared_file("vectors/gcp/tiny_model").string(), ModelPrecision::float32);
  const auto tokens = gcptest::vector_json("1aki_A")["tokens"].get<std::vector<int>>();
  k::testing::force_isa(k::Isa::avx2);
  REQUIRE(std::string(k::quantized_matmul_level()) == "avx2");
  const auto want = model.decode(tokens, DecodeArithmetic::int16).n_ca_c;
  std::string levels;
  for (k::Isa isa : k::available_isas()) {
    if (isa == k::Isa::scalar) continue;
    k::testing::force_isa(isa);
    const std::string level = k::quantized_matmul_level();
    CAPTURE(level);
    const auto got = model.decode(tokens, DecodeArithmetic::int16).n_ca_c;
    REQUIRE(got.size() == want.size());
    bool same = true;
    for (size_t i = 0; i < got.size(); ++i)
      for (int a = 0; a < 3; ++a)
        for (int c = 0; c < 3; ++c) same = same && got[i][a][c] == want[i][a][c];
    CHECK(same);
    levels += " " + level;
  }
  k::testing::force_isa(k::detected_isa());
  MESSAGE("int16 levels compared with avx2:" << levels);
}

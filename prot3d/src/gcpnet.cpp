// GCPNet encoder (spec §3). Vector features are kept as [n, 3, C] (xyz-major) so that every channel mix is one
// linear() over 3n rows.
#include <ATen/ATen.h>

#include "bmx/core/util/error.h"
#include "bmx/core/nn/nn.h"
#include "gcp_internal.h"

namespace bmx::prot3d {

const at::Tensor& GcpWeights::operator()(const std::string& name) const {
  auto it = by_name.find(name);
  if (it == by_name.end()) throw std::logic_error("GCP-VQVAE: missing weight " + name);
  return it->second;
}

namespace {

struct SV {
  at::Tensor s, v;  // [n, S], [n, 3, V] (v undefined when V = 0)
};

// Everything a GCP needs about the graph.
struct Graph {
  at::Tensor src, dst;     // int64 [E]
  at::Tensor frames;       // [E, 3, 3]: rows a, b, c of each edge frame
  at::Tensor node_frames;  // [n, 3, 3]: mean of the frames of the edges whose source is the node
  at::Tensor src_count;    // [n, 1] edges per source (clamped to >= 1)
  int64_t n = 0;
};

at::Tensor gather(const at::Tensor& x, const at::Tensor& idx) { return x.index_select(0, idx); }

at::Tensor scatter_sum(const at::Tensor& x, const at::Tensor& idx, int64_t n) {
  auto sizes = x.sizes().vec();
  sizes[0] = n;
  return at::zeros(sizes, x.options()).index_add_(0, idx, x);
}

SV gcp_layer_norm(const GcpWeights& w, const std::string& p, SV x) {
  x.s = nn::layer_norm(x.s, w(p + "scalar_norm.weight"), w(p + "scalar_norm.bias"), 1e-5);
  if (x.v.defined() && x.v.size(2) > 0) {
    auto sq = x.v.pow(2).sum(1).clamp_min(1e-8);  // [n, V]
    x.v = x.v / sq.mean(-1, true).sqrt().unsqueeze(1);
  }
  return x;
}

// Scalarisation (§3.1 step 4): loc[3c + r] = F[r] . vf[c], with F [n, 3(r), 3(xyz)], vf [n, 3(xyz), 3(c)].
at::Tensor scalarise(const at::Tensor& F, const at::Tensor& vf) {
  return (F.unsqueeze(1) * vf.transpose(1, 2).unsqueeze(2)).sum(-1).reshape({F.size(0), 9});
}

// The GCP tail once the bottleneck vectors vh and the scalar pre-activation z are known.
SV gcp_output(const GcpWeights& w, const std::string& p, const at::Tensor& vh, const at::Tensor& z, bool silu) {
  SV out;
  out.s = silu ? at::silu(z) : z;
  if (!w.has(p + "vector_up.weight")) return out;
  auto gate = at::sigmoid(nn::linear(out.s, w(p + "vector_out_scale.weight"), w(p + "vector_out_scale.bias")));
  out.v = nn::linear(vh, w(p + "vector_up.weight")) * gate.unsqueeze(1);
  return out;
}

at::Tensor scalar_out(const GcpWeights& w, const std::string& p, const at::Tensor& merged) {
  if (w.has(p + "scalar_out.0.weight")) {
    auto z = nn::linear(merged, w(p + "scalar_out.0.weight"), w(p + "scalar_out.0.bias"));
    return nn::linear(at::silu(z), w(p + "scalar_out.2.weight"), w(p + "scalar_out.2.bias"));
  }
  return nn::linear(merged, w(p + "scalar_out.weight"), w(p + "scalar_out.bias"));
}

// One Geometry-Complete Perceptron. node_inputs: scalarise with the source node's frame vectors, averaged over
// its out-edges (the mean of F_e over those edges times the node's vectors: exact, and cheaper than per edge).
SV gcp(const GcpWeights& w, const std::string& p, const SV& x, const Graph& g, bool node_inputs, bool silu) {
  const auto& Wd = w(p + "vector_down.weight");
  const int64_t H = Wd.size(0);
  // vector_down and vector_down_frames in one pass: [n, 3, H + 3]
  auto both = nn::linear(x.v, at::cat({Wd, w(p + "vector_down_frames.weight")}, 0));
  auto vh = both.narrow(2, 0, H);
  auto vn = vh.pow(2).sum(1).clamp_min(1e-8).sqrt();                              // [n, H]
  auto loc = scalarise(node_inputs ? g.node_frames : g.frames, both.narrow(2, H, 3));
  return gcp_output(w, p, vh, scalar_out(w, p, at::cat({x.s, vn, loc}, -1)), silu);
}

// The first message GCP of an interaction layer, on m = ([s_j, e, s_i], [v_j, ev, v_i]) for every edge (j, i):
// the node parts of its linear maps are applied per node and gathered, which is the same sum with L instead
// of E rows.
SV message_gcp(const GcpWeights& w, const std::string& p, const SV& node, const SV& edge, const Graph& g) {
  const int64_t S = node.s.size(1), Se = edge.s.size(1), V = node.v.size(2), Ve = edge.v.size(2);
  const auto& Wd = w(p + "vector_down.weight");
  const int64_t H = Wd.size(0);
  auto Wv = at::cat({Wd, w(p + "vector_down_frames.weight")}, 0);                // [H + 3, 2V + Ve]
  auto vj = nn::linear(node.v, Wv.narrow(1, 0, V)), vi = nn::linear(node.v, Wv.narrow(1, V + Ve, V));
  auto both = gather(vj, g.src) + nn::linear(edge.v, Wv.narrow(1, V, Ve)) + gather(vi, g.dst);  // [E, 3, H + 3]
  auto vh = both.narrow(2, 0, H);
  auto vn = vh.pow(2).sum(1).clamp_min(1e-8).sqrt();
  auto loc = scalarise(g.frames, both.narrow(2, H, 3));
  const auto& Ws = w(p + "scalar_out.weight");                                   // [out, 2S + Se + H + 9]
  auto sj = nn::linear(node.s, Ws.narrow(1, 0, S)), si = nn::linear(node.s, Ws.narrow(1, S + Se, S));
  auto rest = at::cat({Ws.narrow(1, S, Se), Ws.narrow(1, 2 * S + Se, H + 9)}, 1);
  auto z = gather(sj, g.src) + gather(si, g.dst) + nn::linear(at::cat({edge.s, vn, loc}, -1), rest, w(p + "scalar_out.bias"));
  return gcp_output(w, p, vh, z, true);
}

}  // namespace

at::Tensor gcpnet_forward(const GcpWeights& w, const GcpVqvaeConfig& c, const GcpFeatures& f) {
  const auto dtype = f.h.scalar_type();
  const int64_t n = f.h.size(0);
  Graph g;
  g.n = n;
  g.src = f.edge_index[0].contiguous();
  g.dst = f.edge_index[1].contiguous();
  // Frames and RBFs in float64 from the centred CA positions (the frames depend on the centring).
  auto pos = f.pos - f.pos.mean(0, true);
  auto pj = gather(pos, g.src), pi = gather(pos, g.dst);
  auto diff = pj - pi;
  auto dist = diff.norm(2, -1, true);                                              // [E, 1]
  auto a = diff / (dist + 1);
  auto cr = at::cross(pj, pi, -1);
  auto b = cr / (cr.norm(2, -1, true) + 1);
  auto cc = at::cross(a, b, -1);
  auto frames = at::stack({a, b, cc}, 1);                                          // [E, 3, 3]
  auto count = scatter_sum(at::ones({g.src.size(0), 1}, pos.options()), g.src, n).clamp_min(1);
  g.frames = frames.to(dtype);
  g.node_frames = (scatter_sum(frames.reshape({-1, 9}), g.src, n) / count).reshape({n, 3, 3}).to(dtype);
  auto mu = at::linspace(0, c.r_max, c.num_rbf, pos.options()).unsqueeze(0);
  const double sigma = c.r_max / double(c.num_rbf);
  auto rbf = at::exp(-((dist - mu) / sigma).pow(2));

  const std::string G = "encoder.";
  SV edge{at::cat({f.edge_e, rbf.to(dtype)}, -1), f.edge_xi.transpose(1, 2)};  // [E, 9], [E, 3, 1]
  SV node{f.h, f.chi.transpose(1, 2)};                                          // [n, 49], [n, 3, 2]
  edge = gcp_layer_norm(w, G + "gcp_embedding.edge_normalization.", edge);
  node = gcp_layer_norm(w, G + "gcp_embedding.node_normalization.", node);
  edge = gcp(w, G + "gcp_embedding.edge_embedding.", edge, g, false, true);
  node = gcp(w, G + "gcp_embedding.node_embedding.", node, g, true, false);

  for (int64_t l = 0; l < c.gcp_layers; ++l) {
    const std::string p = G + "interaction_layers." + std::to_string(l) + ".";
    SV m = message_gcp(w, p + "interaction.message_fusion.0.", node, edge, g);
    for (int64_t t = 1; t < c.message_layers; ++t) {
      SV d = gcp(w, p + "interaction.message_fusion." + std::to_string(t) + ".", m, g, false, true);
      m.s = m.s + d.s;
      m.v = m.v + d.v;
    }
    m.s = m.s * at::sigmoid(nn::linear(m.s, w(p + "interaction.scalar_message_attention.0.weight"),
                                       w(p + "interaction.scalar_message_attention.0.bias")));
    SV r{at::cat({scatter_sum(m.s, g.src, n), node.s}, -1), at::cat({scatter_sum(m.v, g.src, n), node.v}, -1)};
    for (int64_t t = 0; t < c.feedforward_layers; ++t) {
      const bool last = t == c.feedforward_layers - 1;
      r = gcp(w, p + "feedforward_network." + std::to_string(t) + ".", r, g, true, !last);
    }
    node = gcp_layer_norm(w, p + "gcp_norm.0.", SV{node.s + r.s, node.v + r.v});
  }
  node = gcp_layer_norm(w, G + "invariant_node_projection.0.", node);
  return gcp(w, G + "invariant_node_projection.1.", node, g, true, true).s;
}

}  // namespace bmx::prot3d

// bmx bench prot: GCP-VQVAE encode and decode speed with seeded random weights of a released shape, on synthetic
// chains, beside the original code's timings on this machine class.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bmx/core/geom/vec3.h"
#include "bmx/core/nn/quantized_matmul.h"
#include "bmx/core/util/error.h"
#include "bmx/core/util/math_threads.h"
#include "bmx/core/util/parallel.h"
#include "bmx/prot3d/gcp_vqvae.h"
#include "commands.h"
#include "measure.h"

namespace bmx::app {
namespace {

using namespace bmx::prot3d;
using ojson = nlohmann::ordered_json;

// A plausible backbone of n residues (ideal bond geometry; helices and strands in turn), no file needed. It lives
// here, not in prot3d, because it is bench data that no user calls: the timings need chains of chosen lengths
// whose geometry gives GCPNet's k-nearest-neighbour graph the shape of a real protein's.
BackboneChain synthetic_chain(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> jitter(-8.0, 8.0);
  BackboneChain c;
  c.id = "synthetic";
  c.chain = "A";
  using bmx::vec3::place;
  const double deg = M_PI / 180.0;
  Vec3 N{0, 1.458, 0}, CA{0, 0, 0}, C{1.525, 0, 0};
  N = place(C, CA, N, 1.458, 111.0 * deg, 0.0);  // any first residue
  for (int i = 0; i < n; ++i) {
    const bool helix = (i / 12) % 2 == 0;
    const double phi = (helix ? -57.0 : -120.0) + jitter(rng), psi = (helix ? -47.0 : 130.0) + jitter(rng);
    if (i > 0) {
      const auto& p = c.coords.back();
      N = place(p[0], p[1], p[2], 1.329, 116.2 * deg, psi * deg);
      CA = place(p[1], p[2], N, 1.458, 121.7 * deg, 180.0 * deg);
      C = place(p[2], N, CA, 1.525, 111.0 * deg, phi * deg);
    }
    c.coords.push_back({N, CA, C});
    Residue r;
    r.one_letter = "ACDEFGHIKLMNPQRSTVWY"[rng() % 20];
    r.id.number = i + 1;
    c.residues.push_back(r);
  }
  return c;
}

struct BenchArgs {
  std::string arch = "large", lengths = "69,274,477";
  bool json_out = false;
  int threads = 2, repeats = 2;
};

// The original code (mahdip72/vq_encoder_decoder, PyTorch, CPU, float32, Large, 2 threads, every chain padded to
// 512) on this machine class: seconds per chain to encode and to decode.
struct OriginalTiming {
  int length;
  double encode_s, decode_s;
};
constexpr OriginalTiming kOriginalLarge[] = {{69, 6.0, 6.3}, {274, 7.8, 6.0}, {477, 13.7, 6.7}};

const OriginalTiming* original_timing(const std::string& arch, int length, int threads) {
  if (arch != "large" || threads != 2) return nullptr;
  for (const auto& t : kOriginalLarge)
    if (t.length == length) return &t;
  return nullptr;
}

int run_bench(const BenchArgs& a) {
  std::vector<int> lengths;
  {
    std::stringstream ss(a.lengths);
    for (std::string t; std::getline(ss, t, ',');) {
      std::size_t used = 0;
      int L = 0;
      try {
        L = std::stoi(t, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != t.size() || L < 2) throw UnsupportedError("--lengths: '" + t + "' is not a chain length >= 2");
      lengths.push_back(L);
    }
  }
  const int threads = thread_count(a.threads);  // the one -t rule (bmx/core/util/parallel.h)
  set_math_threads(threads);
  const auto t_load = std::chrono::steady_clock::now();
  const GcpVqvae model = GcpVqvae::random(a.arch, 20251023);
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();
  EncodeOptions eopt;
  eopt.window = true;
  ojson rows = ojson::array();
  double enc_res = 0, enc_s = 0, dec_res = 0, dec_s = 0, dec16_s = 0;
  if (!a.json_out) {
    std::printf("GCP-VQVAE %s, random weights of the released shape, %d thread(s), best of %d, int16 level %s\n",
                a.arch.c_str(), threads, std::max(1, a.repeats), kernels::quantized_matmul_level());
    std::printf("%7s | %8s %8s %7s | %15s %7s | %15s %7s %9s\n", "", "encode", "", "", "decode float32", "",
                "decode int16", "", "");
    std::printf("%7s | %8s %8s %7s | %7s %7s %7s | %7s %7s %7s %9s\n", "length", "s", "res/s", "vs orig", "s",
                "res/s", "vs orig", "s", "res/s", "vs orig", "max dev A");
  }
  bool any_reference = false;
  const DecodeArithmetic arithmetics[] = {DecodeArithmetic::float32, DecodeArithmetic::int16};
  for (int L : lengths) {
    const BackboneChain c = synthetic_chain(L, 1000 + L);
    Encoding e = model.encode(c, eopt);  // warm-up
    for (auto ar : arithmetics) (void)model.decode(e.tokens, ar);
    double te = 1e30, ce = 1e30, td[2] = {1e30, 1e30}, cd[2] = {1e30, 1e30};
    Decoding decoded[2];
    for (int r = 0; r < std::max(1, a.repeats); ++r) {
      auto t0 = std::chrono::steady_clock::now();
      double c0 = cpu_seconds();
      e = model.encode(c, eopt);
      te = std::min(te, seconds_since(t0));
      ce = std::min(ce, cpu_seconds() - c0);
      for (int k = 0; k < 2; ++k) {  // float32 and int16 side by side in every repeat
        t0 = std::chrono::steady_clock::now();
        c0 = cpu_seconds();
        decoded[k] = model.decode(e.tokens, arithmetics[k]);
        td[k] = std::min(td[k], seconds_since(t0));
        cd[k] = std::min(cd[k], cpu_seconds() - c0);
      }
    }
    double dev = 0;  // same network, same pose: atoms compare directly
    for (std::size_t i = 0; i < decoded[0].n_ca_c.size(); ++i)
      for (int atom = 0; atom < 3; ++atom) {
        double d2 = 0;
        for (int x = 0; x < 3; ++x) d2 += std::pow(decoded[0].n_ca_c[i][atom][x] - decoded[1].n_ca_c[i][atom][x], 2);
        dev = std::max(dev, std::sqrt(d2));
      }
    const double n_dec = static_cast<double>(e.tokens.size());
    enc_res += L, enc_s += te, dec_res += n_dec, dec_s += td[0], dec16_s += td[1];
    ojson row = {{"length", L},
                 {"encode_s", te},
                 {"encode_cpu_s", ce},
                 {"encode_res_per_s", L / te},
                 {"decode_s", td[0]},
                 {"decode_cpu_s", cd[0]},
                 {"decode_res_per_s", n_dec / td[0]},
                 {"decode_int16_s", td[1]},
                 {"decode_int16_cpu_s", cd[1]},
                 {"decode_int16_res_per_s", n_dec / td[1]},
                 {"decode_int16_max_deviation_angstrom", dev}};
    const OriginalTiming* ref = original_timing(a.arch, L, threads);
    char re[32] = "-", rd[32] = "-", rd16[32] = "-";
    if (ref) {
      any_reference = true;
      row["original_encode_s"] = ref->encode_s;
      row["original_decode_s"] = ref->decode_s;
      row["encode_speedup"] = ref->encode_s / te;
      row["decode_speedup"] = ref->decode_s / td[0];
      row["decode_int16_speedup"] = ref->decode_s / td[1];
      std::snprintf(re, sizeof re, "%.1fx", ref->encode_s / te);
      std::snprintf(rd, sizeof rd, "%.1fx", ref->decode_s / td[0]);
      std::snprintf(rd16, sizeof rd16, "%.1fx", ref->decode_s / td[1]);
    }
    rows.push_back(row);
    if (!a.json_out)
      std::printf("%7d | %8.3f %8.1f %7s | %7.3f %7.1f %7s | %7.3f %7.1f %7s %9.4f\n", L, te, L / te, re, td[0],
                  n_dec / td[0], rd, td[1], n_dec / td[1], rd16, dev);
  }
  if (a.json_out) {
    ojson j = {{"arch", a.arch},
               {"threads", threads},
               {"int16_level", kernels::quantized_matmul_level()},
               {"load_s", load_s},
               {"chains", rows},
               {"encode_residues_per_s", enc_res / enc_s},
               {"decode_residues_per_s", dec_res / dec_s},
               {"decode_int16_residues_per_s", dec_res / dec16_s}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("overall: encode %.1f res/s, decode %.1f res/s (float32), %.1f res/s (int16)\n", enc_res / enc_s,
                dec_res / dec_s, dec_res / dec16_s);
    std::printf("vs orig: the original code's seconds per chain (Large, 2 threads, float32, padded to 512: %s) "
                "divided by these%s.\n"
                "encode and decode float32 compute as the original does; decode int16 rounds the decoder's matrix "
                "products to 14-bit integers (bmx prot decode --int16), max dev A: its largest atom deviation "
                "from decode float32.\n",
                "69/274/477 residues: encode 6.0/7.8/13.7 s, decode 6.3/6.0/6.7 s",
                any_reference ? "" : " (only for --arch large, 2 threads, lengths 69, 274 or 477)");
  }
  return 0;
}

}  // namespace

void add_prot_bench(CLI::App& bench) {
  auto a = std::make_shared<BenchArgs>();
  auto* c = bench.add_subcommand("prot", "GCP-VQVAE encode/decode speed with random weights of the released shapes");
  c->add_option("--arch", a->arch, "large or lite")->default_val("large");
  c->add_option("--lengths", a->lengths, "chain lengths, comma-separated (69, 274 and 477 are compared with the "
                                         "original code's timings)")->default_val("69,274,477");
  c->add_option("--repeats", a->repeats, "timed runs per length (the best counts)")->default_val(2);
  c->add_option("--threads", a->threads, "threads (0: all cores; the original's timings are for 2)")->default_val(2);
  c->add_flag("--json", a->json_out, "one JSON object");
  c->callback([a] { exit_status = run_bench(*a); });
}

}  // namespace bmx::app

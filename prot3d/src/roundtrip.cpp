#include "bmx/prot3d/roundtrip.h"

#include <cmath>

#include "bmx/core/geom/superpose.h"

namespace bmx::prot3d {

RoundTripMetrics round_trip(const GcpVqvae& model, const BackboneChain& chain, const EncodeOptions& options,
                            DecodeArithmetic arithmetic) {
  const Encoding e = model.encode(chain, options);
  // The decoder takes at most max_length tokens: a longer (windowed) chain is decoded in near-equal consecutive
  // pieces rather than one full piece and a stub, so that every piece has enough residues to superpose well.
  const std::size_t max_tokens = static_cast<std::size_t>(model.max_length());
  const std::size_t n = e.tokens.size();
  const std::size_t pieces = n == 0 ? 1 : (n + max_tokens - 1) / max_tokens;
  double sq = 0, tm = 0;
  for (std::size_t p = 0; p < pieces; ++p) {
    const std::size_t b = p * n / pieces, end = (p + 1) * n / pieces;
    const Decoding d = model.decode(std::vector<int>(e.tokens.begin() + b, e.tokens.begin() + end), arithmetic);
    std::vector<Vec3> ref, dec;
    for (std::size_t k = b; k < end; ++k) {
      ref.push_back(chain.coords[e.positions[k]][1]);
      dec.push_back(d.n_ca_c[k - b][1]);
    }
    const double r = superposed_rmsd(dec, ref);
    sq += r * r * double(end - b);
    tm += tm_score(dec, ref) * double(end - b);
  }
  RoundTripMetrics m;
  m.tokens = n;
  m.pieces = pieces;
  m.ca_rmsd = n ? std::sqrt(sq / double(n)) : 0.0;
  m.tm_score = n ? tm / double(n) : 0.0;
  return m;
}

}  // namespace bmx::prot3d

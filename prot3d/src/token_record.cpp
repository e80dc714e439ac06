#include "bmx/prot3d/token_record.h"

#include "bmx/core/util/error.h"

namespace bmx::prot3d {

TokenRecord token_record(const BackboneChain& chain, const Encoding& encoding) {
  TokenRecord r;
  r.id = chain.id;
  r.chain = chain.chain;
  r.tokens = encoding.tokens;
  for (int p : encoding.positions) {
    r.sequence += chain.residues[p].one_letter;
    r.residues.push_back(chain.residues[p].id);
    r.names.push_back(chain.residues[p].name);
  }
  r.positions = chain.size();
  for (std::size_t i = 0, k = 0; i < chain.size(); ++i) {
    if (k < encoding.positions.size() && encoding.positions[k] == static_cast<int>(i)) {
      ++k;
      continue;
    }
    r.untokenized.push_back({chain.residues[i].id, chain.residues[i].name});
  }
  r.windows = encoding.windows;
  return r;
}

std::string protein_id(const std::string& id, const std::string& chain) { return id + "_chain_id_" + chain_label(chain); }

BackboneChain decoded_chain(const TokenRecord& record, const Decoding& decoding) {
  const std::size_t n = decoding.n_ca_c.size();
  const auto check = [&](std::size_t size, const std::string& what) {
    if (size != 0 && size != n)
      throw InputError(what + " has " + std::to_string(size) + " residues but there are " + std::to_string(n) +
                       " structure tokens");
  };
  check(record.sequence.size(), "sequence");
  check(record.residues.size(), "the residue id list");
  check(record.names.size(), "the residue name list");
  BackboneChain c;
  c.id = record.id;
  c.chain = record.chain;
  c.coords = decoding.n_ca_c;
  c.residues.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    Residue& res = c.residues[i];
    res.id = record.residues.empty() ? ResidueId{static_cast<int>(i + 1), ' '} : record.residues[i];
    res.one_letter = record.sequence.empty() ? 'X' : record.sequence[i];
    if (!record.names.empty()) res.name = record.names[i];
  }
  return c;
}

}  // namespace bmx::prot3d

#include "bmx/prot3d/backbone.h"

namespace bmx::prot3d {

std::string BackboneChain::sequence() const {
  std::string s;
  s.reserve(residues.size());
  for (const Residue& r : residues) s += r.one_letter;
  return s;
}

std::vector<int> BackboneChain::observed_positions() const {
  std::vector<int> p;
  for (std::size_t i = 0; i < residues.size(); ++i)
    if (residues[i].observed) p.push_back(static_cast<int>(i));
  return p;
}

std::string BackboneChain::observed_sequence() const {
  std::string s;
  for (const Residue& r : residues)
    if (r.observed) s += r.one_letter;
  return s;
}

std::string chain_label(const std::string& chain) { return chain.empty() || chain == " " ? "_" : chain; }

}  // namespace bmx::prot3d

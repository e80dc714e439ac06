// SELFIES with the semantics of selfies v2.2.0 (default constraints), including the attribution that says
// which symbols create atoms. Spec: shared/specs/molstructok.md §2.
#pragma once
#include <string>
#include <vector>

namespace bmx::selfies {

// SMILES (Kekulé, as RDKit writes with kekuleSmiles=true) -> SELFIES. Throws InputError on SMILES that
// violate the semantic constraints or cannot be parsed.
std::string encode(const std::string& smiles);

// The bracket symbols of a SELFIES string, in order ("[C]", "[=O]", ...); dots are not symbols.
std::vector<std::string> split(const std::string& selfies);

struct Decoded {
  std::string smiles;              // atoms written in creation order
  std::vector<bool> creates_atom;  // per symbol of split(selfies) (excluding nothing): true if it added an atom
  std::vector<int> atom_symbol;    // per created atom: index of the symbol that created it
};

// SELFIES -> SMILES with attribution. Throws InputError on invalid symbols (message names the symbol and
// its position).
Decoded decode(const std::string& selfies);

}  // namespace bmx::selfies

// SELFIES with the semantics of selfies v2.2.0 (default constraints), including the attribution that says
// which symbols create atoms. Spec: shared/specs/molstructok.md §2.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace bmx::selfies {

// SMILES (Kekulé, as RDKit writes with kekuleSmiles=true) -> SELFIES, atoms in SMILES order. Throws
// InputError on SMILES that cannot be read (aromatic lower-case atoms included) or that violate the
// semantic constraints (e.g. N with 5 bonds); the message names the character position.
std::string encode(const std::string& smiles);

// The bracket symbols of a SELFIES string, in order ("[C]", "[=O]", "[nop]", ...); dots separate fragments
// and are not symbols. Throws InputError on text outside brackets or an unclosed '['.
std::vector<std::string> split(const std::string& selfies);
// The same as views into `selfies`, and the symbol index at which each fragment begins (the first is 0).
void split_views(std::string_view selfies, std::vector<std::string_view>& symbols, std::vector<int>& fragment_starts);
// For a branch or ring symbol ("[Branch2]", "[=Ring1]", ...): how many index symbols follow it; 0 for any other.
int index_symbol_count(std::string_view symbol);

struct Decoded {
  std::string smiles;              // atoms written in creation order: SMILES atom k = atom_symbol[k]'s atom
  std::vector<bool> creates_atom;  // per symbol of split(selfies): true if that symbol added an atom
  std::vector<int> atom_symbol;    // per created atom, in order: index into split(selfies) of its symbol
};

// SELFIES -> SMILES with attribution ([nop] symbols are skipped; symbols after the derivation stopped are
// ignored, as in selfies). Throws InputError on an invalid symbol the derivation reaches; the message
// names the symbol and its index in split(selfies).
Decoded decode(const std::string& selfies);

}  // namespace bmx::selfies

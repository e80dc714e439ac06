// The fixed tables of selfies v2.2.0: element symbols, default bonding capacities, the index alphabet.
#pragma once
#include <string>
#include <string_view>

namespace bmx::selfies::detail {

// Element symbols selfies accepts (its ELEMENTS set: up to Lv, without Nh, Mc, Ts, Og).
bool is_element(std::string_view symbol);
// B C N O S P F Cl Br I: written without brackets in SMILES and SELFIES.
bool is_organic_subset(std::string_view symbol);
// Default semantic constraints (selfies v2.2.0): maximum total bond order of an atom before explicit H.
int default_capacity(std::string_view element, int charge);

// Value 0..15 of an index symbol ("[C]" = 0 ... "[P]" = 15); any other symbol counts as 0.
int index_value(std::string_view symbol);
// Appends the base-16 index symbols of q >= 0 (most significant first; 0 -> "[C]"); returns how many.
int append_index_symbols(int q, std::string& out);
// How many index symbols append_index_symbols writes for q.
int index_length(int q);

}  // namespace bmx::selfies::detail

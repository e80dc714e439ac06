// A residue's author id: its number and insertion code, as PDB and mmCIF files write them ("52", "52A", "-3").
// The same idea as gemmi's SeqId; the number is never missing here (gap residues continue the numbering).
#pragma once
#include <string>

namespace bmx::prot3d {

struct ResidueId {
  int number = 0;
  char icode = ' ';  // insertion code; ' ' when there is none

  bool operator==(const ResidueId& o) const { return number == o.number && icode == o.icode; }
  bool operator!=(const ResidueId& o) const { return !(*this == o); }
};

// "52", "52A", "-3": the number, then the insertion code when there is one.
std::string to_string(const ResidueId& id);
// The inverse of to_string. Throws InputError naming `where` on anything but a number with at most one letter after it.
ResidueId parse_residue_id(const std::string& text, const std::string& where = {});

}  // namespace bmx::prot3d

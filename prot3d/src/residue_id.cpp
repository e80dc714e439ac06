#include "bmx/prot3d/residue_id.h"

#include "bmx/core/util/error.h"

namespace bmx::prot3d {

std::string to_string(const ResidueId& id) {
  std::string s = std::to_string(id.number);
  if (id.icode != ' ' && id.icode != '\0') s += id.icode;
  return s;
}

ResidueId parse_residue_id(const std::string& text, const std::string& where) {
  const auto fail = [&] {
    const std::string msg = "residue id '" + text + "' is not a number with an optional insertion code";
    throw InputError(where.empty() ? msg : where + ": " + msg);
  };
  std::size_t used = 0;
  ResidueId id;
  try {
    id.number = std::stoi(text, &used);
  } catch (const std::exception&) {
    fail();
  }
  if (used + 1 < text.size()) fail();
  if (used < text.size()) id.icode = text[used];
  return id;
}

}  // namespace bmx::prot3d

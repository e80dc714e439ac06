// The reader's use of Open Babel, kept behind plain types so that only one file includes its headers:
// bond perception for bare coordinates (XYZ) and reading formats RDKit does not read.
#pragma once
#include <GraphMol/RWMol.h>

#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bmx::mol3d {

struct BareAtoms {
  std::vector<int> atomic_numbers;
  std::vector<RDGeom::Point3D> positions;
};

// Connectivity and bond orders perceived by Open Babel (ConnectTheDots, PerceiveBondOrders) from positions
// alone; every atom explicit (no implicit H). Formal charges then close the valence shells: four-bonded
// N/P and three-bonded O/S become cations; under-bonded atoms become anions as far as `total_charge`
// allows (O, S, N before C; every under-bonded O/S/N when the charge is unknown), the rest radicals.
// What was assigned is appended to `notes`. Throws InputError (with `where`) when RDKit refuses the result.
std::unique_ptr<RDKit::RWMol> perceive_bonds(const BareAtoms& atoms, std::optional<int> total_charge,
                                             const std::string& where, std::vector<std::string>& notes);

// True when Open Babel has an input format of this name ("pdb", "cml", ...).
bool openbabel_reads(const std::string& format);

// Records of a file in a format Open Babel reads, one at a time, each as an MDL molblock (H as in the
// file, which RDKit then completes). Open Babel's own messages are silenced.
class OpenBabelRecords {
 public:
  OpenBabelRecords(std::istream& in, const std::string& format);
  ~OpenBabelRecords();
  // False at the end. On a record Open Babel cannot convert, returns true with `error` set.
  bool next(std::string& molblock, std::string& name, int& atoms, std::string& error);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One record held in memory (e.g. a MOL2 block RDKit refused) converted to an MDL molblock; empty with
// `error` set when Open Babel cannot read it either.
std::string openbabel_to_molblock(const std::string& text, const std::string& format, std::string& error);

}  // namespace bmx::mol3d

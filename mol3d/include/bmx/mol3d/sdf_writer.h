// Molecules out: SD files that RDKit and Open Babel read back. V2000, or V3000 when a molecule has more
// than 999 atoms or bonds; the conformer is written flagged 3D ("3D" in the header line) whatever its flag
// in memory, unless the caller writes a 2D depiction or every z is 0 (a flat decoded molecule: flagged 2D, as
// RDKit expects). E/Z and R/S are assigned from the 3D coordinates before writing, and bond stereo 3
// ("either") is written only on a double bond marked STEREOANY, never where the coordinates decide it. Coordinates that are not finite are refused (InputError naming the record): NaN never reaches
// a file.
#pragma once
#include <GraphMol/ROMol.h>

#include <cstdio>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace bmx::mol3d {

using SdFields = std::vector<std::pair<std::string, std::string>>;

// One SDF record (molblock, data fields, "$$$$" line). `name` goes to the title line (empty: the
// molecule's _Name); `where` names the record in errors. Throws InputError for non-finite coordinates or
// a molecule without conformer.
std::string sdf_record(const RDKit::ROMol& mol, const std::string& name, const SdFields& fields,
                       const std::string& where, int conf_id = -1, bool three_d = true);

// Writes records to a path, or to stdout for "-". Not thread-safe; build records with sdf_record() in
// parallel and write them in order.
class SdfWriter {
 public:
  explicit SdfWriter(const std::string& path);  // throws InputError when the file cannot be created
  ~SdfWriter();
  SdfWriter(const SdfWriter&) = delete;
  SdfWriter& operator=(const SdfWriter&) = delete;

  void write(const RDKit::ROMol& mol, const std::string& name, const SdFields& fields = {},
             const std::string& where = {});
  void write_record(const std::string& record);  // a record from sdf_record()
  void flush();
  // Flushes and closes; a file that got no record is removed (no empty SD file is left behind). Returns the
  // number of records written.
  int finish();
  int records_written() const { return count_; }

 private:
  std::string path_;
  std::unique_ptr<std::ostream> file_;
  std::ostream* out_ = nullptr;
  int count_ = 0;
};

}  // namespace bmx::mol3d

// Molecules out: SD files that RDKit and Open Babel read back. V2000, or V3000 when a molecule has more
// than 999 atoms or bonds or a coordinate wider than V2000's 10 columns (fits_v2000); the conformer is written flagged 3D ("3D" in the header line) whatever its flag
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

#include "bmx/core/io/output_file.h"

namespace bmx::mol3d {

using SdFields = std::vector<std::pair<std::string, std::string>>;

// One SDF record (molblock, data fields, "$$$$" line). `name` goes to the title line (empty: the
// molecule's _Name); `where` names the record in errors. Throws InputError for non-finite coordinates or
// a molecule without conformer.
std::string sdf_record(const RDKit::ROMol& mol, const std::string& name, const SdFields& fields,
                       const std::string& where, int conf_id = -1, bool three_d = true);

// True when the molecule can be a V2000 record: at most 999 atoms and bonds, and every coordinate within the
// %10.4f column (-9999.9999 .. 99999.9999). sdf_record writes V3000 otherwise (callers may say so).
bool fits_v2000(const RDKit::ROMol& mol, int conf_id = -1);

// Writes records to a path, or to stdout for "-" or "", through bmx::OutputFile: an output that is one of
// `inputs` is refused when the writer is made, records go to a temporary file that finish() renames into place,
// and a writer destroyed without finish() (a failed command) leaves the old file, or none. Not thread-safe;
// build records with sdf_record() in parallel and write them in order.
class SdfWriter {
 public:
  // Throws InputError when the file cannot be created or is one of the inputs.
  explicit SdfWriter(const std::string& path, const std::vector<std::string>& inputs = {});
  ~SdfWriter();
  SdfWriter(const SdfWriter&) = delete;
  SdfWriter& operator=(const SdfWriter&) = delete;

  void write(const RDKit::ROMol& mol, const std::string& name, const SdFields& fields = {},
             const std::string& where = {});
  void write_record(const std::string& record);  // a record from sdf_record(); InputError when the write fails
  // Commits the file (every write and the close checked: InputError "PATH: write failed: ..."), or, when it got
  // no record, leaves none (no empty SD file). Returns the number of records written.
  int finish();
  int records_written() const { return count_; }

 private:
  OutputFile out_;
  bool finished_ = false;
  int count_ = 0;
};

}  // namespace bmx::mol3d

// Molecules in: a streaming reader over many files (SDF, MOL V2000/V3000, MOL2, XYZ and whatever else Open
// Babel reads) that hands out one record at a time with a per-record error instead of throwing, so a batch
// with bad records reports each one and keeps every good one.
//
// Every record passes one set of checks, whatever its format (input_limits.h): its counts and bond atom indices
// agree with the record before RDKit parses it, it has at most max_atoms atoms, and its geometry is real (finite,
// within ±1e5 Å, no coincident atoms, no zero-length bond). A record that fails is refused with file, record and
// problem named.
// Every record that comes out without error is a sanitized RDKit molecule with one 3D conformer and every
// hydrogen explicit: hydrogens present in the file are kept as read; missing ones are added with 3D
// coordinates (RDKit MolOps::addHs, addCoords) and the record's notes say how many. Input with 2D
// coordinates only is refused per record (never passed on with z = 0).
#pragma once
#include <GraphMol/RWMol.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bmx/mol3d/input_limits.h"

namespace bmx::mol3d {

enum class MolFormat { sdf, mol2, xyz, other };

// Format from a file name, case-insensitive, ".gz" stripped: .sdf .sd .mol .mdl -> sdf, .mol2 -> mol2,
// .xyz -> xyz, anything else -> other (read by Open Babel if it knows the extension).
MolFormat format_from_path(const std::string& path);
// The extension that decides the format ("sdf", "mol2", "xyz", "pdb", ...), lower case, ".gz" stripped.
std::string format_extension(const std::string& path);

struct ReadOptions {
  // Format for "-" (stdin), or to override the extension: "sdf", "mol", "mol2", "xyz", or any Open Babel
  // format name. Empty: from the file name (stdin then defaults to sdf).
  std::string format;
  bool add_hydrogens = true;  // add missing H with 3D coordinates (off: leave the molecule as read)
  bool require_3d = true;     // refuse records whose coordinates are 2D only
  // Records with more atoms (hydrogens included, those added too) are refused before the parser allocates for
  // them (input_limits.h); <= 0: no limit.
  int max_atoms = kDefaultMaxAtoms;
};

// One molecule of one input file. Exactly one of `mol` and `error` is set.
struct MolRecord {
  std::string file;   // path as given ("-" for stdin)
  int index = 0;      // record number within the file, counting from 1
  std::string name;   // title line / MOL2 name / XYZ comment; "<file stem>#<index>" when the file has none
  std::unique_ptr<RDKit::RWMol> mol;
  std::string error;  // one line naming file, record and problem; empty when mol is set
  std::vector<std::string> notes;  // what the reader did to the molecule ("added 12 H", charges assigned)
  std::vector<std::pair<std::string, std::string>> fields;  // SD data fields in file order (SDF only)
  int hydrogens_added = 0;

  bool ok() const { return mol != nullptr; }
  // "file:record N" (plus " (name)" when named): the place used in messages.
  std::string where() const;
};

// Reads the files one after the other, one record at a time; memory stays that of one record. A file that
// cannot be opened or holds no molecule yields one record with an error. Not thread-safe (use one reader
// per thread, or read on one thread and hand the records out).
class MolReader {
 public:
  explicit MolReader(std::vector<std::string> paths, ReadOptions options = {});
  ~MolReader();
  MolReader(const MolReader&) = delete;
  MolReader& operator=(const MolReader&) = delete;

  // Fills `record` with the next record; false when every file is done.
  bool next(MolRecord& record);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Every record of one file (convenience for small inputs and tests).
std::vector<MolRecord> read_molecules(const std::string& path, const ReadOptions& options = {});

// One molecule from an MDL molblock held in memory (sanitized, H kept, no H added, no 2D check); throws
// InputError naming `where` on failure.
std::unique_ptr<RDKit::RWMol> mol_from_molblock(const std::string& molblock, const std::string& where);

// The checks and completion every record gets, whatever its format (MolReader runs them on each record; the
// Python module on molecules held in memory, so that they are accepted or refused as a file's record): atoms,
// coordinates, atom count, geometry, 3D (`flagged_2d`: the record says its coordinates are 2D), missing
// hydrogens added with 3D coordinates. Returns the problem ("" when `mol` passes); `record` gets
// hydrogens_added and notes.
std::string complete_molecule(RDKit::RWMol& mol, bool flagged_2d, const ReadOptions& options, MolRecord& record);

// Turns RDKit's own log output (parse warnings, sanitization messages, force-field typer warnings) off for
// the whole process. Programs call it once at start: bmx reports each problem itself, as one line naming
// file and record. Not called by the libraries (global state; they may run on many threads).
void silence_rdkit_logs();

}  // namespace bmx::mol3d

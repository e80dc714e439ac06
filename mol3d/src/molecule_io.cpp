#include "bmx/mol3d/molecule_io.h"

#include <GraphMol/FileParsers/FileParsers.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/PeriodicTable.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <RDGeneral/Invariant.h>
#include <RDGeneral/RDLog.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <new>
#include <optional>
#include <regex>
#include <sstream>

#include "bmx/core/util/error.h"
#include "line_source.h"
#include "openbabel_bridge.h"

namespace bmx::mol3d {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  std::size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

bool blank(const std::string& s) { return s.find_first_not_of(" \t\r") == std::string::npos; }

// Coordinates within this of z = 0 count as flat (files write 4 decimals).
constexpr double kFlatZ = 1e-4;

}  // namespace

std::string format_extension(const std::string& path) {
  std::string name = lower(std::filesystem::path(path).filename().string());
  if (name.size() > 3 && name.compare(name.size() - 3, 3, ".gz") == 0) name.resize(name.size() - 3);
  auto dot = name.rfind('.');
  return dot == std::string::npos ? std::string() : name.substr(dot + 1);
}

static MolFormat format_from_name(const std::string& ext) {
  if (ext == "sdf" || ext == "sd" || ext == "mol" || ext == "mdl" || ext == "mdf") return MolFormat::sdf;
  if (ext == "mol2" || ext == "ml2") return MolFormat::mol2;
  if (ext == "xyz") return MolFormat::xyz;
  return MolFormat::other;
}

MolFormat format_from_path(const std::string& path) { return format_from_name(format_extension(path)); }

std::string MolRecord::where() const {
  std::string w = file == "-" ? std::string("<stdin>") : file;
  if (index > 0) w += ":record " + std::to_string(index);
  if (!name.empty()) w += " (" + name + ")";
  return w;
}

std::unique_ptr<RDKit::RWMol> mol_from_molblock(const std::string& molblock, const std::string& where) {
  std::unique_ptr<RDKit::RWMol> mol;
  try {
    mol.reset(RDKit::MolBlockToMol(molblock, /*sanitize=*/true, /*removeHs=*/false, /*strictParsing=*/true));
  } catch (const Invar::Invariant&) {
    // An RDKit invariant names RDKit's own code (e.g. "bond_pin->getEndAtomIdx()"), not the input's problem.
    fail_input(where, "malformed molblock: its atom, bond or property lines contradict each other");
  } catch (const std::bad_alloc&) {
    fail_input(where, "malformed molblock: its counts ask for more memory than there is");
  } catch (const std::exception& e) {
    fail_input(where, trim(e.what()));
  }
  if (!mol) fail_input(where, "no molecule in the molblock");
  return mol;
}

namespace {

// A record as cut out of its file, before RDKit sees it.
struct RawRecord {
  std::string title;
  std::unique_ptr<RDKit::RWMol> mol;
  bool says_2d = false;  // the file itself flags the coordinates 2D (MDL header line)
  std::string error;
};

// ---- SDF / MOL -------------------------------------------------------------------------------------
// A whole number in `text` (blanks around it allowed), or -1.
long long whole_number(const std::string& text) {
  const std::string t = trim(text);
  if (t.empty() || t.size() > 18 || t.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoll(t);
}

// The counts and bond atom indices of a molblock (lines[0..end) before "M  END") checked against the record
// before RDKit sees them: counts larger than the record can hold (RDKit would allocate them: bad_alloc), more
// atoms than max_atoms, and bonds to atoms the record does not have (an RDKit invariant). "" when they agree;
// what RDKit checks well itself (a malformed line) is left to it.
std::string molblock_counts_problem(const std::vector<std::string>& lines, std::size_t end, int max_atoms) {
  if (end < 4 || lines[3].size() < 6) return {};
  const std::string& counts = lines[3];
  const long long body = static_cast<long long>(end) - 4;  // lines between the counts line and M  END
  if (counts.find("V3000") == std::string::npos) {
    const long long atoms = whole_number(counts.substr(0, 3)), bonds = whole_number(counts.substr(3, 3));
    if (atoms < 0 || bonds < 0) return {};
    std::string p = atom_count_problem(std::size_t(atoms), max_atoms);
    if (!p.empty()) return p;
    if (atoms + bonds > body)
      return "counts line says " + std::to_string(atoms) + " atoms and " + std::to_string(bonds) +
             " bonds, but the record has " + std::to_string(body) + " lines for them before 'M  END'";
    for (long long b = 0; b < bonds; ++b) {
      const std::string& l = lines[std::size_t(4 + atoms + b)];
      if (l.size() < 6) continue;
      const long long a1 = whole_number(l.substr(0, 3)), a2 = whole_number(l.substr(3, 3));
      for (long long a : {a1, a2})
        if (a == 0 || a > atoms)
          return "bond " + std::to_string(b + 1) + " joins atom " + std::to_string(a) + ", but the record has " +
                 std::to_string(atoms) + " atoms";
    }
    return {};
  }
  long long atoms = -1;
  bool in_bonds = false, continued = false;
  for (std::size_t i = 4; i < end; ++i) {
    const std::string& l = lines[i];
    const bool this_continued = continued;
    continued = !l.empty() && trim(l).back() == '-';
    if (l.compare(0, 7, "M  V30 ") != 0 || this_continued) continue;
    std::istringstream in(l.substr(7));
    std::string word;
    in >> word;
    if (word == "COUNTS") {
      std::string na, nb;
      in >> na >> nb;
      atoms = whole_number(na);
      const long long bonds = whole_number(nb);
      if (atoms < 0 || bonds < 0) return {};
      std::string p = atom_count_problem(std::size_t(atoms), max_atoms);
      if (!p.empty()) return p;
      if (atoms + bonds > body)
        return "COUNTS line says " + std::to_string(atoms) + " atoms and " + std::to_string(bonds) +
               " bonds, but the record has " + std::to_string(body) + " lines for them before 'M  END'";
    } else if (word == "BEGIN" || word == "END") {
      std::string what;
      in >> what;
      if (what == "BOND") in_bonds = word == "BEGIN";
    } else if (in_bonds && atoms >= 0) {
      std::string type, a1, a2;
      in >> type >> a1 >> a2;
      for (const std::string* a : {&a1, &a2}) {
        const long long k = whole_number(*a);
        if (k == 0 || k > atoms)
          return "bond " + word + " joins atom " + *a + ", but the record has " + std::to_string(atoms) + " atoms";
      }
    }
  }
  return {};
}

// Returns false at the end of the file (no more non-blank lines).
bool next_sdf(LineSource& in, MolRecord& rec, RawRecord& raw, bool& stop, int max_atoms) {
  std::vector<std::string> lines;
  std::string line;
  bool terminated = false;
  while (in.next(line)) {
    if (line.compare(0, 4, "$$$$") == 0) {
      terminated = true;
      break;
    }
    lines.push_back(line);
  }
  if (!terminated) {
    while (!lines.empty() && blank(lines.back())) lines.pop_back();
    if (lines.empty()) return false;
    stop = true;
  }
  std::size_t end = 0;
  while (end < lines.size() && lines[end].compare(0, 6, "M  END") != 0) ++end;
  raw.title = lines.empty() ? std::string() : trim(lines[0]);
  rec.name = raw.title;
  if (lines.size() >= 2 && lines[1].size() >= 22) raw.says_2d = lines[1].compare(20, 2, "2D") == 0;
  if (end == lines.size()) {
    raw.error = terminated ? "no 'M  END' line before '$$$$'" : "record truncated: the file ends before 'M  END'";
    return true;
  }
  raw.error = molblock_counts_problem(lines, end, max_atoms);
  if (!raw.error.empty()) return true;
  std::string block;
  for (std::size_t i = 0; i <= end; ++i) block += lines[i] + "\n";
  // Data items: "> <NAME> ..." then value lines up to a blank line.
  for (std::size_t i = end + 1; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (l.empty() || l[0] != '>') continue;
    auto a = l.find('<'), b = l.find('>', a == std::string::npos ? 1 : a);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string key = l.substr(a + 1, b - a - 1), value;
    std::size_t j = i + 1;
    for (; j < lines.size() && !lines[j].empty(); ++j) value += (value.empty() ? "" : "\n") + lines[j];
    rec.fields.emplace_back(key, value);
    i = j;
  }
  try {
    raw.mol = mol_from_molblock(block, "");
  } catch (const std::exception& e) {
    raw.error = e.what();
  }
  return true;
}

// ---- MOL2 ------------------------------------------------------------------------------------------
bool next_mol2(LineSource& in, MolRecord& rec, RawRecord& raw, bool& any_header, int max_atoms) {
  std::string line;
  bool found = false;
  while (in.next(line))
    if (line.compare(0, 17, "@<TRIPOS>MOLECULE") == 0) {
      found = true;
      break;
    }
  if (!found) return false;
  any_header = true;
  std::string block = line + "\n", counts;
  int n = 0;
  long long lines_in_block = 0;
  while (in.next(line)) {
    if (line.compare(0, 17, "@<TRIPOS>MOLECULE") == 0) {
      in.unread(line);
      break;
    }
    if (!line.empty() && line[0] == '#') continue;  // comments (often the next record's header)
    if (n == 0) raw.title = trim(line);
    if (n == 1) counts = line;
    ++n;
    ++lines_in_block;
    block += line + "\n";
  }
  rec.name = raw.title;
  // The counts line, checked before a parser allocates for it: "num_atoms [num_bonds ...]".
  {
    std::istringstream cs(counts);
    std::string first;
    cs >> first;
    const long long atoms = whole_number(first);
    if (atoms > 0) {
      raw.error = atom_count_problem(std::size_t(atoms), max_atoms);
      if (raw.error.empty() && atoms > lines_in_block)
        raw.error = "MOLECULE counts say " + std::to_string(atoms) + " atoms, but the record has " +
                    std::to_string(lines_in_block) + " lines";
      if (!raw.error.empty()) return true;
    }
  }
  std::string rdkit_error;
  {
    try {
      raw.mol.reset(RDKit::Mol2BlockToMol(block, /*sanitize=*/true, /*removeHs=*/false));
    } catch (const std::exception& e) {
      rdkit_error = trim(e.what());
    }
  }
  if (raw.mol && raw.mol->getNumAtoms() > 0) return true;
  raw.mol.reset();
  if (rdkit_error.empty()) rdkit_error = "RDKit found no molecule";
  // RDKit's MOL2 reader is strict about atom types; Open Babel reads more of what is found in the wild.
  std::string ob_error;
  std::string molblock = openbabel_to_molblock(block, "mol2", ob_error);
  if (molblock.empty()) {
    raw.error = "unreadable MOL2 record (" + rdkit_error + "; Open Babel: " + ob_error + ")";
    return true;
  }
  try {
    raw.mol = mol_from_molblock(molblock, "");
    rec.notes.push_back("read by Open Babel (RDKit: " + rdkit_error + ")");
  } catch (const std::exception& e) {
    raw.error = "unreadable MOL2 record (" + rdkit_error + "; via Open Babel: " + e.what() + ")";
  }
  return true;
}

// ---- XYZ -------------------------------------------------------------------------------------------
int element_number(const std::string& token) {
  std::string sym;
  for (char c : token) {
    if (!std::isalpha(static_cast<unsigned char>(c))) break;
    sym += sym.empty() ? static_cast<char>(std::toupper(c)) : static_cast<char>(std::tolower(c));
  }
  if (sym.empty()) {
    try {
      std::size_t used = 0;
      int z = std::stoi(token, &used);
      return used == token.size() && z >= 1 && z <= 118 ? z : -1;
    } catch (...) {
      return -1;
    }
  }
  try {
    int z = RDKit::PeriodicTable::getTable()->getAtomicNumber(sym);
    return z >= 1 ? z : -1;
  } catch (...) {
    return -1;
  }
}

// Total charge stated on an XYZ comment line: "charge=-1" / "charge -1" / "q=+1", or a SMILES whose heavy
// atoms match the coordinates (the RDKit DetermineBonds test files write the SMILES there).
std::optional<int> charge_from_comment(const std::string& comment, int heavy_atoms) {
  static const std::regex kv(R"((?:^|[\s,;])(?:charge|chrg|q)\s*[=:]?\s*([+-]?\d+)\b)", std::regex::icase);
  std::smatch m;
  if (std::regex_search(comment, m, kv)) return std::stoi(m[1]);
  std::string t = trim(comment);
  if (t.empty() || t.find_first_of(" \t") != std::string::npos) return std::nullopt;
  if (t.find_first_of("+-") == std::string::npos && t.find_first_of("=#()[]") == std::string::npos)
    return std::nullopt;  // a plain word is a name, not a SMILES worth trying
  std::unique_ptr<RDKit::RWMol> smi;
  try {
    smi.reset(RDKit::SmilesToMol(t, 0, /*sanitize=*/false));
  } catch (...) {
    return std::nullopt;
  }
  if (!smi) return std::nullopt;
  int heavy = 0, charge = 0;
  for (const auto* a : smi->atoms()) {
    if (a->getAtomicNum() > 1) ++heavy;
    charge += a->getFormalCharge();
  }
  if (heavy != heavy_atoms) return std::nullopt;
  return charge;
}

bool next_xyz(LineSource& in, MolRecord& rec, RawRecord& raw, bool& stop, int max_atoms) {
  std::string line;
  do {
    if (!in.next(line)) return false;
  } while (blank(line));
  std::string count_text = trim(line);
  long count = -1;
  try {
    std::size_t used = 0;
    count = std::stol(count_text, &used);
    if (used != count_text.size()) count = -1;
  } catch (...) {
  }
  if (count < 0) {
    raw.error = "line " + std::to_string(in.line_number()) + ": atom count expected, found '" + count_text + "'";
    stop = true;
    return true;
  }
  std::string comment;
  if (!in.next(comment)) {
    raw.error = "record truncated: no comment line after the atom count";
    stop = true;
    return true;
  }
  raw.title = trim(comment);
  rec.name = raw.title;
  raw.error = atom_count_problem(std::size_t(count), max_atoms);
  if (!raw.error.empty()) {
    for (long i = 0; i < count; ++i)  // skipped, so that the next record can be read
      if (!in.next(line)) {
        stop = true;
        break;
      }
    return true;
  }
  BareAtoms atoms;
  for (long i = 0; i < count; ++i) {
    if (!in.next(line) || blank(line)) {
      raw.error = "header says " + std::to_string(count) + " atoms, " + std::to_string(i) + " given";
      stop = true;
      return true;
    }
    std::istringstream ss(line);
    std::string el;
    double x, y, z;
    if (!(ss >> el >> x >> y >> z)) {
      raw.error = "line " + std::to_string(in.line_number()) + ": 'element x y z' expected, found '" + trim(line) + "'";
      stop = true;
      return true;
    }
    int zn = element_number(el);
    if (zn < 0) {
      raw.error = "line " + std::to_string(in.line_number()) + ": unknown element '" + el + "'";
      // The rest of the record is still consumed, so the next record can be read.
      for (long j = i + 1; j < count; ++j)
        if (!in.next(line)) break;
      return true;
    }
    atoms.atomic_numbers.push_back(zn);
    atoms.positions.emplace_back(x, y, z);
  }
  if (count == 0) {
    raw.error = "no atoms";
    return true;
  }
  // Bond perception on coincident or absurd positions would bond everything to everything: the geometry is
  // checked first, as for every other format (finish()).
  if (std::string p = geometry_problem(atoms.positions); !p.empty()) {
    raw.error = "degenerate geometry: " + p;
    return true;
  }
  int heavy = 0;
  for (int z : atoms.atomic_numbers) heavy += z > 1;
  try {
    raw.mol = perceive_bonds(atoms, charge_from_comment(comment, heavy), "", rec.notes);
  } catch (const std::exception& e) {
    raw.error = e.what();
  }
  return true;
}

// Open Babel perceives bonds from distances, so atoms at one point come back bonded to each other and RDKit's
// sanitization refuses the valences: the geometry is checked on the unsanitized molblock first, so that the
// message says what is wrong.
std::string unsanitized_geometry_problem(const std::string& molblock) {
  std::unique_ptr<RDKit::RWMol> m;
  try {
    m.reset(RDKit::MolBlockToMol(molblock, /*sanitize=*/false, /*removeHs=*/false, /*strictParsing=*/false));
  } catch (...) {
    return {};  // mol_from_molblock says what is wrong
  }
  if (!m || m->getNumConformers() == 0) return {};
  const std::string p = geometry_problem(m->getConformer().getPositions());
  return p.empty() ? p : "degenerate geometry: " + p;
}

}  // namespace

// ---- the reader ------------------------------------------------------------------------------------
struct MolReader::Impl {
  std::vector<std::string> paths;
  ReadOptions options;
  std::size_t next_path = 0;

  // The open file.
  std::string path;
  std::string format;  // extension-like name: sdf, mol2, xyz, or an Open Babel format
  MolFormat kind = MolFormat::other;
  std::unique_ptr<LineSource> lines;
  std::unique_ptr<std::ifstream> ob_file;
  std::unique_ptr<OpenBabelRecords> ob;
  bool open = false, stop = false, mol2_header = false;
  int index = 0;

  bool open_next(MolRecord& rec);
  bool read(MolRecord& rec);
  void finish(MolRecord& rec, RawRecord& raw);
  void close() {
    lines.reset();
    ob.reset();
    ob_file.reset();
    open = false;
  }
};

MolReader::MolReader(std::vector<std::string> paths, ReadOptions options) : impl_(new Impl) {
  impl_->paths = std::move(paths);
  impl_->options = std::move(options);
}

MolReader::~MolReader() = default;

static void reset(MolRecord& rec, const std::string& file, int index) {
  rec.file = file;
  rec.index = index;
  rec.name.clear();
  rec.mol.reset();
  rec.error.clear();
  rec.notes.clear();
  rec.fields.clear();
  rec.hydrogens_added = 0;
}

// Opens the next file; false with `rec` filled when the file cannot be read at all.
bool MolReader::Impl::open_next(MolRecord& rec) {
  path = paths[next_path++];
  index = 0;
  stop = false;
  mol2_header = false;
  format = lower(options.format);
  if (format.empty()) format = path == "-" ? "sdf" : format_extension(path);
  if (format == "mol" || format == "sd" || format == "mdl") format = "sdf";
  kind = format_from_name(format);
  try {
    if (kind != MolFormat::other) {
      lines = std::make_unique<LineSource>(path);
    } else {
      if (format.empty()) fail_input(path, "unknown file format (no extension; give the format)");
      if (!openbabel_reads(format)) fail_input(path, "unknown file format '" + format + "'");
      std::istream* in = &std::cin;
      if (path != "-") {
        ob_file = std::make_unique<std::ifstream>(path, std::ios::binary);
        if (!*ob_file) fail_input(path, "cannot open");
        in = ob_file.get();
      }
      ob = std::make_unique<OpenBabelRecords>(*in, format);
    }
  } catch (const std::exception& e) {
    reset(rec, path, 0);
    rec.error = e.what();  // already "path: problem"
    close();
    return false;
  }
  open = true;
  return true;
}

bool MolReader::next(MolRecord& rec) {
  for (;;) {
    if (!impl_->open) {
      if (impl_->next_path >= impl_->paths.size()) return false;
      if (!impl_->open_next(rec)) return true;
    }
    if (impl_->read(rec)) return true;
  }
}

// Reads the next record of the open file; false (file closed) when it has none left.
bool MolReader::Impl::read(MolRecord& rec) {
  if (stop) {
    close();
    return false;
  }
  reset(rec, path, index + 1);
  RawRecord raw;
  bool got = false;
  try {
    switch (kind) {
      case MolFormat::sdf: got = next_sdf(*lines, rec, raw, stop, options.max_atoms); break;
      case MolFormat::mol2: got = next_mol2(*lines, rec, raw, mol2_header, options.max_atoms); break;
      case MolFormat::xyz: got = next_xyz(*lines, rec, raw, stop, options.max_atoms); break;
      case MolFormat::other: {
        std::string molblock, error;
        int natoms = 0;
        got = ob->next(molblock, raw.title, natoms, error);
        if (got) {
          rec.name = trim(raw.title);
          if (!error.empty()) raw.error = error;
          else if (natoms == 0) raw.error = "no atoms";
          else if (!(raw.error = atom_count_problem(std::size_t(natoms), options.max_atoms)).empty()) {}
          else if (!(raw.error = unsanitized_geometry_problem(molblock)).empty()) {}
          else raw.mol = mol_from_molblock(molblock, "");
          if (raw.mol) rec.notes.push_back("read by Open Babel");
        }
        break;
      }
    }
  } catch (const std::bad_alloc&) {
    got = true;
    raw.error = "the record asks for more memory than there is (counts or sizes out of range)";
    stop = true;
  } catch (const std::exception& e) {
    got = true;
    raw.error = e.what();
    stop = true;
  }
  if (!got) {
    bool empty = index == 0;
    close();
    if (!empty) return false;
    reset(rec, path, 0);
    rec.error = rec.where() + ": " +
                (kind == MolFormat::mol2 && !mol2_header ? "no @<TRIPOS>MOLECULE record (empty or not MOL2)"
                                                          : "no molecule in the file (empty)");
    return true;
  }
  ++index;
  finish(rec, raw);
  return true;
}

std::string complete_molecule(RDKit::RWMol& mol, bool flagged_2d, const ReadOptions& options, MolRecord& rec) {
  if (mol.getNumAtoms() == 0) return "no atoms";
  if (mol.getNumConformers() == 0) return "no coordinates";
  // One geometry check for every format (input_limits.h): before the 2D check, so that atoms all at one point
  // are called what they are.
  const std::string size = atom_count_problem(mol.getNumAtoms(), options.max_atoms);
  if (!size.empty()) return size;
  const std::string geometry = geometry_problem(mol);
  if (!geometry.empty()) return "degenerate geometry: " + geometry;
  RDKit::Conformer& conf = mol.getConformer();
  bool flat = true;
  for (const auto& p : conf.getPositions())
    if (std::abs(p.z) > kFlatZ) flat = false;
  // Up to three atoms always lie in a plane, so their x, y are a whole geometry, even in a file flagged 2D (bmx
  // writes flat molecules so, as RDKit expects of z = 0).
  if (options.require_3d && flat && mol.getNumAtoms() >= 4)
    return std::string("2D coordinates only (") + (flagged_2d ? "flagged 2D, " : "") +
           "every z = 0): 3D coordinates are required";
  if (flat && flagged_2d && mol.getNumAtoms() < 4) rec.notes.push_back("flagged 2D; up to 3 atoms are planar, read as 3D");
  conf.set3D(true);
  if (options.add_hydrogens) {
    int missing = 0;
    for (const auto* a : mol.atoms()) missing += static_cast<int>(a->getTotalNumHs(false));
    if (missing > 0) {
      try {
        RDKit::MolOps::addHs(mol, /*explicitOnly=*/false, /*addCoords=*/true);
      } catch (const std::exception& e) {
        return std::string("adding hydrogens failed: ") + e.what();
      }
      rec.hydrogens_added = missing;
      rec.notes.push_back("added " + std::to_string(missing) + " H");
      const std::string with_h = atom_count_problem(mol.getNumAtoms(), options.max_atoms);
      if (!with_h.empty()) return with_h + " with the " + std::to_string(missing) + " hydrogens added";
    }
  }
  return {};
}

// Checks shared by every format (complete_molecule), the record's name.
void MolReader::Impl::finish(MolRecord& rec, RawRecord& raw) {
  auto fail = [&](const std::string& problem) {
    rec.mol.reset();
    rec.error = rec.where() + ": " + problem;
    // stdin has no name to tell the format by: a first record that is not SDF is most likely another format.
    if (path == "-" && options.format.empty() && rec.index == 1 && kind == MolFormat::sdf)
      rec.error += " (stdin is read as SDF; -f sets the format, e.g. -f xyz)";
  };
  if (!raw.error.empty()) return fail(raw.error);
  if (!raw.mol) return fail("no atoms");
  if (std::string problem = complete_molecule(*raw.mol, raw.says_2d, options, rec); !problem.empty())
    return fail(problem);
  RDKit::RWMol& mol = *raw.mol;
  if (rec.name.empty())
    rec.name = (path == "-" ? std::string("stdin") : std::filesystem::path(path).stem().string()) + "#" +
               std::to_string(rec.index);
  mol.setProp(RDKit::common_properties::_Name, rec.name);
  rec.mol = std::move(raw.mol);
}

void silence_rdkit_logs() { boost::logging::disable_logs("rdApp.*"); }

std::vector<MolRecord> read_molecules(const std::string& path, const ReadOptions& options) {
  MolReader reader({path}, options);
  std::vector<MolRecord> out;
  MolRecord rec;
  while (reader.next(rec)) out.push_back(std::move(rec));
  return out;
}

}  // namespace bmx::mol3d

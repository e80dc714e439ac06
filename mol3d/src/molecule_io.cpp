#include "bmx/mol3d/molecule_io.h"

#include <GraphMol/FileParsers/FileParsers.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/PeriodicTable.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <RDGeneral/RDLog.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
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
// Returns false at the end of the file (no more non-blank lines).
bool next_sdf(LineSource& in, MolRecord& rec, RawRecord& raw, bool& stop) {
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
bool next_mol2(LineSource& in, MolRecord& rec, RawRecord& raw, bool& any_header) {
  std::string line;
  bool found = false;
  while (in.next(line))
    if (line.compare(0, 17, "@<TRIPOS>MOLECULE") == 0) {
      found = true;
      break;
    }
  if (!found) return false;
  any_header = true;
  std::string block = line + "\n";
  int n = 0;
  while (in.next(line)) {
    if (line.compare(0, 17, "@<TRIPOS>MOLECULE") == 0) {
      in.unread(line);
      break;
    }
    if (!line.empty() && line[0] == '#') continue;  // comments (often the next record's header)
    if (n++ == 0) raw.title = trim(line);
    block += line + "\n";
  }
  rec.name = raw.title;
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

bool next_xyz(LineSource& in, MolRecord& rec, RawRecord& raw, bool& stop) {
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
  int heavy = 0;
  for (int z : atoms.atomic_numbers) heavy += z > 1;
  try {
    raw.mol = perceive_bonds(atoms, charge_from_comment(comment, heavy), "", rec.notes);
  } catch (const std::exception& e) {
    raw.error = e.what();
  }
  return true;
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
      case MolFormat::sdf: got = next_sdf(*lines, rec, raw, stop); break;
      case MolFormat::mol2: got = next_mol2(*lines, rec, raw, mol2_header); break;
      case MolFormat::xyz: got = next_xyz(*lines, rec, raw, stop); break;
      case MolFormat::other: {
        std::string molblock, error;
        int natoms = 0;
        got = ob->next(molblock, raw.title, natoms, error);
        if (got) {
          rec.name = trim(raw.title);
          if (!error.empty()) raw.error = error;
          else if (natoms == 0) raw.error = "no atoms";
          else raw.mol = mol_from_molblock(molblock, "");
          if (raw.mol) rec.notes.push_back("read by Open Babel");
        }
        break;
      }
    }
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

// Checks shared by every format: atoms present, 3D coordinates, hydrogens complete.
void MolReader::Impl::finish(MolRecord& rec, RawRecord& raw) {
  auto fail = [&](const std::string& problem) {
    rec.mol.reset();
    rec.error = rec.where() + ": " + problem;
    // stdin has no name to tell the format by: a first record that is not SDF is most likely another format.
    if (path == "-" && options.format.empty() && rec.index == 1 && kind == MolFormat::sdf)
      rec.error += " (stdin is read as SDF; -f sets the format, e.g. -f xyz)";
  };
  if (!raw.error.empty()) return fail(raw.error);
  if (!raw.mol || raw.mol->getNumAtoms() == 0) return fail("no atoms");
  RDKit::RWMol& mol = *raw.mol;
  if (mol.getNumConformers() == 0) return fail("no coordinates");
  RDKit::Conformer& conf = mol.getConformer();
  bool flat = true;
  for (const auto& p : conf.getPositions()) {
    if (!std::isfinite(p.x) || !std::isfinite(p.y) || !std::isfinite(p.z)) return fail("non-finite coordinates");
    if (std::abs(p.z) > kFlatZ) flat = false;
  }
  // Up to three atoms always lie in a plane, so their x, y are a whole geometry, even in a file flagged 2D (bmx
  // writes flat molecules so, as RDKit expects of z = 0).
  if (options.require_3d && flat && mol.getNumAtoms() >= 4)
    return fail(std::string("2D coordinates only (") + (raw.says_2d ? "flagged 2D, " : "") +
                "every z = 0): 3D coordinates are required");
  if (flat && raw.says_2d && mol.getNumAtoms() < 4) rec.notes.push_back("flagged 2D; up to 3 atoms are planar, read as 3D");
  conf.set3D(true);
  if (options.add_hydrogens) {
    int missing = 0;
    for (const auto* a : mol.atoms()) missing += static_cast<int>(a->getTotalNumHs(false));
    if (missing > 0) {
      try {
        RDKit::MolOps::addHs(mol, /*explicitOnly=*/false, /*addCoords=*/true);
      } catch (const std::exception& e) {
        return fail(std::string("adding hydrogens failed: ") + e.what());
      }
      rec.hydrogens_added = missing;
      rec.notes.push_back("added " + std::to_string(missing) + " H");
    }
  }
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

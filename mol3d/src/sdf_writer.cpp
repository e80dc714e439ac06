#include "bmx/mol3d/sdf_writer.h"

#include <GraphMol/FileParsers/FileParsers.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/RWMol.h>
#include <RDGeneral/RDLog.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>
#include <cstdlib>

#include "bmx/core/util/error.h"

namespace bmx::mol3d {
namespace {

// SD titles and field lines are single lines; a blank line would end a data item early.
std::string one_line(std::string s) {
  for (auto& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return s;
}

std::string field_value(const std::string& v) {
  std::string out;
  std::size_t start = 0;
  while (start <= v.size()) {
    std::size_t nl = v.find('\n', start);
    std::string line = v.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) line = " ";  // keeps multi-line values inside their data item
    out += line + "\n";
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

// RDKit writes bond stereo 3 ("either") on every open-chain double bond it has no E/Z for, including those
// whose substituents make E/Z meaningless (=CH2). The coordinates we write decide the geometry, so "either"
// is kept only where the molecule says STEREOANY explicitly.
void drop_either_double_bonds(std::string& block, const RDKit::ROMol& mol) {
  std::vector<std::size_t> starts{0};
  for (std::size_t i = 0; i < block.size(); ++i)
    if (block[i] == '\n' && i + 1 < block.size()) starts.push_back(i + 1);
  if (starts.size() < 4) return;
  const std::string counts = block.substr(starts[3], 40);
  if (counts.find("V3000") != std::string::npos) {
    // "M  V30 idx type a1 a2 CFG=2": CFG=2 on a double bond is "either".
    for (std::size_t s : starts) {
      if (block.compare(s, 7, "M  V30 ") != 0) continue;
      std::size_t e = block.find('\n', s);
      std::string line = block.substr(s, e - s);
      std::istringstream in(line.substr(7));
      int idx = 0, type = 0;
      if (!(in >> idx >> type) || type != 2) continue;
      if (line.find("CFG=2") == std::string::npos || idx < 1 || idx > int(mol.getNumBonds())) continue;
      if (mol.getBondWithIdx(idx - 1)->getStereo() == RDKit::Bond::STEREOANY) continue;
      std::size_t at = block.find(" CFG=2", s);
      if (at != std::string::npos && at < e) block.erase(at, 6);
    }
    return;
  }
  const int natoms = std::atoi(counts.substr(0, 3).c_str()), nbonds = std::atoi(counts.substr(3, 3).c_str());
  for (int b = 0; b < nbonds && 4 + natoms + b < int(starts.size()); ++b) {
    std::size_t s = starts[4 + natoms + b];
    if (block.size() < s + 12 || std::atoi(block.substr(s + 6, 3).c_str()) != 2) continue;
    if (std::atoi(block.substr(s + 9, 3).c_str()) != 3) continue;
    if (b < int(mol.getNumBonds()) && mol.getBondWithIdx(b)->getStereo() == RDKit::Bond::STEREOANY) continue;
    block.replace(s + 9, 3, "  0");
  }
}

}  // namespace

bool fits_v2000(const RDKit::ROMol& mol, int conf_id) {
  if (mol.getNumAtoms() > 999 || mol.getNumBonds() > 999) return false;
  if (mol.getNumConformers() == 0) return true;
  // %10.4f: ten columns, so -9999.9999 is the most negative value and 99999.9999 the largest.
  for (const auto& p : mol.getConformer(conf_id).getPositions())
    for (double v : {p.x, p.y, p.z})
      if (!(v > -9999.99995 && v < 99999.99995)) return false;
  return true;
}

std::string sdf_record(const RDKit::ROMol& mol, const std::string& name, const SdFields& fields,
                       const std::string& where, int conf_id, bool three_d) {
  if (mol.getNumConformers() == 0) fail_input(where, "molecule has no coordinates to write");
  const RDKit::Conformer& conf = mol.getConformer(conf_id);
  for (unsigned i = 0; i < mol.getNumAtoms(); ++i) {
    const auto& p = conf.getAtomPos(i);
    if (!std::isfinite(p.x) || !std::isfinite(p.y) || !std::isfinite(p.z))
      fail_input(where, "atom " + std::to_string(i + 1) + " has non-finite coordinates; not written");
  }
  // Write a copy holding only this conformer, flagged as asked (the decoder's conformer may carry a 2D flag),
  // with E/Z and R/S taken from the coordinates. A conformer whose z are all 0 (decoded water, ethane without
  // H) is flagged 2D, as RDKit expects of flat coordinates.
  RDKit::RWMol copy(mol, /*quickCopy=*/false, conf_id);
  bool flat = true;
  for (unsigned i = 0; i < copy.getNumAtoms() && flat; ++i) flat = std::abs(copy.getConformer().getAtomPos(i).z) < 1e-4;
  copy.getConformer().set3D(true);
  if (three_d && copy.getNumAtoms() > 0) {
    try {
      copy.updatePropertyCache(false);
      RDKit::MolOps::assignStereochemistryFrom3D(copy, -1, /*replaceExistingTags=*/true);
    } catch (const std::exception&) {
      // a molecule RDKit cannot perceive stereo on is written with the tags it has
    }
  }
  copy.getConformer().set3D(three_d && !flat);
  std::string title = one_line(name.empty() ? (mol.hasProp(RDKit::common_properties::_Name)
                                                    ? mol.getProp<std::string>(RDKit::common_properties::_Name)
                                                    : std::string())
                                              : name);
  if (title.size() > 80) title.resize(80);
  copy.setProp(RDKit::common_properties::_Name, title);
  std::string block;
  try {
    const bool v3000 = !fits_v2000(copy);
    block = RDKit::MolToMolBlock(copy, /*includeStereo=*/true, -1, /*kekulize=*/true, v3000);
    if (three_d) drop_either_double_bonds(block, copy);
  } catch (const std::exception& e) {
    fail_input(where, std::string("cannot write molblock: ") + e.what());
  }
  for (const auto& [key, value] : fields) block += ">  <" + one_line(key) + ">\n" + field_value(value) + "\n";
  block += "$$$$\n";
  return block;
}

SdfWriter::SdfWriter(const std::string& path, const std::vector<std::string>& inputs) : out_(path, inputs) {}

SdfWriter::~SdfWriter() = default;  // without finish(): OutputFile leaves the old file (or none)

void SdfWriter::write(const RDKit::ROMol& mol, const std::string& name, const SdFields& fields,
                      const std::string& where) {
  write_record(sdf_record(mol, name, fields,
                          where.empty() ? out_.display_name() + ":record " + std::to_string(count_ + 1) : where));
}

void SdfWriter::write_record(const std::string& record) {
  if (finished_) fail_input(out_.display_name(), "write after finish()");
  std::ostream& os = out_.stream();
  os << record;
  if (!os) fail_input(out_.display_name(), "write failed");
  ++count_;
}

int SdfWriter::finish() {
  if (finished_) return count_;
  finished_ = true;
  if (count_ == 0) out_.discard();
  else out_.commit();
  return count_;
}

}  // namespace bmx::mol3d

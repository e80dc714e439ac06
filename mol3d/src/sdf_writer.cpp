#include "bmx/mol3d/sdf_writer.h"

#include <GraphMol/FileParsers/FileParsers.h>
#include <GraphMol/RWMol.h>
#include <RDGeneral/RDLog.h>

#include <cmath>
#include <fstream>
#include <iostream>

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

}  // namespace

std::string sdf_record(const RDKit::ROMol& mol, const std::string& name, const SdFields& fields,
                       const std::string& where, int conf_id, bool three_d) {
  if (mol.getNumConformers() == 0) fail_input(where, "molecule has no coordinates to write");
  const RDKit::Conformer& conf = mol.getConformer(conf_id);
  for (unsigned i = 0; i < mol.getNumAtoms(); ++i) {
    const auto& p = conf.getAtomPos(i);
    if (!std::isfinite(p.x) || !std::isfinite(p.y) || !std::isfinite(p.z))
      fail_input(where, "atom " + std::to_string(i + 1) + " has non-finite coordinates; not written");
  }
  // Write a copy holding only this conformer, flagged as asked (the decoder's conformer may carry a 2D flag).
  RDKit::RWMol copy(mol, /*quickCopy=*/false, conf_id);
  copy.getConformer().set3D(three_d);
  std::string title = one_line(name.empty() ? (mol.hasProp(RDKit::common_properties::_Name)
                                                    ? mol.getProp<std::string>(RDKit::common_properties::_Name)
                                                    : std::string())
                                              : name);
  if (title.size() > 80) title.resize(80);
  copy.setProp(RDKit::common_properties::_Name, title);
  std::string block;
  try {
    bool v3000 = copy.getNumAtoms() > 999 || copy.getNumBonds() > 999;
    block = RDKit::MolToMolBlock(copy, /*includeStereo=*/true, -1, /*kekulize=*/true, v3000);
  } catch (const std::exception& e) {
    fail_input(where, std::string("cannot write molblock: ") + e.what());
  }
  for (const auto& [key, value] : fields) block += ">  <" + one_line(key) + ">\n" + field_value(value) + "\n";
  block += "$$$$\n";
  return block;
}

SdfWriter::SdfWriter(const std::string& path) : path_(path) {
  if (path == "-") {
    out_ = &std::cout;
    return;
  }
  auto f = std::make_unique<std::ofstream>(path, std::ios::binary);
  if (!*f) fail_input(path, "cannot create the file");
  file_ = std::move(f);
  out_ = file_.get();
}

SdfWriter::~SdfWriter() {
  if (out_) out_->flush();
}

void SdfWriter::write(const RDKit::ROMol& mol, const std::string& name, const SdFields& fields,
                      const std::string& where) {
  write_record(sdf_record(mol, name, fields, where.empty() ? path_ + ":record " + std::to_string(count_ + 1) : where));
}

void SdfWriter::write_record(const std::string& record) {
  *out_ << record;
  if (!*out_) fail_input(path_, "write failed");
  ++count_;
}

void SdfWriter::flush() { out_->flush(); }

}  // namespace bmx::mol3d

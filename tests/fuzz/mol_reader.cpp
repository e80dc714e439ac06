// Molecule readers (SDF/MOL V2000/V3000, MOL2, XYZ): the format is sniffed from the input (a MOL2 record marker,
// an XYZ atom-count first line, else SD) so that plain files of every format seed it. The reader takes only paths:
// each input is written to a scratch file first. For SD text the in-memory molblock parser runs too.
#include <cctype>

#include "bmx/mol3d/molecule_io.h"
#include "fuzz_support.h"

namespace {
const char* extension_of(std::string_view text) {
  if (text.find("@<TRIPOS>") != std::string_view::npos) return ".mol2";
  size_t i = 0;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  const size_t digits = i;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r')) ++i;
  if (i > digits && (i == text.size() || text[i] == '\n')) return ".xyz";
  return ".sdf";
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  bmx::mol3d::silence_rdkit_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto text = bmx::fuzz::as_text(data, size);
  const std::string ext = extension_of(text);
  const std::string path = bmx::fuzz::scratch_file("input" + ext, text);
  bmx::fuzz::run_input([&] {
    bmx::mol3d::MolReader reader({path});
    bmx::mol3d::MolRecord record;
    int n = 0;
    while (reader.next(record) && ++n < 1000) {
      (void)record.where();
      if (record.ok()) {
        BMX_FUZZ_CHECK(record.error.empty());
        BMX_FUZZ_CHECK(record.mol->getNumConformers() == 1);
      } else {
        BMX_FUZZ_CHECK(!record.error.empty());
      }
    }
  });
  if (ext == ".sdf") bmx::fuzz::run_input([&] { (void)bmx::mol3d::mol_from_molblock(std::string(text), "fuzz"); });
  return 0;
}

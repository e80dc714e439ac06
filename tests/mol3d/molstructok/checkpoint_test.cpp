// Issue 17: a damaged MolStrucTok checkpoint (a model folder is untrusted input) is refused at load with the
// file and the tensor named, instead of giving every atom the same code. The damaged files are copies of the
// shipped checkpoint with bytes changed. (Shapes that do not match are refused by the loader's shape checks.)
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <functional>
#include <limits>

#include "bmx/core/io/torch_checkpoint.h"
#include "bmx/core/util/error.h"
#include "bmx/mol3d/molstructok.h"
#include "shared.h"

namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A copy of the shipped checkpoint with some bytes changed, under `name`. Its zip entries are stored
// uncompressed, so a tensor's values and the pickled sizes can be changed in place (same length).
std::string damaged(const std::string& name, const std::function<void(std::string&)>& edit) {
  std::string bytes = slurp(bmx::mol3d::default_checkpoint());
  edit(bytes);
  auto path = bmx::test::scratch_dir("molstructok_ckpt_" + name) / (name + ".bin");
  std::ofstream(path, std::ios::binary) << bytes;
  return path.string();
}

// Byte offset in the checkpoint of element `index` of tensor `key` (float32).
std::size_t element_offset(const std::string& bytes, const std::string& key, std::int64_t index) {
  bmx::TorchCheckpoint ck(bmx::mol3d::default_checkpoint());
  const bmx::PyValue* v = ck.root().get(key);
  REQUIRE(v);
  REQUIRE(v->tensor);
  // The local header of the zip entry <archive>/data/<storage key>: "PK\3\4", name length at +26, extra at +28.
  const std::string suffix = "/data/" + v->tensor->storage_key;
  for (std::size_t at = bytes.find(suffix); at != std::string::npos; at = bytes.find(suffix, at + 1)) {
    for (std::size_t name = at; name + 30 > at && name >= 30; --name) {
      const std::size_t h = name - 30;
      if (bytes.compare(h, 4, std::string("PK\x03\x04", 4)) != 0) continue;
      const std::size_t name_len = std::uint8_t(bytes[h + 26]) | std::uint8_t(bytes[h + 27]) << 8;
      const std::size_t extra = std::uint8_t(bytes[h + 28]) | std::uint8_t(bytes[h + 29]) << 8;
      if (name + name_len != at + suffix.size()) break;
      return name + name_len + extra + std::size_t(4 * (v->tensor->offset + index));
    }
  }
  FAIL("no zip entry for " << key);
  return 0;
}

void set_float(std::string& bytes, const std::string& key, std::int64_t index, float value) {
  std::memcpy(&bytes[element_offset(bytes, key, index)], &value, 4);
}

std::string load_error(const std::string& path) {
  try {
    bmx::mol3d::MolStrucTok model(path);
  } catch (const bmx::InputError& e) {
    return e.what();
  }
  return {};
}

}  // namespace

TEST_CASE("the checkpoint copied unchanged loads as the shipped one") {
  const std::string path = damaged("unchanged", [](std::string&) {});
  bmx::mol3d::MolStrucTok a(path), b;
  CHECK(a.codebook_size() == b.codebook_size());
  for (int code : {0, 17, 511}) CHECK(a.descriptor_of(code).distance == b.descriptor_of(code).distance);
}

TEST_CASE("NaN or inf weights are refused at load, naming the file and the tensor") {
  const std::string nan = damaged("nan", [](std::string& b) {
    set_float(b, "encoder.3.weight", 2 * 64 + 5, std::numeric_limits<float>::quiet_NaN());
  });
  std::string e = load_error(nan);
  CHECK(e.find(nan) != std::string::npos);
  CHECK(e.find("encoder.3.weight") != std::string::npos);
  CHECK(e.find("non-finite") != std::string::npos);
  const std::string inf = damaged("inf", [](std::string& b) {
    set_float(b, "quantizer.embedding.weight", 7 * 64, std::numeric_limits<float>::infinity());
  });
  e = load_error(inf);
  CHECK(e.find("quantizer.embedding.weight") != std::string::npos);
  CHECK(e.find("non-finite") != std::string::npos);
  // A decoder statistic that is finite but makes codes decode to NaN (a negative BatchNorm variance).
  const std::string var = damaged("variance", [](std::string& b) {
    for (int k = 0; k < 64; ++k) set_float(b, "multi_head_decoder.gen_len_branch.1.running_var", k, -4.0f);
  });
  e = load_error(var);
  CHECK(e.find(var) != std::string::npos);
  CHECK(e.find("non-finite") != std::string::npos);
}

TEST_CASE("an empty or one-row codebook is refused at load") {
  for (int rows : {0, 1}) {
    INFO(rows);
    // The pickled sizes (512, 64) of the codebook: BININT2 512 then BININT1 64, rewritten as (rows, 64).
    const std::string p = damaged("rows" + std::to_string(rows), [rows](std::string& b) {
      const std::string from("M\x00\x02K@", 5);
      std::size_t n = 0;
      for (std::size_t at = b.find(from); at != std::string::npos; at = b.find(from, at + 1), ++n)
        b[at + 1] = char(rows), b[at + 2] = 0;
      REQUIRE(n > 0);
    });
    const std::string e = load_error(p);
    CHECK(e.find(p) != std::string::npos);
    CHECK(e.find("quantizer.embedding.weight") != std::string::npos);
    CHECK(e.find("has " + std::to_string(rows) + " rows") != std::string::npos);
  }
}

// Issue 17, the protein side of hostile input: degenerate coordinates refused where structures are read, a .gz cut
// short refused by core's one gzip reader, PDB's fixed columns never overrun (refused, mmCIF read back by gemmi),
// output names and formats, token segments that are never closed, outputs that are inputs or cannot be written.
// gemmi before doctest: a header gemmi pulls in undefines CHECK.
#include <gemmi/mmread.hpp>
#include <doctest/doctest.h>
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "bmx/core/io/gzip_file.h"
#include "bmx/core/util/error.h"
#include "bmx/prot3d/read_token_records.h"
#include "bmx/prot3d/structure_reader.h"
#include "bmx/prot3d/structure_writer.h"
#include "bmx/prot3d/token_text.h"
#include "shared.h"

using namespace bmx::prot3d;
namespace fs = std::filesystem;

namespace {

std::string pdb_atom(int serial, const char* name, const char* res, char chain, int resno, double x, double y,
                     double z, const char* element) {
  char line[100];
  std::snprintf(line, sizeof line, "ATOM  %5d  %-3s %3s %c%4d    %8.3f%8.3f%8.3f  1.00  0.00          %2s\n", serial,
                name, res, chain, resno, x, y, z, element);
  return line;
}

// A 3-residue chain A; every atom at `at` when `collapsed`, else an extended backbone.
std::string small_pdb(bool collapsed, double at = 5.0) {
  std::string s;
  int serial = 0;
  for (int r = 1; r <= 3; ++r) {
    const double base = collapsed ? at : 3.8 * r;
    s += pdb_atom(++serial, "N", "ALA", 'A', r, base, collapsed ? at : 0.0, collapsed ? at : 0.0, "N");
    s += pdb_atom(++serial, "CA", "ALA", 'A', r, collapsed ? at : base + 1.45, collapsed ? at : 0.3, collapsed ? at : 0.0, "C");
    s += pdb_atom(++serial, "C", "ALA", 'A', r, collapsed ? at : base + 2.4, collapsed ? at : -0.4, collapsed ? at : 0.9, "C");
    s += pdb_atom(++serial, "O", "ALA", 'A', r, collapsed ? at : base + 2.3, collapsed ? at : -1.5, collapsed ? at : 1.3, "O");
  }
  return s + "END\n";
}

void write_file(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

std::string what_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const bmx::InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

}  // namespace

TEST_CASE("degenerate coordinates are refused where structures are read, naming file, chain and residue") {
  const fs::path dir = bmx::test::scratch_dir("prot_hostile_geometry");

  SUBCASE("every atom at one point") {
    const fs::path p = dir / "one_point.pdb";
    write_file(p, small_pdb(true));
    const StructureChains sc = read_protein_chains(p.string());
    REQUIRE(sc.chains.size() == 1);
    CHECK(sc.chains[0].status == ChainStatus::bad_coordinates);
    CHECK(sc.chains[0].message.find("9 backbone atoms lie at one point (5.000, 5.000, 5.000)") != std::string::npos);
    // The same chain spread out is accepted: the check is about the geometry, not the file.
    write_file(dir / "spread.pdb", small_pdb(false));
    CHECK(read_protein_chains((dir / "spread.pdb").string()).chains.at(0).status == ChainStatus::ok);
  }
  SUBCASE("a coordinate of 1e300 (mmCIF) and one that is not a number") {
    // mmCIF has no column widths: 1e300 reaches the reader as a double, and would be inf as float32.
    std::string cif = bmx::test::read_file(bmx::test::shared_file("data/proteins/1aki.cif"));
    const std::size_t at = cif.find("35.365 22.342 -11.980");  // residue 1 LYS, atom N
    REQUIRE(at != std::string::npos);
    cif.replace(at, 6, "1e300");
    const fs::path p = dir / "huge.cif";
    write_file(p, cif);
    const StructureChains sc = read_protein_chains(p.string());
    REQUIRE(sc.chains.size() == 1);
    CHECK(sc.chains[0].status == ChainStatus::bad_coordinates);
    CHECK(sc.chains[0].message.find("residue 1 LYS atom N: coordinate (1e+300, 22.342, -11.98)") != std::string::npos);
    CHECK(sc.chains[0].message.find("1e+300") != std::string::npos);

    std::string nan_cif = cif;
    nan_cif.replace(nan_cif.find("1e300"), 5, "nan");
    write_file(dir / "nan.cif", nan_cif);
    const StructureChains sn = read_protein_chains((dir / "nan.cif").string());
    // gemmi reads "nan" as NaN or as 0; neither may pass as a real coordinate silently.
    if (sn.chains.at(0).status != ChainStatus::ok)
      CHECK(sn.chains[0].message.find("not a finite number") != std::string::npos);
  }
}

TEST_CASE("a .gz cut short is refused by the one gzip reader, also when it ends on a line boundary") {
  const fs::path dir = bmx::test::scratch_dir("prot_hostile_gzip");
  const std::string text = bmx::test::read_file(bmx::test::shared_file("data/proteins/1l2y.pdb"));
  const std::size_t half = text.find('\n', text.size() / 2) + 1;  // a line boundary in the middle

  // Compress with a full flush at the line boundary, so that the compressed bytes up to that point inflate to
  // exactly the first half of the lines: the cut a download that stops there leaves.
  z_stream z{};
  REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string gz(compressBound(text.size()) + 1024, '\0');
  z.next_out = reinterpret_cast<Bytef*>(gz.data());
  z.avail_out = static_cast<uInt>(gz.size());
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(half);
  REQUIRE(deflate(&z, Z_FULL_FLUSH) == Z_OK);
  const std::size_t cut = z.total_out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data() + half));
  z.avail_in = static_cast<uInt>(text.size() - half);
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  gz.resize(z.total_out);
  deflateEnd(&z);

  write_file(dir / "whole.pdb.gz", gz);
  write_file(dir / "cut.pdb.gz", gz.substr(0, cut));
  write_file(dir / "no_trailer.pdb.gz", gz.substr(0, gz.size() - 8));  // all the data, no CRC and length
  std::string bad_crc = gz;
  bad_crc[bad_crc.size() - 6] ^= 0x55;
  write_file(dir / "bad_crc.pdb.gz", bad_crc);

  // The whole file reads back as the text; the reader and core agree.
  CHECK(bmx::read_text_file((dir / "whole.pdb.gz").string()) == text);
  const StructureChains whole = read_protein_chains((dir / "whole.pdb.gz").string());
  REQUIRE(whole.chains.at(0).status == ChainStatus::ok);
  CHECK(whole.chains[0].backbone.size() == 20);

  // zlib alone returns the first half of the lines and a clean end of file here.
  {
    gzFile f = gzopen((dir / "cut.pdb.gz").string().c_str(), "rb");
    std::string got;
    char buf[4096];
    int n;
    while ((n = gzread(f, buf, sizeof buf)) > 0) got.append(buf, n);
    gzclose(f);
    CHECK(n == 0);
    CHECK(got == text.substr(0, half));
  }
  for (const char* name : {"cut.pdb.gz", "no_trailer.pdb.gz"}) {
    CAPTURE(name);
    const std::string msg = what_of([&] { read_protein_chains((dir / name).string()); });
    CHECK(msg.find(name) != std::string::npos);
    CHECK(msg.find("truncated gzip data") != std::string::npos);
    // Line by line (the molecule readers' way) it is refused too, at the end.
    const std::string by_line = what_of([&] {
      bmx::GzipFile f((dir / name).string());
      std::string line;
      while (f.read_line(line)) {}
    });
    CHECK(by_line.find("truncated gzip data") != std::string::npos);
  }
  const std::string crc = what_of([&] { read_protein_chains((dir / "bad_crc.pdb.gz").string()); });
  CHECK(crc.find("bad_crc.pdb.gz: damaged gzip data") != std::string::npos);
  // A plain file is read unchanged.
  CHECK(bmx::read_text_file(bmx::test::shared_file("data/proteins/1l2y.pdb").string()) == text);
}

TEST_CASE("PDB output never overruns its columns: refused with a pointer to mmCIF, which gemmi reads back") {
  const fs::path dir = bmx::test::scratch_dir("prot_hostile_pdb_width");
  BackboneChain c = read_protein_chains(bmx::test::shared_file("data/proteins/1l2y.pdb").string()).chains.at(0).backbone;
  for (auto& res : c.coords)
    for (auto& atom : res) atom[0] += 12000.0;  // x >= 10,000 A: "%8.3f" needs 9 characters
  for (auto& o : c.oxygen) o[0] += 12000.0;

  const std::string msg = what_of([&] { write_backbones((dir / "far.pdb").string(), {c}); });
  CHECK(msg.find("does not fit the PDB format") != std::string::npos);
  CHECK(msg.find("mmCIF") != std::string::npos);
  CHECK(msg.find("chain A residue 1") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "far.pdb"));  // nothing half-written

  // mmCIF holds it, and an independent reader (gemmi) finds the atoms where they are.
  write_backbones((dir / "far.cif").string(), {c});
  gemmi::Structure st = gemmi::read_structure_file((dir / "far.cif").string());
  REQUIRE(st.models.size() == 1);
  const gemmi::Residue& first = st.models[0].chains.at(0).residues.at(0);
  const gemmi::Atom* ca = first.find_atom("CA", '*');
  REQUIRE(ca != nullptr);
  CHECK(ca->pos.x == doctest::Approx(c.coords[0][1][0]).epsilon(1e-6));
  CHECK(ca->pos.x > 10000.0);

  // Below -999.999 is refused too; 9999.999 still fits and reads back exactly.
  BackboneChain neg = read_protein_chains(bmx::test::shared_file("data/proteins/1l2y.pdb").string()).chains.at(0).backbone;
  for (auto& res : neg.coords) res[1][1] = -1500.0;
  CHECK(what_of([&] { backbones_to_string({neg}, StructureFormat::pdb); }).find("-1500.000") != std::string::npos);
  BackboneChain edge = read_protein_chains(bmx::test::shared_file("data/proteins/1l2y.pdb").string()).chains.at(0).backbone;
  edge.coords[0][1] = {9999.999, -999.999, 0.0};
  write_backbones((dir / "edge.pdb").string(), {edge});
  gemmi::Structure e = gemmi::read_structure_file((dir / "edge.pdb").string());
  const gemmi::Atom* eca = e.models.at(0).chains.at(0).residues.at(0).find_atom("CA", '*');
  REQUIRE(eca != nullptr);
  CHECK(eca->pos.x == doctest::Approx(9999.999));
  CHECK(eca->pos.y == doctest::Approx(-999.999));

  // Residue numbers: 4 columns hold -999..9999, and gemmi's hybrid-36 up to 1223055; beyond, refused.
  BackboneChain numbered = edge;
  numbered.coords[0][1] = numbered.coords[1][1];
  numbered.residues[0].id.number = 1223055;
  numbered.residues[1].id.number = -999;
  write_backbones((dir / "numbers.pdb").string(), {numbered});
  gemmi::Structure n = gemmi::read_structure_file((dir / "numbers.pdb").string());
  CHECK(n.models.at(0).chains.at(0).residues.at(0).seqid.num.value == 1223055);
  CHECK(n.models.at(0).chains.at(0).residues.at(1).seqid.num.value == -999);
  for (int bad : {1223056, -1000, 99999999}) {
    numbered.residues[0].id.number = bad;
    CHECK(what_of([&] { backbones_to_string({numbered}, StructureFormat::pdb); }).find("does not fit the PDB format's 4 columns") !=
          std::string::npos);
    // mmCIF keeps the number as it is.
    const fs::path cif = dir / "numbers.cif";
    write_backbones(cif.string(), {numbered});
    CHECK(gemmi::read_structure_file(cif.string()).models.at(0).chains.at(0).residues.at(0).seqid.num.value == bad);
  }
}

TEST_CASE("output names: the extension says the format or --format must; outputs that are inputs are refused") {
  const fs::path dir = bmx::test::scratch_dir("prot_hostile_outputs");
  const std::string src = bmx::test::shared_file("data/proteins/1l2y.pdb").string();
  const BackboneChain c = read_protein_chains(src).chains.at(0).backbone;

  CHECK(output_format("x.pdb", StructureFormat::from_extension) == StructureFormat::pdb);
  CHECK(output_format("X.ENT", StructureFormat::from_extension) == StructureFormat::pdb);
  CHECK(output_format("x.Cif", StructureFormat::from_extension) == StructureFormat::mmcif);
  CHECK(output_format("x.mmcif", StructureFormat::from_extension) == StructureFormat::mmcif);
  CHECK(output_format("-", StructureFormat::from_extension) == StructureFormat::pdb);
  CHECK(output_format("x.xyz", StructureFormat::mmcif) == StructureFormat::mmcif);  // --format decides
  CHECK(what_of([] { output_format("x.xyz", StructureFormat::from_extension); }).find("unknown extension .xyz") !=
        std::string::npos);
  CHECK(what_of([] { output_format("dir.d/out", StructureFormat::from_extension); }).find("no extension") !=
        std::string::npos);
  CHECK_THROWS_AS(write_backbones((dir / "x.xyz").string(), {c}), bmx::InputError);
  CHECK_FALSE(fs::exists(dir / "x.xyz"));

  // The input itself, spelled differently, is refused and left as it was.
  const fs::path copy = dir / "in.pdb";
  fs::copy_file(src, copy, fs::copy_options::overwrite_existing);
  const std::string before = bmx::test::read_file(copy);
  const std::string msg = what_of([&] {
    write_backbones((dir / "." / "in.pdb").string(), {c}, {}, {copy.string()});
  });
  CHECK(msg.find("is the input file") != std::string::npos);
  CHECK(bmx::test::read_file(copy) == before);

  // A full device is an error, not a silent loss.
  if (fs::exists("/dev/full")) CHECK_THROWS_AS(write_backbones("/dev/full", {c}, [] {
                                  WriteOptions o;
                                  o.format = StructureFormat::pdb;
                                  return o;
                                }()),
                                bmx::InputError);

  // A caller's stream gets the same text.
  std::ostringstream os;
  write_backbones(os, {c}, StructureFormat::mmcif);
  CHECK(os.str() == backbones_to_string({c}, StructureFormat::mmcif));
}

TEST_CASE("a token segment that is never closed (or closed without opening) is refused with its position") {
  CHECK(parse_struct_tokens("<|prot_3d_start|><S 1><S 2><|prot_3d_end|>", 512) == std::vector<int>{1, 2});
  CHECK(parse_struct_tokens("<S 1><S 2>", 512) == std::vector<int>{1, 2});
  const auto msg = [](const std::string& text) { return what_of([&] { parse_struct_tokens(text, 512, "t"); }); };
  CHECK(msg("<|prot_3d_start|><S 1><S 2>") ==
        "t: <|prot_3d_start|> at character 0 is never closed by <|prot_3d_end|> (a cut-off segment?)");
  CHECK(msg("<S 1><S 2><|prot_3d_end|>") == "t: <|prot_3d_end|> at character 10 has no <|prot_3d_start|> before it");
  CHECK(msg("<|prot_3d_start|><S 1><|prot_3d_start|><S 2><|prot_3d_end|>").find("at character 22 opens a second") !=
        std::string::npos);
  CHECK(what_of([] { parse_aa_sequence("<|prot_aa_start|>MKV", "t"); }).find("never closed") != std::string::npos);

  // As a record: the bare-token form names the record.
  const auto recs = read_token_records("<|prot_3d_start|><S 5><S 6>", "tokens", 512);
  REQUIRE(recs.size() == 1);
  CHECK_FALSE(recs[0].ok());
  CHECK(recs[0].error.find("tokens: <|prot_3d_start|> at character 0 is never closed") == 0);
  const auto aa = read_token_records("<|prot_aa_start|>MK<S 5><S 6>", "tokens", 512);
  CHECK(aa.at(0).error.find("<|prot_aa_start|> at character 0 is never closed") != std::string::npos);
}

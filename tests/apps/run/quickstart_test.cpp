// The README's first run on a fresh machine: the build installed (cmake --install, as ./setup.sh does) into a
// scratch prefix, then the README's first-run commands run as written with that bmx on the PATH, from an empty
// folder, with no flags, no ../shared and no BMX_* variables. The installed bmx must find its own MolStrucTok
// checkpoint and example inputs next to itself.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "run_support.h"
#include "shared.h"

namespace fs = std::filesystem;
using bmx::test::quote;

namespace {

// The lines of the first ```sh block after the README line that contains "First run".
std::vector<std::string> first_run_commands() {
  std::istringstream in(bmx::test::read_file(fs::path(BMX_SOURCE_DIR) / "README.md"));
  std::vector<std::string> commands;
  bool seen = false, inside = false;
  for (std::string line; std::getline(in, line);) {
    if (!seen) {
      seen = line.find("First run") != std::string::npos;
    } else if (!inside) {
      inside = line.rfind("```sh", 0) == 0;
    } else if (line.rfind("```", 0) == 0) {
      break;
    } else if (!line.empty()) {
      commands.push_back(line);
    }
  }
  return commands;
}

// A command with the installed bmx first on the PATH, in `dir`, without the test environment's BMX_* variables.
int run_installed(const fs::path& prefix, const fs::path& dir, const std::string& command, std::string* out) {
  std::ofstream(dir / "cmd.sh") << "set -eo pipefail\n" << command << "\n";
  return bmx::test::run("cd " + quote(dir) + " && env -u BMX_DATA_DIR -u BMX_MOLSTRUCTOK -u BMX_SHARED PATH=" +
                            quote(prefix / "bin") + ":\"$PATH\" bash cmd.sh",
                        out, true);
}

}  // namespace

TEST_CASE("README first run: the installed bmx, its checkpoint and examples, no flags, no ../shared") {
  const fs::path scratch = bmx::test::scratch_dir("quickstart");
  const fs::path prefix = scratch / "prefix";
  std::string out;
  REQUIRE(bmx::test::run(std::string(BMX_CMAKE_COMMAND) + " --install " + quote(BMX_BUILD_DIR) + " --prefix " +
                             quote(prefix),
                         &out, true) == 0);
  const fs::path share = prefix / "share" / "bmx";
  CHECK(fs::is_regular_file(prefix / "bin" / "bmx"));
  CHECK(fs::is_regular_file(share / "molstructok_vqvae.bin"));
  for (const char* f : {"aspirin.sdf", "trp-cage.pdb", "README.md"}) CHECK(fs::is_regular_file(share / "examples" / f));

  const fs::path work = scratch / "work";
  fs::create_directories(work);
  // bmx examples prints the installed folder; bmx --help says where it is.
  REQUIRE(run_installed(prefix, work, "bmx examples", &out) == 0);
  CHECK(out == fs::weakly_canonical(share / "examples").string() + "\n");
  REQUIRE(run_installed(prefix, work, "bmx --help", &out) == 0);
  CHECK(out.find(fs::weakly_canonical(share / "examples").string()) != std::string::npos);

  const std::vector<std::string> commands = first_run_commands();
  REQUIRE(!commands.empty());
  for (const std::string& c : commands) {
    INFO(c);
    CHECK(c.rfind("bmx ", 0) == 0);
    CHECK(c.find("shared") == std::string::npos);
    REQUIRE(run_installed(prefix, work, c, &out) == 0);
    INFO(out);
  }
  // The first run decodes the example ligand: RDKit reads it back with every atom (H included).
  REQUIRE(fs::exists(work / "aspirin_decoded.sdf"));
  CHECK(bmx::test::sdf_atom_counts(work / "aspirin_decoded.sdf") == std::vector<unsigned>{21});
  CHECK(bmx::test::sdf_atom_counts(share / "examples" / "aspirin.sdf") == std::vector<unsigned>{21});

  // The installed bmx reads the checkpoint next to itself (not the source tree's): a copy of the installation with
  // a broken checkpoint fails, naming that file.
  const fs::path moved = scratch / "moved";
  fs::copy(prefix, moved, fs::copy_options::recursive);
  std::ofstream(moved / "share" / "bmx" / "molstructok_vqvae.bin", std::ios::trunc) << "not a checkpoint";
  CHECK(run_installed(moved, work, "bmx mol encode $(bmx examples)/aspirin.sdf -q", &out) != 0);
  CHECK(out.find((moved / "share" / "bmx" / "molstructok_vqvae.bin").string()) != std::string::npos);
  CHECK(run_installed(moved, work, "bmx examples", &out) == 0);
  CHECK(out == fs::weakly_canonical(moved / "share" / "bmx" / "examples").string() + "\n");
}

TEST_CASE("the example protein is read and tokenized; the example ligand round-trips") {
  const fs::path examples = fs::path(BMX_SOURCE_DIR) / "data" / "examples";
  const auto names = bmx::test::residue_names(examples / "trp-cage.pdb");
  std::string seq;
  for (const std::string& n : names) seq += n + " ";
  CHECK(seq == "ASN LEU TYR ILE GLN TRP LEU LYS ASP GLY GLY PRO SER SER GLY ARG PRO PRO PRO SER ");
  const auto r = bmx::test::run_bmx("prot encode " + quote(examples / "trp-cage.pdb") + " --model " +
                                    bmx::test::tiny_gcp() + " -q");
  INFO(r.err);
  REQUIRE(r.status == 0);
  const auto rec = nlohmann::json::parse(r.out);
  CHECK(rec["sequence"] == "NLYIQWLKDGGPSSGRPPPS");
  CHECK(rec["tokens"].size() == 20);
  CHECK(rec["untokenized"].empty());
}

#include <cstdio>
#include <exception>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "commands.h"

namespace {

namespace fs = std::filesystem;

// The example inputs shipped with bmx (data/examples): next to the installed program (<prefix>/share/bmx/examples),
// in the install data dir, or in the source tree (a bmx run from its build folder). Empty when none exists.
std::vector<fs::path> example_dirs() {
  std::vector<fs::path> dirs;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) dirs.push_back(exe.parent_path().parent_path() / "share" / "bmx" / "examples");
#ifdef BMX_EXAMPLES_INSTALL_DIR
  dirs.emplace_back(BMX_EXAMPLES_INSTALL_DIR);
#endif
#ifdef BMX_SOURCE_EXAMPLES_DIR
  dirs.emplace_back(BMX_SOURCE_EXAMPLES_DIR);
#endif
  return dirs;
}

std::string examples_dir() {
  for (const fs::path& d : example_dirs()) {
    std::error_code ec;
    if (fs::is_regular_file(d / "aspirin.sdf", ec)) return fs::weakly_canonical(d, ec).string();
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bmx: BioMatrix end to end -- molecules and proteins to tokens and back, and the decoder that "
               "reads and writes them."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "bmx 0.1.0");
  const std::string examples = examples_dir();
  app.footer("Example inputs (aspirin.sdf, trp-cage.pdb): " + (examples.empty() ? std::string("not found") : examples) +
             "\nFirst run: bmx mol encode $(bmx examples)/aspirin.sdf | bmx mol decode -i - -o aspirin_decoded.sdf");
  auto* ex = app.add_subcommand("examples", "Print the folder of the example inputs installed with bmx (aspirin.sdf: a "
                                            "ligand with 3D coordinates and H; trp-cage.pdb: a 20-residue protein)");
  ex->callback([&examples] {
    if (examples.empty()) {
      std::string looked;
      for (const fs::path& d : example_dirs()) looked += (looked.empty() ? "" : ", ") + d.string();
      throw std::runtime_error("no example folder found (looked in " + looked + "); reinstall bmx (cmake --install)");
    }
    std::printf("%s\n", examples.c_str());
  });
  auto* bench = app.add_subcommand("bench", "Measure speed: bmx bench mol|prot|llm");
  bench->require_subcommand(1);
  auto* dev = app.add_subcommand("dev", "Developer tools (random models for tests and benchmarks)");
  dev->require_subcommand(1);
  bmx::app::add_mol_commands(app, *bench);
  bmx::app::add_prot_commands(app, *bench);
  bmx::app::add_tokenize_commands(app, *bench);
  bmx::app::add_llm_commands(app, *bench, *dev);
  bmx::app::add_kernel_bench(*bench);
  bmx::app::add_constrain_bench(*bench);
  bmx::app::add_extract_commands(app);
  bmx::app::add_run_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bmx: %s\n", e.what());
    return 1;
  }
  return bmx::app::exit_status;
}

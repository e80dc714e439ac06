#include <cstdio>
#include <exception>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"bmx: BioMatrix end to end -- molecules and proteins to tokens and back, and the decoder that "
               "reads and writes them."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "bmx 0.1.0");
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

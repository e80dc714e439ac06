// bmx_torch.so: the commands that need libtorch, registered into the program's command line when one of them
// runs (apps/torch_part.h). Add a torch command here, and its --help line to kTorchCommands in apps/main.cpp.
#include "bmx/core/util/math_threads.h"
#include "commands.h"
#include "torch_part.h"

namespace {

void add_commands(CLI::App& app, CLI::App& bench, CLI::App& dev) {
  bmx::app::add_prot_commands(app, bench);
  bmx::app::add_llm_commands(app, bench, dev);
  bmx::app::add_kernel_bench(bench);
  bmx::app::add_constrain_bench(bench);
  bmx::app::add_run_commands(app);
  bmx::app::add_serve_commands(app);
  bmx::app::add_serve_bench(bench);
}

int exit_status() { return bmx::app::exit_status; }

}  // namespace

extern "C" const bmx::app::TorchPart* bmx_torch_part() {
  static const bmx::app::TorchPart part = [] {
    bmx::app::TorchPart p;
    p.abi = bmx::app::kTorchPartAbi;
    p.size = sizeof(bmx::app::TorchPart);
    p.add_commands = add_commands;
    p.exit_status = exit_status;
    p.set_math_threads = bmx::set_math_threads;
    p.load_protein_model = bmx::app::load_protein_model;
    return p;
  }();
  return &part;
}

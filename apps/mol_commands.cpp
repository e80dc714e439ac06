#include "commands.h"

namespace bmx::app {
void add_mol_commands(CLI::App&, CLI::App&) {}
}  // namespace bmx::app

#include "commands.h"

namespace bmx::app {
void add_prot_commands(CLI::App&, CLI::App&) {}
}  // namespace bmx::app

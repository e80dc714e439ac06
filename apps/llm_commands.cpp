#include "commands.h"

namespace bmx::app {
void add_llm_commands(CLI::App&, CLI::App&, CLI::App&) {}
}  // namespace bmx::app

#include "commands.h"

namespace bmx::app {
void add_tokenize_commands(CLI::App&, CLI::App&) {}
}  // namespace bmx::app

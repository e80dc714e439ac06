// Hooks for bmx's own tests, not API: they change process-wide state that the kernels otherwise choose
// themselves, so that one machine can check every instruction-set level it can run.
#pragma once
#include "bmx/core/nn/kernels.h"

namespace bmx::kernels::testing {

// Runs the kernels at `isa` from now on (must be in available_isas(), else std::invalid_argument);
// force_isa(detected_isa()) restores the default.
void force_isa(Isa isa);

}  // namespace bmx::kernels::testing

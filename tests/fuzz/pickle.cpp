// The unpickler alone, in memory (data.pkl of a torch.save archive, numpy scalars, arbitrary objects): any byte
// string; what comes back must be printable.
#include "bmx/core/io/pickle.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return bmx::fuzz::run_input([&] {
    const auto value = bmx::unpickle(std::string(bmx::fuzz::as_text(data, size)), "fuzz:data.pkl");
    BMX_FUZZ_CHECK(value != nullptr);
    (void)value->repr(4);
  });
}

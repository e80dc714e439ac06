// bmx quantize as a user runs it: the folder it writes generates what --weights gives at load, and it never
// writes into the model folder, a folder that holds files, or rounds weights that are already rounded.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "shared.h"

namespace fs = std::filesystem;
using bmx::test::run;

TEST_CASE("bmx quantize: the folder generates as --weights at load; refusals before any work") {
  const std::string bmx = bmx::test::bmx_exe().string();
  const std::string model =
      bmx::test::shared_file("vectors/qwen3/models/tiny-untied-sharded/config.json").parent_path().string();
  const fs::path out = bmx::test::scratch_dir("apps_llm_quantize") / "q8";
  fs::remove_all(out);
  std::string log;
  REQUIRE(run(bmx + " quantize -m " + model + " --type q8_0 -o " + out.string(), &log, true) == 0);
  CHECK(fs::exists(out / "model.safetensors"));
  CHECK(!fs::exists(out / "model.safetensors.index.json"));  // the source's shards are not copied

  std::string stored, at_load;
  REQUIRE(run(bmx + " generate -m " + out.string() + " --ids '1 2 3 4' -n 12 --print-ids -q", &stored) == 0);
  REQUIRE(run(bmx + " generate -m " + model + " --weights q8_0 --ids '1 2 3 4' -n 12 --print-ids -q", &at_load) == 0);
  CHECK(!stored.empty());
  CHECK(stored == at_load);

  CHECK(run(bmx + " quantize -m " + model + " -o " + out.string(), &log, true) == 1);
  CHECK(log.find("folder is not empty") != std::string::npos);
  CHECK(log.find("rounded") == std::string::npos);  // refused before the rounding
  for (const std::string bad : {"-", "''"}) {  // a folder, never stdout; an empty name names nothing
    CHECK(run(bmx + " quantize -m " + model + " -o " + bad, &log, true) == 1);
    CHECK(log.find("is not a folder name") != std::string::npos);
    CHECK(!fs::exists("-"));
  }
  CHECK(run(bmx + " quantize -m " + model + " -o " + model, &log, true) == 1);
  CHECK(log.find("is the model folder itself") != std::string::npos);
  CHECK(run(bmx + " quantize -m " + out.string() + " -o " + (out.string() + "-again"), &log, true) == 1);
  CHECK(log.find("already q8_0") != std::string::npos);
  CHECK(run(bmx + " generate -m " + out.string() + " --weights q4_0 --ids '1 2' -n 2 -q", &log, true) == 1);
  CHECK(log.find("stored as q8_0") != std::string::npos);

  // bench llm's agreement: against --reference for a quantized folder, said when missing, within the context.
  const std::string bench = bmx + " bench llm -p 0 -n 0 -m " + out.string() + " --agreement ";
  REQUIRE(run(bench + "64 --reference " + model, &log, true) == 0);
  CHECK(log.find("agreement q8_0 vs " + model + ", 63 teacher-forced positions") != std::string::npos);
  REQUIRE(run(bench + "64", &log, true) == 0);
  CHECK(log.find("no agreement figure") != std::string::npos);
  CHECK(run(bench + "4096 --reference " + model, &log, true) == 1);
  CHECK(log.find("beyond the model's context") != std::string::npos);
}

// The continuous-batching engine behind bmx serve (bmx/core/llm/batch_engine.h), in process: every request's
// greedy tokens are the reference vectors' (shared/vectors/qwen3, each computed alone without a cache) whatever
// runs beside it, prompts prefilled in chunks; cancelling frees the slot; a full queue refuses.
#include <ATen/ATen.h>  // before doctest: ATen brings glog, whose CHECK doctest must override
#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "bmx/core/llm/batch_engine.h"
#include "bmx/core/llm/qwen3.h"
#include "bmx/core/util/error.h"
#include "shared.h"

using nlohmann::json;

namespace {

struct Results {
  std::mutex m;
  std::condition_variable cv;
  std::map<int, bmx::Generation> done;
  std::map<int, std::string> errors;
  std::map<int, std::vector<bmx::TokenId>> streamed;
};

bmx::BatchRequest request(Results& r, int key, std::vector<bmx::TokenId> prompt, int64_t max_new) {
  bmx::BatchRequest q;
  q.prompt = std::move(prompt);
  q.options.max_new_tokens = max_new;  // greedy, no eos: the vectors' 32 tokens
  q.on_token = [&r, key](bmx::TokenId id) {
    std::lock_guard<std::mutex> lock(r.m);
    r.streamed[key].push_back(id);
  };
  q.on_done = [&r, key](const bmx::Generation& g, const std::string& error) {
    std::lock_guard<std::mutex> lock(r.m);
    r.done[key] = g;
    r.errors[key] = error;
    r.cv.notify_all();
  };
  return q;
}

void wait_for(Results& r, size_t n) {
  std::unique_lock<std::mutex> lock(r.m);
  REQUIRE(r.cv.wait_for(lock, std::chrono::seconds(60), [&] { return r.done.size() >= n; }));
}

}  // namespace

TEST_CASE("batch engine: greedy tokens equal the reference vectors alone and batched, with chunked prefill") {
  const auto model = bmx::load_qwen3(bmx::test::shared_file("vectors/qwen3/models/tiny-tied").string());
  std::vector<json> cases;
  for (const json& j : bmx::test::shared_jsonl("vectors/qwen3/logits.jsonl"))
    if (j["kind"] == "single" && j["model"] == "tiny-tied") cases.push_back(j);
  REQUIRE(cases.size() == 10);
  for (int slots : {1, 4, 8}) {
    CAPTURE(slots);
    bmx::BatchEngineOptions o;
    o.slots = slots;
    o.slot_context = 512;
    o.prefill_chunk = 16;  // prompts of 17..200 tokens take several chunks between decode steps
    bmx::BatchEngine engine(model, o);
    Results r;
    for (size_t i = 0; i < cases.size(); ++i)
      REQUIRE(engine.submit(request(r, int(i), cases[i]["input_ids"].get<std::vector<bmx::TokenId>>(), 32)) != 0);
    wait_for(r, cases.size());
    for (size_t i = 0; i < cases.size(); ++i) {
      CAPTURE(cases[i]["case"].get<std::string>());
      CHECK(r.errors[int(i)].empty());
      CHECK(r.done[int(i)].ids == cases[i]["greedy_new_ids"].get<std::vector<bmx::TokenId>>());
      CHECK(r.streamed[int(i)] == r.done[int(i)].ids);
      CHECK(r.done[int(i)].finish == bmx::FinishReason::max_new_tokens);
    }
    const bmx::BatchStats s = engine.stats();
    CHECK(s.generated_tokens == 320);
    CHECK(s.busy_slots == 0);
    CHECK(s.queued == 0);
    if (slots == 8) CHECK(s.decode_steps < 200);  // steps shared: 10 x 31 decoded tokens in far fewer forwards
  }
}

TEST_CASE("batch engine: cancel frees the slot, a full queue refuses, a prompt over the context is an error") {
  const auto model = bmx::load_qwen3(bmx::test::shared_file("vectors/qwen3/models/tiny-tied").string());
  bmx::BatchEngineOptions o;
  o.slots = 1;
  o.max_queue = 0;
  o.slot_context = 512;
  bmx::BatchEngine engine(model, o);
  Results r;
  const uint64_t id = engine.submit(request(r, 0, {1, 2, 3}, 500));
  REQUIRE(id != 0);
  CHECK(engine.submit(request(r, 1, {1, 2, 3}, 4)) == 0);  // the one slot is taken, no queue
  for (int i = 0; i < 2000; ++i) {  // until it produces tokens
    {
      std::lock_guard<std::mutex> lock(r.m);
      if (!r.streamed[0].empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  engine.cancel(id);
  wait_for(r, 1);
  CHECK(r.errors[0] == "cancelled");
  CHECK(r.done[0].ids.size() < 500);
  CHECK(engine.stats().cancelled == 1);
  CHECK(engine.stats().busy_slots == 0);
  CHECK(engine.submit(request(r, 2, {1, 2, 3}, 4)) != 0);  // free again
  wait_for(r, 2);
  CHECK(r.done[2].ids.size() == 4);
  CHECK_THROWS_AS(engine.submit(request(r, 3, std::vector<bmx::TokenId>(512, 5), 4)), bmx::InputError);
  CHECK_THROWS_AS(engine.submit(request(r, 4, {1, 5000}, 4)), bmx::InputError);
}

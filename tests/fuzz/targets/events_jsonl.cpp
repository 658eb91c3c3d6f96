// ingest_events of the bytes as a task's events.jsonl, into a fresh store (so every input starts
// from the same state), then a second time (the idempotent path).
#include <filesystem>

#include "store/ingest.h"
#include "store/records.h"
#include "store/store.h"
#include "tests/fuzz/fuzz_targets.h"

namespace repro::fuzz {

int fuzz_events_jsonl(const uint8_t* data, size_t size) {
  const std::string dir = fresh_scratch_subdir("store");
  const std::string events = dir + "/events.jsonl";
  {
    const std::string p = write_scratch_file("store/events.jsonl", data, size);
    (void)p;
  }
  runner::StoreOptions options;
  options.clock = [] { return 1.7e9; };
  options.busy_timeout_ms = 0;
  runner::Store store(dir + "/repro.db", options);  // harness setup: errors here are not expected
  runner::put_experiment(store, {"exp", "exp.yaml", std::string(64, 'a')});
  runner::put_run(store, {"run1", "exp", R"({"method":"adm"})", 0, R"({"lr":0.0001})", dir + "/run1"});
  runner::put_task(store, {"task1", "run1", runner::TaskKind::kTrain, R"({"iterations":100})"});
  expect_only_repro_errors([&] { (void)runner::ingest_events(store, "task1", events); });
  return expect_only_repro_errors([&] { (void)runner::ingest_events(store, "task1", events); });
}

}  // namespace repro::fuzz

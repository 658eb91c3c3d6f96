#pragma once
// Shared by the store tests: a store in a scratch directory with one experiment, run and task,
// and a writer of events.jsonl lines as core/train/trainer.cpp writes them.
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "store/records.h"
#include "store/store.h"
#include "tests/support/test_support.h"

namespace repro::test {

// A fixed clock, advanced by hand, so created/updated columns are exact.
struct FakeClock {
  double now = 1.7e9;
};

inline runner::StoreOptions options_with(FakeClock* clock) {
  runner::StoreOptions options;
  options.clock = [clock] { return clock->now; };
  return options;
}

// Puts experiment "exp", run `run_id` and its train task `task_id`.
inline void put_train_task(runner::Store& store, const std::string& run_id, const std::string& task_id,
                           int64_t position = 0, const std::string& experiment = "exp") {
  runner::put_experiment(store, {experiment, experiment + ".yaml", std::string(64, 'a')});
  runner::put_run(store, {run_id, experiment, R"({"method":"adm"})", position, R"({"lr":0.0001})", "/runs/" + run_id});
  runner::put_task(store, {task_id, run_id, runner::TaskKind::kTrain, R"({"iterations":100})"});
}

// Appends records to an events.jsonl, numbering seq as the trainer does.
class EventsWriter {
 public:
  explicit EventsWriter(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }
  int64_t next_seq() const { return seq_; }

  // One complete line (or, with newline = false, a line still being written).
  void write(nlohmann::json record, bool newline = true) { append(line(std::move(record)) + (newline ? "\n" : "")); }
  std::string line(nlohmann::json record) {
    record["v"] = 1;
    record["seq"] = seq_++;
    record["time"] = 1.7e9 + static_cast<double>(record["seq"].get<int64_t>());
    return record.dump();
  }
  void append(const std::string& text) {
    std::ofstream out(path_, std::ios::app | std::ios::binary);
    out << text;
  }
  void start(int64_t step = 0) {
    write({{"type", "start"}, {"step", step}, {"resumed_from", step == 0 ? -1 : step}, {"method", "adm-ip"}});
  }
  // A log record at `step` with loss = step / 1000 and mse = step / 2000.
  void log(int64_t step) {
    const auto x = static_cast<double>(step);
    write({{"type", "log"},
           {"step", step},
           {"loss", x / 1000.0},
           {"mse", x / 2000.0},
           {"lr", 1e-4},
           {"note", "text is not a metric"}});
  }
  void end(const std::string& status, int64_t step) {
    write({{"type", "end"}, {"status", status}, {"step", step}, {"message", ""}});
  }

 private:
  std::string path_;
  int64_t seq_ = 0;
};

inline int64_t count_rows(runner::Store& store, const std::string& sql) {
  return store.db().execAndGet(sql).getInt64();
}

}  // namespace repro::test

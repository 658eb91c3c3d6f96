#pragma once
// What the store knows about a plan's runs from earlier `repro run`s, read once per run for the
// dry run: measured speeds (cost_estimate.h prefers them to the throughput table) and the data
// fingerprint the run trained on (preflight.h compares it with the data there now).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace repro::runner {

// A speed measured on a finished task of the run.
struct MeasuredRate {
  double seconds = 0;   // per train step (all processes together), or per image x sampling step
  int64_t units = 0;    // steps or image-steps it was measured over
  std::string task_id;  // the finished task
  std::string device;   // its recorded `device` provenance ("cpu", "cuda"); "" = not recorded
};

struct RunHistory {
  std::optional<MeasuredRate> train;   // median seconds between the train tasks' log records, per step
  std::optional<MeasuredRate> sample;  // a done sample task's attempt duration / its sample_forwards()
  std::string data_fingerprint;        // recorded by the run's latest train task; "" = none
};

// Seconds per step of a train task from its `time` metric ((step, unix time) per log record): the
// median over consecutive records, so that a pause between a stop and a resume does not count;
// nullopt with fewer than two records.
std::optional<double> seconds_per_step(const std::vector<std::pair<int64_t, double>>& step_times);

// The history of each run id the store has (absent ones are left out). A few queries per run: its
// tasks, its provenance, the time metric of its done train tasks, the attempts of its done sample
// tasks.
std::map<std::string, RunHistory> run_history(Store& store, const std::vector<std::string>& run_ids);

}  // namespace repro::runner

#pragma once
// Where each run's numbers came from (the store's provenance and attempts tables): the appendix
// of a report, and the warnings when the runs of one cell were made differently.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "reports/observations.h"
#include "store/store.h"

namespace repro::reports {

// Keys whose values must agree among the results of one cell (docs/database.md, provenance).
const std::vector<std::string>& provenance_keys_that_must_agree();

struct RunProvenance {
  std::string run_id;
  int64_t position = 0;
  std::map<std::string, std::string> axes;  // every axis label, seed included
  // Key -> value; when the run's tasks recorded different values they are joined with " | ".
  std::map<std::string, std::string> entries;
  std::optional<double> wall_seconds;  // sum of its attempts' durations (ended - started)
  std::optional<double> gpu_hours;     // sum of duration x GPUs handed over; empty: no GPU attempt
};

// Provenance rows of an experiment's runs: run-level and per task.
class ProvenanceIndex {
 public:
  ProvenanceIndex(runner::Store& store, const std::string& experiment);

  // The values behind one result, by (key, where): the run's own rows (where ""), its train
  // tasks' rows ("train") and those of the result's sample and eval tasks ("sample", "eval").
  // A run trained on a GPU and evaluated on the CPU is not a difference; two runs of one cell
  // trained at different commits are.
  std::map<std::pair<std::string, std::string>, std::set<std::string>> values_behind(const Observation& o) const;

  // Per run, in matrix order.
  const std::vector<RunProvenance>& runs() const { return runs_; }

 private:
  struct Row {
    std::string task_id;  // "" = the whole run
    std::string kind;     // the task's kind, "" for run rows
    std::string key;
    std::string value;
  };
  std::map<std::string, std::vector<Row>> rows_;  // run id -> rows
  std::vector<RunProvenance> runs_;
};

// "key differs: a | b" (" in train tasks" when task rows differ) for each key of provenance_keys_that_must_agree() with
// more than one value among `cell`'s results; empty when they agree (or recorded nothing).
std::vector<std::string> provenance_differences(const ProvenanceIndex& index,
                                                const std::vector<const Observation*>& cell);

}  // namespace repro::reports

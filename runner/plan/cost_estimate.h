#pragma once
// What a plan costs before it runs: GPU-hours per task (measured speeds from the store where a run
// has them, else the throughput table's estimates, else unknown) and the disk its checkpoints and
// samples take. Pure functions of the expansion, the tasks and the store's history
// (run_history.h); the dry run prints them (docs/runner.md, "Dry run"; docs/throughput.md).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/train/train_config.h"
#include "runner/experiment/expand.h"
#include "runner/plan/run_history.h"
#include "runner/plan/task_graph.h"

namespace repro::runner {

// Bytes of one checkpoint's files for a model of `parameters` float32 scalars, as the trainer
// writes them (core/train/trainer_checkpoint.cpp): the model (the float32 masters), one file per
// EMA rate, and the optimizer (AdamW's exp_avg and exp_avg_sq per parameter). Payload only: the
// zip and pickle framing adds a few hundred bytes per tensor.
struct CheckpointBytes {
  int64_t model = 0;      // parameters x 4
  int64_t ema = 0;        // parameters x 4, per EMA rate
  int64_t optimizer = 0;  // parameters x 2 x 4
};
CheckpointBytes checkpoint_bytes(int64_t parameters);

// The checkpoint files a run of `iterations` steps leaves under `keep` ("evaluated" | "all";
// base/train/keep_policy.h) with saves every `save_interval` steps and `ema_rates` EMA files each:
// model + EMAs of every kept step, the optimizer of the last (of every step under "all", which
// prunes nothing). `evaluated`: the steps sampled.
int64_t kept_checkpoint_bytes(const CheckpointBytes& files, size_t ema_rates, int64_t save_interval, int64_t iterations,
                              const std::vector<int64_t>& evaluated, const std::string& keep);

// Upper bound of what an .npz of one uint8 array adds to its data: the .npy header (128 bytes
// for arr_0 of any 4-d shape) and the zip entry's headers and directory (under 200 bytes).
inline constexpr int64_t kNpzOverheadBytes = 512;
// A sample task's npz: arr_0 uint8 [num_samples, size, size, channels] plus kNpzOverheadBytes.
int64_t sample_npz_bytes(int64_t num_samples, int image_size, int channels);

// Upper bound of an exposure task's files (exposure/<task id>.json and its .svg) for a chain of
// `steps` records: ~200 bytes per step record in the JSON (seven numbers and their keys) and a
// few plotted points per record in the SVG, 512 bytes per step in all, plus 16 KiB of headers,
// axes and labels. An estimate; what matters is that it is small beside a sample npz.
int64_t exposure_file_bytes(int64_t steps);

// "0 B", "512 B", "1.5 KiB", "19.1 GiB", "1.21 TiB", "1000 KiB": binary units, fixed notation
// (never an exponent), three significant digits (trailing zeros dropped) below 1000 of a unit and
// whole units from 1000 to 1023. Bytes as people read them: the dry run's costs and `repro gc`.
std::string bytes_text(int64_t bytes);

// Where a task's GPU-hours come from.
enum class CostSource { kMeasured, kEstimate, kUnknown };
std::string to_string(CostSource s);  // "measured", "estimate", "unknown"

struct TaskCost {
  CostSource source = CostSource::kUnknown;
  std::optional<double> hours;      // wall-clock hours at the task's GPUs; empty when unknown
  std::optional<double> gpu_hours;  // hours x GPUs (one per process); empty when unknown
  int gpus = 1;                     // what the hours are counted on: train.world_size, 1 for sample and eval
  std::string detail;               // the throughput row, or the measured task, or why unknown
  int64_t disk_bytes = 0;           // train: checkpoints left under the run's train.keep; sample: its npz
                                    // (an exposure task: its JSON and SVG)
  int64_t disk_bytes_keep_all = 0;  // train: the same under keep "all"
};

struct CostTotals {
  int tasks = 0;  // counted: the tasks that would run
  double gpu_hours_measured = 0;
  double gpu_hours_estimate = 0;
  int unknown = 0;  // counted tasks with no estimate
  int64_t checkpoint_bytes = 0;
  int64_t checkpoint_bytes_keep_all = 0;
  int64_t sample_bytes = 0;
  int sample_files = 0;        // npz files of sample tasks (exposure tasks write none)
  int64_t exposure_bytes = 0;  // exposure tasks' JSON and SVG files
  int exposure_files = 0;      // exposure tasks (one JSON, one SVG each)
};

struct CostEstimate {
  std::vector<TaskCost> tasks;  // index-aligned with the plan's tasks
  CostTotals totals;            // of the tasks with to_run set
};

// `runs`: the expansion's runs (a task's run found by run id); `to_run[i]`: whether tasks[i] would
// run (a done task costs nothing more); `history`: run_history() of the store, empty without one.
// A run without its own measurement takes one of another run of the plan with the same model and
// batch (train) or model (sample).
CostEstimate estimate_cost(const std::vector<PlannedRun>& runs, const std::vector<TaskSpec>& tasks,
                           const std::vector<bool>& to_run, const std::map<std::string, RunHistory>& history);

}  // namespace repro::runner

#pragma once
// Which checkpoints of a run stay on disk (train.keep; docs/checkpoints.md), torch-free: the
// trainer prunes by it after each save, `repro gc` applies it to existing runs, and the dry run
// estimates checkpoint disk from it.
#include <cstdint>
#include <string>
#include <vector>

namespace repro::core {

struct KeepPlan {
  std::vector<int64_t> model_steps;  // steps whose model and EMA files stay (sorted, unique)
  int64_t optimizer_step = 0;        // the one step whose optimizer (and state) file stays; 0 = none
};

// The steps a run of `iterations` steps saves checkpoints at: every save_interval, and the last.
std::vector<int64_t> saved_steps(int64_t save_interval, int64_t iterations);

// What stays after a save at `latest` under `keep` ("evaluated" | "all"): "all" keeps every saved
// step up to latest; "evaluated" keeps `evaluated` (steps the experiment samples) that are <= latest,
// and latest itself.
KeepPlan keep_plan(const std::string& keep, const std::vector<int64_t>& saved, const std::vector<int64_t>& evaluated,
                   int64_t latest);

}  // namespace repro::core

#pragma once
// Which checkpoints of a run stay on disk (train.keep; docs/checkpoints.md), torch-free: the
// trainer prunes by it after each save, `repro gc` applies it to existing runs, and the dry run
// estimates checkpoint disk from it.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace repro::core {

struct KeepPlan {
  std::vector<int64_t> model_steps;  // steps whose model and EMA files stay (sorted, unique)
  int64_t optimizer_step = 0;        // the one step whose optimizer (and state) file stays; 0 = none
  // "all": nothing is deleted, the optimizer and state files of every step included (model_steps
  // then lists the saved steps, optimizer_step the one a resume reads).
  bool keep_everything = false;
};

// The steps a run of `iterations` steps saves checkpoints at: every save_interval, and the last.
std::vector<int64_t> saved_steps(int64_t save_interval, int64_t iterations);

// What stays after a save at `latest` under `keep` ("evaluated" | "all"): "all" keeps every saved
// step up to latest; "evaluated" keeps `evaluated` (steps the experiment samples) that are <= latest,
// and latest itself.
KeepPlan keep_plan(const std::string& keep, const std::vector<int64_t>& saved, const std::vector<int64_t>& evaluated,
                   int64_t latest);

// One per-step file of checkpoints/ (train_state.h lists them), named by its name alone.
struct CheckpointFile {
  enum class Kind { kState, kOptimizer, kWeights };  // state*.json | opt*.pt | model*.pt, ema_*_*.pt
  Kind kind = Kind::kWeights;
  int64_t step = 0;
  bool checksum = false;  // the "<file>.sha256" beside it
};

// What `name` is, or nothing: temp files ("...tmp-PID"), stray names and steps that do not fit
// 64 bits are not checkpoint files.
std::optional<CheckpointFile> classify_checkpoint_file(const std::string& name);

// The names among `names` (files of one checkpoints/ folder) that `plan` does not keep: weights of
// steps not in plan.model_steps, optimizer and state files of steps other than plan.optimizer_step,
// each with its .sha256. Never a file of a step after plan.optimizer_step (the latest complete
// checkpoint: a newer one is being written, or broken and rewritten by the resumed run), nor a
// name classify_checkpoint_file does not know; nothing under keep_everything, or without a latest
// (optimizer_step 0). Ordered for deletion: every state file first, so that a crash part-way never
// leaves a state file naming a deleted file; then optimizers, then weights, a .sha256 after its file.
std::vector<std::string> files_to_prune(const std::vector<std::string>& names, const KeepPlan& plan);

}  // namespace repro::core

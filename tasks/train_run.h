#pragma once
// The body of `repro train` and of the train task: one training run (ADM, ADM-IP and the paper's
// variants) in a run directory that holds its resolved config, events and checkpoints; resumable,
// data parallel over local ranks or under a launcher (torchrun, srun).
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "tasks/runtime.h"

namespace repro::tasks {

struct TrainJob {
  std::string config;                  // training YAML (model:, diffusion:, train:, data:)
  std::vector<std::string> overrides;  // "train.gamma=0.2", over the file's values
  std::string run_dir;                 // config.resolved.json, events, checkpoints/
  int64_t iterations = -1;             // total optimizer steps; -1 = the config's train.iterations
  bool resume = false;                 // continue from the newest valid checkpoint of run_dir
  int nproc = 0;                       // local ranks to start; 0 = the config's train.world_size, else 1
  std::string events;                  // events file; "" = run_dir/events.jsonl
  std::string precision = "auto";      // torso precision: auto | fp32 | fp16 | bf16
  RuntimeOptions runtime;
  // The steps the experiment samples: with train.keep "evaluated", every save deletes the older
  // checkpoint files that neither these steps nor a resume need (docs/checkpoints.md). Empty
  // optional (a standalone `repro train` without --keep-steps): every checkpoint stays.
  std::optional<std::vector<int64_t>> keep_steps;
  // This process's argv: with local ranks to start, each rank re-runs it (without --nproc, with
  // --threads) and comes back here as one rank. REQUIRES: non-empty when ranks are started.
  std::vector<std::string> command_line;
};

// Trains until the run has `iterations` steps. From the start of training on, SIGTERM/SIGINT ask
// for a clean stop (checkpoint, then ExitCode::kInterrupted). Returns ExitCode::kOk, kDiverged or
// kInterrupted as an int; with local ranks started, the status of the first rank to fail.
int train_run(const TrainJob& job, std::ostream& err);

}  // namespace repro::tasks

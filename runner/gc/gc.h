#pragma once
// `repro gc`: applies each run's train.keep policy (base/train/keep_policy.h) to the checkpoints
// already on disk, as the trainer does after each save (docs/checkpoints.md, "Which checkpoints
// stay"). Torch-free.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace repro::runner {

struct GcOptions {
  std::string project_dir = ".";  // repro.lock is here; relative run directories are under it
  bool dry_run = false;           // list what would be deleted, delete nothing, take no lock
};

struct GcFile {
  std::string path;  // relative to the run directory: "checkpoints/opt000100.pt"
  uintmax_t bytes = 0;
};

// One run: what the policy kept and what went (or, in a dry run, would go).
struct GcRun {
  std::string run_id;
  std::string run_dir;
  std::string keep;                  // the policy applied: "evaluated" or "all"
  std::optional<int64_t> latest;     // the checkpoint a resume reads; none: nothing deleted
  std::vector<int64_t> model_steps;  // steps whose model and EMA files stay
  std::vector<GcFile> files;         // deleted (dry run: to delete), in deletion order
  uintmax_t bytes = 0;               // their sum
  std::vector<std::string> notes;    // why nothing was deleted, files that could not be
};

struct GcReport {
  std::vector<GcRun> runs;
  size_t files = 0;
  uintmax_t bytes = 0;
};

// The runs gc looks at: the experiment's (matrix order, stale ones included), or, for "", every
// run of every experiment in the store. ConfigError (exit 2) for an experiment the store lacks.
std::vector<std::string> gc_run_ids(Store& store, const std::string& experiment);

// For each run: the keep policy is "all" when any of its train tasks' configs says train.keep: all,
// else "evaluated", with the steps every sample task of the run reads (from any experiment, done or
// not) and the train specs' keep_steps; the latest complete checkpoint stays whole. A checkpoint
// a sample task that is not done reads is never deleted, nor any file of a step after the latest.
// A run whose specs cannot be read, or without a complete checkpoint, is left as it is (a note
// says why). Unless dry_run, holds the project lock while it deletes: IoError when a `repro run`
// (or `repro cancel`) holds it.
GcReport collect_garbage(Store& store, const std::vector<std::string>& run_ids, const GcOptions& options);

}  // namespace repro::runner

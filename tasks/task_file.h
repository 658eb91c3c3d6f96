#pragma once
// The task file `repro run` writes for each task (<run_dir>/tasks/<task_id>.json; docs/runner.md):
// {"v": 1, "task_id", "run_id", "kind", "run_dir", "events", "depends_on", "spec"}, plus
// "released": {"checkpoint", "config"} for a run from a checkpoint file.
#include <nlohmann/json.hpp>

#include <string>

#include "store/task_state.h"

namespace repro::tasks {

struct TaskFile {
  std::string path;  // where it was read from (errors name it)
  std::string task_id;
  std::string run_id;
  runner::TaskKind kind = runner::TaskKind::kTrain;
  std::string run_dir;  // the task writes only inside it
  std::string events;   // the task's events file
  nlohmann::json spec;  // one of runner/plan/task_spec.h's specs, by kind (parse_*_spec)
  // A sample task of a run from a checkpoint file ("released" member; runner/plan/task_graph.h):
  // the file, and the run's config (YAML) the task writes as <run_dir>/train.yaml. Both "" otherwise.
  std::string released_checkpoint;
  std::string released_config;
};

// Throws ConfigError naming the file and the missing or mistyped key; IoError when unreadable.
TaskFile read_task_file(const std::string& path);

}  // namespace repro::tasks

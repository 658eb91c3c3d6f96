#pragma once
// The files of a run under the project directory (docs/runner.md, "Files"): the task file each
// `repro task` reads, its events file and the attempts' logs.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "runner/plan/task_graph.h"

namespace repro::runner {

std::string run_dir_of(const std::string& project_dir, const std::string& run_id);  // <project>/runs/<run_id>
std::string task_file_of(const std::string& run_dir, const std::string& task_id);   // <run_dir>/tasks/<task_id>.json
// <run_dir>/tasks/<task_id>.events.jsonl (docs/events.md), for every kind: a longer training of
// a run is a new train task with its own file.
std::string events_file_of(const std::string& run_dir, const TaskSpec& task);
std::string log_file_of(const std::string& run_dir, const std::string& task_id,
                        int attempt);  // <run_dir>/logs/<task_id>.<attempt>.log

// The JSON `repro task <file>` reads: {"v":1, "task_id", "run_id", "kind", "run_dir", "events",
// "depends_on", "spec"}, and for a sample task of a run from a checkpoint file "released":
// {"checkpoint": path, "config": the run's YAML}.
nlohmann::json task_file_json(const std::string& project_dir, const TaskSpec& task);

// The command line of a task: [repro_binary, "task", <task file>].
std::vector<std::string> task_argv(const std::string& repro_binary, const std::string& task_file);

// Creates `dir` and its parents when missing. Throws IoError naming it when it cannot.
void make_directories(const std::string& dir);

// Creates the task's run directory with its tasks/ and logs/ folders and writes its task file
// (task_file_json) atomically. Throws IoError when it cannot.
void write_task_file(const std::string& project_dir, const TaskSpec& task);

}  // namespace repro::runner

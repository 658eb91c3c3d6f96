#pragma once
// Point reads by key for the store's writers: the orchestrator (runner/orchestrate/run_loop.h)
// and `repro cancel` (cancel.h) look up one task, run or experiment at a time while they write.
// Each function is one short query. What `repro status`, `logs` and `report` read is queries.h.
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"
#include "store/task_state.h"

namespace repro::runner {

// The task's state; nullopt when the store does not have the task.
std::optional<TaskState> task_state(Store& store, const std::string& task_id);

// Attempts begun for the task over all `repro run`s (tasks.attempts): the next attempt is this + 1.
// Throws IoError when the store does not have the task.
int task_attempts(Store& store, const std::string& task_id);

struct TaskStateRow {
  std::string task_id;
  TaskState state = TaskState::kPending;
};

// The run's tasks and their states, in the order they were put. Empty for an unknown run.
std::vector<TaskStateRow> task_states_of_run(Store& store, const std::string& run_id);

// The run directory recorded for the run (runs.run_dir); nullopt for an unknown run.
std::optional<std::string> stored_run_dir(Store& store, const std::string& run_id);

// Whether the store has an experiment of this name.
bool experiment_exists(Store& store, const std::string& name);

// The experiment's run ids in matrix order (position, then id). Empty for an unknown experiment.
std::vector<std::string> run_ids_of_experiment(Store& store, const std::string& experiment);

// Up to `limit` run ids that start with `prefix`: the run whose id is `prefix` first, the others in
// id order.
std::vector<std::string> run_ids_starting_with(Store& store, const std::string& prefix, int limit);

}  // namespace repro::runner

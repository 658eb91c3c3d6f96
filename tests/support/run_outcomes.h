#pragma once
// Looking up one task's result after an orchestrator run: in the summary, and in the store.
#include <stdexcept>
#include <string>

#include "runner/orchestrate/orchestrator.h"
#include "store/queries.h"

namespace repro::test {

// The task's outcome in the summary; throws std::runtime_error when it has none.
inline const runner::TaskOutcome& outcome(const runner::OrchestratorSummary& s, const std::string& id) {
  for (const auto& t : s.tasks)
    if (t.task_id == id) return t;
  throw std::runtime_error("no task " + id);
}

// The task's state in the store; throws std::runtime_error when the run has no such task.
inline runner::TaskState state_of(runner::Store& store, const std::string& run, const std::string& id) {
  for (const auto& t : runner::tasks_of_run(store, run))
    if (t.task_id == id) return t.state;
  throw std::runtime_error("no task " + id);
}

}  // namespace repro::test

#pragma once
// What the orchestrator reads from a task's spec, parsed once per task, and the executor slot a
// task asks for (docs/runner.md, "Executors").
#include <cstdint>
#include <optional>
#include <string>

#include "runner/executor/executor.h"
#include "runner/orchestrate/orchestrator.h"
#include "runner/plan/task_graph.h"

namespace repro::runner {

struct TaskTraits {
  std::optional<int> gpus;            // the spec's integer "gpus": GPUs the task asks for outright
  std::optional<int64_t> iterations;  // a train task's integer "iterations": the progress total
};

// Parses task.spec once. Keys absent or of another type are left empty (the planner's specs
// carry no "gpus"; a hand-written plan may). Throws nlohmann's parse error for a spec that is not
// JSON.
TaskTraits task_traits(const TaskSpec& task);

// The slot the task asks for: options.slot_for when set, else the spec's "gpus", else one GPU
// per process (TaskSpec::processes) when the executor fits a 1-GPU request, else CPU processes.
SlotRequest slot_of(const Executor& executor, const OrchestratorOptions& options, const TaskSpec& task,
                    const TaskTraits& traits);

// Why a task can never run on the executor named `executor` (Executor::fits is false), and what to
// change.
std::string unfit_reason(const SlotRequest& slot, const std::string& executor);

}  // namespace repro::runner

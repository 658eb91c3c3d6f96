#pragma once
// The eval task of `repro run`: features of a sample batch and of the reference batch, then the
// evaluator's metrics, written as a result record into the task's events.
#include <nlohmann/json.hpp>

#include <iosfwd>

namespace repro::cli {

// `task` is the task file (runner/orchestrate/orchestrator.h task_file_json). Returns the exit code.
int eval_task(const nlohmann::json& task, std::ostream& err);

}  // namespace repro::cli

#pragma once
// The store's small vocabularies: task kinds, task states, executors. Stored in SQLite as the
// lowercase words below (CHECK constraints in schema.cpp hold the same lists).
#include <string>

namespace repro::runner {

enum class TaskKind { kTrain, kSample, kEval };

// A task's life: pending -> running -> done | failed | cancelled. The runner may move a failed or
// cancelled task back to pending when it launches it again. Runs use the same words for their
// status.
enum class TaskState { kPending, kRunning, kDone, kFailed, kCancelled };

enum class ExecutorKind { kLocal, kSlurm };

// "train", "sample", "eval"; "pending", "running", "done", "failed", "cancelled"; "local", "slurm".
std::string to_string(TaskKind kind);
std::string to_string(TaskState state);
std::string to_string(ExecutorKind executor);

// Inverse of to_string. Throws IoError naming the word and the valid choices (a database holding
// another word was written by something else).
TaskKind parse_task_kind(const std::string& word);
TaskState parse_task_state(const std::string& word);
ExecutorKind parse_executor_kind(const std::string& word);

// A run's status from its tasks' states: running while any runs, done when all are done, else
// failed if any failed, else cancelled if any was cancelled, else pending. Add each task's state.
class RunStatusTally {
 public:
  void add(TaskState s) {
    any_running_ |= s == TaskState::kRunning;
    any_failed_ |= s == TaskState::kFailed;
    any_cancelled_ |= s == TaskState::kCancelled;
    all_done_ &= s == TaskState::kDone;
  }
  TaskState status() const {
    return any_running_     ? TaskState::kRunning
           : all_done_      ? TaskState::kDone
           : any_failed_    ? TaskState::kFailed
           : any_cancelled_ ? TaskState::kCancelled
                            : TaskState::kPending;
  }

 private:
  bool any_running_ = false, any_failed_ = false, any_cancelled_ = false, all_done_ = true;
};

}  // namespace repro::runner

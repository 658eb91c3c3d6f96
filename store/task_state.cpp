#include "store/task_state.h"

#include "base/util/errors.h"

namespace repro::runner {
namespace {

template <typename Enum, size_t N>
Enum parse_word(const std::string& word, const char* what, const char* const (&words)[N]) {
  std::string choices;
  for (size_t i = 0; i < N; ++i) {
    if (word == words[i]) return static_cast<Enum>(i);
    choices += (i ? ", " : "") + std::string(words[i]);
  }
  throw IoError(std::string("unknown ") + what + " '" + word + "' (expected one of " + choices + ")");
}

constexpr const char* kKindWords[] = {"train", "sample", "eval"};
constexpr const char* kStateWords[] = {"pending", "running", "done", "failed", "cancelled"};
constexpr const char* kExecutorWords[] = {"local", "slurm"};

}  // namespace

std::string to_string(TaskKind kind) { return kKindWords[static_cast<int>(kind)]; }
std::string to_string(TaskState state) { return kStateWords[static_cast<int>(state)]; }
std::string to_string(ExecutorKind executor) { return kExecutorWords[static_cast<int>(executor)]; }

TaskKind parse_task_kind(const std::string& word) { return parse_word<TaskKind>(word, "task kind", kKindWords); }
TaskState parse_task_state(const std::string& word) { return parse_word<TaskState>(word, "task state", kStateWords); }
ExecutorKind parse_executor_kind(const std::string& word) {
  return parse_word<ExecutorKind>(word, "executor", kExecutorWords);
}

}  // namespace repro::runner

#include "tasks/run_task.h"

#include "base/util/exit_code.h"
#include "tasks/task_bodies.h"
#include "tasks/task_file.h"

namespace repro::tasks {

int run_task(const std::string& path, const TaskOptions& options, std::ostream& err) {
  const TaskFile task = read_task_file(path);
  switch (task.kind) {
    case runner::TaskKind::kTrain:
      return train_task(task, runner::parse_train_spec(task.spec, path), options, err);
    case runner::TaskKind::kSample:
      return sample_task(task, runner::parse_sample_spec(task.spec, path), options.threads, err);
    case runner::TaskKind::kEval:
      return eval_task(task, runner::parse_eval_spec(task.spec, path), err);
  }
  return to_int(ExitCode::kInternal);  // not reached: read_task_file knows three kinds
}

}  // namespace repro::tasks

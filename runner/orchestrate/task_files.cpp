#include "runner/orchestrate/task_files.h"

#include <filesystem>

#include "base/util/errors.h"
#include "base/util/file_io.h"

namespace repro::runner {

namespace fs = std::filesystem;

std::string run_dir_of(const std::string& project_dir, const std::string& run_id) {
  return (fs::path(project_dir) / "runs" / run_id).string();
}
std::string task_file_of(const std::string& run_dir, const std::string& task_id) {
  return (fs::path(run_dir) / "tasks" / (task_id + ".json")).string();
}
std::string events_file_of(const std::string& run_dir, const TaskSpec& task) {
  // One file per task, train tasks too: a longer training of the same run is a new task that must
  // not inherit the previous one's `end completed` (the store's state follows its own file).
  return (fs::path(run_dir) / "tasks" / (task.task_id + ".events.jsonl")).string();
}
std::string log_file_of(const std::string& run_dir, const std::string& task_id, int attempt) {
  return (fs::path(run_dir) / "logs" / (task_id + "." + std::to_string(attempt) + ".log")).string();
}

nlohmann::json task_file_json(const std::string& project_dir, const TaskSpec& task) {
  const std::string dir = run_dir_of(project_dir, task.run_id);
  nlohmann::json j = {{"v", 1},
                      {"task_id", task.task_id},
                      {"run_id", task.run_id},
                      {"kind", task.kind},
                      {"run_dir", dir},
                      {"events", events_file_of(dir, task)},
                      {"depends_on", task.depends_on},
                      {"spec", nlohmann::json::parse(task.spec)}};
  if (!task.checkpoint_path.empty())
    j["released"] = {{"checkpoint", task.checkpoint_path}, {"config", task.run_config}};
  return j;
}

std::vector<std::string> task_argv(const std::string& repro_binary, const std::string& task_file) {
  return {repro_binary, "task", task_file};
}

void make_directories(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IoError("cannot create " + dir + ": " + ec.message());
}

void write_task_file(const std::string& project_dir, const TaskSpec& task) {
  const std::string run_dir = run_dir_of(project_dir, task.run_id);
  make_directories((fs::path(run_dir) / "tasks").string());
  make_directories((fs::path(run_dir) / "logs").string());
  write_file_atomic(task_file_of(run_dir, task.task_id), task_file_json(project_dir, task).dump(2) + "\n");
}

}  // namespace repro::runner

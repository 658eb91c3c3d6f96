#include "runner/gc/gc.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <set>

#include "base/train/keep_policy.h"
#include "base/util/errors.h"
#include "config/strict_yaml.h"
#include "config/train_config_yaml.h"
#include "runner/gc/latest_checkpoint.h"
#include "runner/orchestrate/project_lock.h"
#include "runner/plan/task_spec.h"
#include "store/lookups.h"
#include "store/queries.h"

namespace repro::runner {

namespace {

namespace fs = std::filesystem;

// What a run's tasks in the store say about its checkpoints.
struct RunNeeds {
  bool has_train = false;
  std::string keep = "evaluated";
  core::TrainConfig train;  // of the longest train task: save_interval and iterations
  // Every step a sample task of the run reads (done or not: a pending one's checkpoint is so never
  // deleted), and the train specs' keep_steps.
  std::vector<int64_t> evaluated;
};

void add_train_task(const TaskSummary& t, RunNeeds& needs) {
  const std::string where = "task " + t.task_id;
  const TrainTaskSpec spec = parse_train_spec(nlohmann::json::parse(t.spec), where);
  // Through the bounds guard every reader of YAML uses: the store's text is not trusted.
  const std::string name = where + " spec.config";
  const config::TrainFile file = config::parse_train_yaml(config::load_yaml_string(spec.config, name), name, "");
  if (file.train.keep == "all") needs.keep = "all";
  if (!needs.has_train || spec.iterations > needs.train.iterations) {
    needs.train = file.train;
    needs.train.iterations = spec.iterations;
  }
  needs.has_train = true;
  if (spec.keep_steps) needs.evaluated.insert(needs.evaluated.end(), spec.keep_steps->begin(), spec.keep_steps->end());
}

// Throws (ConfigError, nlohmann's and yaml-cpp's errors) when a spec cannot be read: then what the
// run needs is not known.
RunNeeds needs_of(Store& store, const std::string& run_id) {
  RunNeeds needs;
  for (const auto& t : tasks_of_run(store, run_id)) {
    if (t.kind == TaskKind::kTrain) add_train_task(t, needs);
    if (t.kind != TaskKind::kSample) continue;
    needs.evaluated.push_back(parse_sample_spec(nlohmann::json::parse(t.spec), "task " + t.task_id).checkpoint_step);
  }
  std::sort(needs.evaluated.begin(), needs.evaluated.end());
  needs.evaluated.erase(std::unique(needs.evaluated.begin(), needs.evaluated.end()), needs.evaluated.end());
  return needs;
}

std::string resolved_run_dir(Store& store, const std::string& run_id, const GcOptions& o) {
  const fs::path stored = stored_run_dir(store, run_id).value_or("");
  if (stored.empty()) return "";
  return (stored.is_absolute() ? stored : fs::path(o.project_dir) / stored).lexically_normal().string();
}

// Deletes (unless a dry run) the files the plan does not keep; fills run.files and run.bytes.
void prune_run(GcRun& run, const core::KeepPlan& plan, bool dry_run) {
  const fs::path dir = fs::path(run.run_dir) / "checkpoints";
  std::vector<std::string> names;
  std::error_code ec;  // a listing cut short deletes less, never more
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    names.push_back(it->path().filename().string());
  for (const auto& name : core::files_to_prune(names, plan)) {
    std::error_code size_error, remove_error;
    const fs::path path = dir / name;
    const uintmax_t size = fs::file_size(path, size_error);
    if (!dry_run && !fs::remove(path, remove_error)) {
      if (remove_error) run.notes.push_back("cannot delete " + path.string() + ": " + remove_error.message());
      continue;
    }
    run.files.push_back({"checkpoints/" + name, size_error ? 0 : size});
    run.bytes += run.files.back().bytes;
  }
}

GcRun gc_run(Store& store, const std::string& run_id, const GcOptions& o) {
  GcRun run;
  run.run_id = run_id;
  run.run_dir = resolved_run_dir(store, run_id, o);
  RunNeeds needs;
  try {
    needs = needs_of(store, run_id);
  } catch (const std::exception& e) {
    run.notes.push_back(std::string("left as it is: a task spec cannot be read (") + e.what() + ")");
    return run;
  }
  run.keep = needs.keep;
  if (!needs.has_train || run.run_dir.empty()) {
    run.notes.push_back(
        "left as it is: nothing it trained to prune (no train task: a run from a checkpoint file; or no run directory "
        "in the store)");
    return run;
  }
  std::vector<std::string> skipped;
  run.latest = latest_complete_checkpoint((fs::path(run.run_dir) / "checkpoints").string(), &skipped);
  run.notes = skipped;
  if (!run.latest) {
    run.notes.push_back("left as it is: no complete checkpoint (nothing a resume could read)");
    return run;
  }
  const core::KeepPlan plan = core::keep_plan(
      needs.keep, core::saved_steps(needs.train.save_interval, needs.train.iterations), needs.evaluated, *run.latest);
  run.model_steps = plan.model_steps;
  prune_run(run, plan, o.dry_run);
  return run;
}

}  // namespace

std::vector<std::string> gc_run_ids(Store& store, const std::string& experiment) {
  if (!experiment.empty()) {
    if (!experiment_exists(store, experiment))
      throw ConfigError(store.path(), "EXPERIMENT", "no experiment '" + experiment + "' in the store");
    return run_ids_of_experiment(store, experiment);
  }
  std::vector<std::string> ids;
  std::set<std::string> seen;
  for (const auto& name : experiment_names(store))
    for (auto& id : run_ids_of_experiment(store, name))
      if (seen.insert(id).second) ids.push_back(std::move(id));
  return ids;
}

GcReport collect_garbage(Store& store, const std::vector<std::string>& run_ids, const GcOptions& o) {
  std::unique_ptr<ProjectLock> lock;
  if (!o.dry_run) {
    lock = ProjectLock::try_take(o.project_dir);
    if (!lock)
      throw IoError(project_lock_path(o.project_dir) + ": a `repro run` or `repro cancel` is working in " +
                    o.project_dir + "; run `repro gc` when it has finished (a dry run may go now)");
  }
  GcReport report;
  for (const auto& id : run_ids) {
    report.runs.push_back(gc_run(store, id, o));
    report.files += report.runs.back().files.size();
    report.bytes += report.runs.back().bytes;
  }
  return report;
}

}  // namespace repro::runner

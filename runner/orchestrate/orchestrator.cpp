#include "runner/orchestrate/orchestrator.h"

#include <set>

#include "base/util/errors.h"
#include "runner/orchestrate/clock.h"
#include "runner/orchestrate/project_lock.h"
#include "runner/orchestrate/run_loop.h"
#include "runner/orchestrate/task_traits.h"
#include "store/cancel_requests.h"
#include "store/lookups.h"

namespace repro::runner {

Plan make_plan(const ExperimentRow& experiment, const Expansion& expansion, const Expansion* full) {
  Plan plan;
  plan.experiment = experiment;
  std::set<std::string> seen;
  for (size_t i = 0; i < expansion.runs.size(); ++i) {
    const PlannedRun& r = expansion.runs[i];
    if (!seen.insert(r.run_id).second) continue;
    PlanRun pr;
    pr.run_id = r.run_id;
    for (const auto& [axis, label] : r.labels) pr.axes[axis] = label;
    pr.position = static_cast<int64_t>(i);
    pr.config = r.identity_json;
    plan.runs.push_back(std::move(pr));
  }
  plan.tasks = plan_tasks(expansion.runs, full ? &full->runs : nullptr);
  std::set<std::string> listed;
  for (const auto& r : (full ? *full : expansion).runs)
    if (listed.insert(r.run_id).second) plan.expansion_run_ids.push_back(r.run_id);
  plan.expansion_partial = !(full ? *full : expansion).unnamed.empty();
  return plan;
}

Orchestrator::Orchestrator(Store& store, Executor& executor, OrchestratorOptions options)
    : store_(store), executor_(executor), options_(std::move(options)) {
  if (options_.retry.max_attempts < 1)
    throw ConfigError("retry", "max_attempts",
                      "expected at least 1, got " + std::to_string(options_.retry.max_attempts));
}

std::vector<DryRunLine> Orchestrator::dry_run(Store* store, const Executor& executor, const Plan& plan,
                                              const OrchestratorOptions& options) {
  std::vector<DryRunLine> out;
  std::map<std::string, bool> done;
  for (const auto& t : plan.tasks) {
    DryRunLine line;
    line.task_id = t.task_id;
    line.run_id = t.run_id;
    line.kind = t.kind;
    line.depends_on = t.depends_on;
    line.slot = slot_of(executor, options, t, task_traits(t));
    line.fits = executor.fits(line.slot);
    if (!line.fits) line.unfit_reason = unfit_reason(line.slot, executor.name());
    line.argv = task_argv(options.repro_binary, task_file_of(run_dir_of(options.project_dir, t.run_id), t.task_id));
    line.state = "new";
    if (store)
      if (const auto s = task_state(*store, t.task_id)) line.state = to_string(*s);
    done[t.task_id] = line.state == "done";
    bool deps_done = true;
    for (const auto& d : t.depends_on) deps_done &= done[d];
    line.action = done[t.task_id] ? "skip" : deps_done ? "launch" : "wait";
    out.push_back(std::move(line));
  }
  return out;
}

OrchestratorSummary Orchestrator::run(const Plan& plan) {
  make_directories(options_.project_dir);
  ProjectLock lock(options_.project_dir);
  // Requests made before this orchestrator held the lock were meant for an earlier one (or for
  // nobody): they must not cancel this run. A `repro cancel` still waiting on one asks again.
  expire_cancel_requests(store_);
  SystemClock clock;
  return RunLoop(store_, executor_, options_, clock, plan).run();
}

}  // namespace repro::runner

#include "runner/orchestrate/cancel.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "base/util/errors.h"
#include "base/util/strings.h"
#include "runner/orchestrate/leftover_task.h"
#include "runner/orchestrate/project_lock.h"
#include "runner/orchestrate/task_files.h"
#include "store/cancel_requests.h"
#include "store/lookups.h"
#include "store/queries.h"
#include "store/records.h"
#include "store/transaction.h"

namespace repro::runner {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

namespace {

std::chrono::duration<double> seconds(double s) { return std::chrono::duration<double>(s); }

// The project directory the runs live in: <project>/runs/<run_id> is recorded for each.
std::string project_dir_of(Store& store, const CancelTarget& target, const std::string& fallback) {
  std::set<std::string> dirs;
  for (const auto& id : target.run_ids)
    if (const auto run_dir = stored_run_dir(store, id))
      dirs.insert(fs::path(*run_dir).parent_path().parent_path().string());
  if (dirs.size() > 1)
    throw ConfigError(store.path(), target.name,
                      "its runs live in " + std::to_string(dirs.size()) + " project directories (" + *dirs.begin() +
                          ", " + *std::next(dirs.begin()) + "); cancel them one run at a time");
  if (!dirs.empty() && fs::is_directory(*dirs.begin())) return *dirs.begin();
  if (!fallback.empty()) return fallback;
  return fs::absolute(store.path()).parent_path().string();
}

struct TaskRef {
  std::string task_id, run_id;
  TaskState state = TaskState::kPending;
  std::string task_file;
};

std::vector<TaskRef> tasks_of(Store& store, const std::string& run_id) {
  const std::optional<std::string> run_dir = stored_run_dir(store, run_id);
  std::vector<TaskRef> out;
  if (!run_dir) return out;
  for (auto& [task_id, state] : task_states_of_run(store, run_id))
    out.push_back(TaskRef{task_id, run_id, state, task_file_of(*run_dir, task_id)});
  return out;
}

void set_cancelled(Store& store, const TaskRef& t) {
  WriteTransaction tx(store);
  set_task_state(store, t.task_id, TaskState::kCancelled);
  put_provenance(store, t.run_id, t.task_id, {{"state_reason", kCancelledByRequest}});
  tx.commit();
}

struct Counts {
  int cancelled = 0, stopped = 0;
};

// What a killed orchestrator left running in the runs: the tasks recorded as running and their
// open attempts.
struct Leftovers {
  struct Open {
    TaskRef task;
    AttemptRecord attempt;
  };
  std::vector<TaskRef> running;
  std::vector<Open> open;
  bool any_slurm = false;  // an open attempt is a Slurm job
};

Leftovers leftovers_of(Store& store, const std::vector<std::string>& run_ids) {
  Leftovers l;
  for (const auto& run_id : run_ids)
    for (auto& t : tasks_of(store, run_id)) {
      if (t.state != TaskState::kRunning) continue;
      for (const auto& a : attempts_of_task(store, t.task_id))
        if (!a.ended) {
          l.open.push_back({t, a});
          l.any_slurm |= a.executor == ExecutorKind::kSlurm && !a.job_id.empty();
        }
      l.running.push_back(std::move(t));
    }
  return l;
}

// Slurm jobs being stopped: executor key (task id) -> task, attempt.
using InFlight = std::map<std::string, std::pair<TaskRef, int>>;

// Leftover processes of a dead orchestrator (they got SIGTERM from PR_SET_PDEATHSIG and may be
// checkpointing) are waited for, so that a later `repro run` never runs beside one, and their
// attempts closed; Slurm jobs outlive their orchestrator and are stopped through the executor
// (adopt, then cancel): those are returned, still to be waited for.
InFlight stop_open_attempts(Store& store, const Leftovers& leftovers, SlurmExecutor* slurm, const CancelOptions& o) {
  InFlight in_flight;
  for (const auto& [t, a] : leftovers.open) {
    if (a.executor == ExecutorKind::kSlurm && slurm && !a.job_id.empty() &&
        slurm->adopt(t.task_id, a.job_id, a.log_path)) {
      slurm->cancel(t.task_id, o.force);
      in_flight[t.task_id] = {t, a.attempt};
      continue;
    }
    std::string reason = "lost (the orchestrator ended while it ran)";
    if (a.executor == ExecutorKind::kLocal && !a.job_id.empty()) {
      stop_leftover_task(static_cast<pid_t>(std::stoll(a.job_id)), t.task_file, o.force ? 0 : o.kill_grace_s);
      reason = kCancelledByRequest;
    }
    end_attempt(store, t.task_id, a.attempt, AttemptEnd{std::nullopt, reason, std::nullopt});
  }
  return in_flight;
}

// Waits for the scancelled jobs to end, killing them after the kill grace; each that ends has its
// attempt closed and its task cancelled. Jobs still there end_wait_s after the kill are left to the
// next `repro run` (report.unfinished_jobs).
void wait_for_jobs(Store& store, SlurmExecutor& slurm, const InFlight& in_flight, const CancelOptions& o,
                   std::map<std::string, Counts>& counts, CancelReport& report) {
  const auto start = SteadyClock::now();
  bool forced = o.force;
  auto forced_at = start;
  while (slurm.running() > 0) {
    for (const Finished& f : slurm.poll()) {
      const auto& [t, attempt] = in_flight.at(f.key);
      AttemptEnd end{f.exit_code, kCancelledByRequest, std::nullopt};
      if (f.signal) end.reason += " (signal " + std::to_string(*f.signal) + ")";
      end_attempt(store, t.task_id, attempt, end);
      set_cancelled(store, t);
      ++counts[t.run_id].stopped;
      ++report.slurm_jobs;
    }
    if (slurm.running() == 0) break;
    const auto now = SteadyClock::now();
    if (!forced && now - start >= seconds(o.kill_grace_s)) {
      forced = true;
      forced_at = now;
      slurm.stop_all(true);
    } else if (forced && now - forced_at >= seconds(o.end_wait_s)) {
      report.unfinished_jobs = slurm.running();
      break;
    }
    std::this_thread::sleep_for(seconds(o.poll_s));
  }
}

// Carries out the requests for `run_ids` while this process holds the project lock (no
// orchestrator alive). Returns what was done per run.
std::map<std::string, Counts> cancel_directly(Store& store, const std::vector<std::string>& run_ids,
                                              const CancelOptions& o, CancelReport& report) {
  const Leftovers leftovers = leftovers_of(store, run_ids);
  // Before anything changes: without Slurm's programs the jobs could not be stopped.
  std::unique_ptr<SlurmExecutor> slurm;
  if (leftovers.any_slurm) slurm = std::make_unique<SlurmExecutor>(o.slurm);

  std::map<std::string, Counts> counts;
  for (const auto& run_id : run_ids) counts[run_id].cancelled = cancel_waiting_tasks(store, run_id);
  const InFlight in_flight = stop_open_attempts(store, leftovers, slurm.get(), o);
  for (const auto& t : leftovers.running) {
    if (in_flight.count(t.task_id)) continue;  // its Slurm job has not ended yet
    set_cancelled(store, t);
    ++counts[t.run_id].stopped;
  }
  if (slurm) wait_for_jobs(store, *slurm, in_flight, o, counts, report);
  for (const auto& run_id : run_ids) refresh_run_status(store, run_id);
  return counts;
}

}  // namespace

CancelTarget resolve_cancel_target(Store& store, const std::string& name) {
  CancelTarget target;
  target.name = name;
  if (name.empty())
    throw ConfigError("repro cancel", "EXPERIMENT_OR_RUN", "expected an experiment name or a run id, got ''");
  if (experiment_exists(store, name)) {
    target.experiment = name;
    target.run_ids = run_ids_of_experiment(store, name);
    if (target.run_ids.empty())
      throw ConfigError("repro cancel", "EXPERIMENT_OR_RUN",
                        "experiment '" + name + "' in " + store.path() + " has no runs");
    return target;
  }
  // An exact run id, else the runs it is a prefix of (an exact id sorts first among them).
  const std::vector<std::string> found = run_ids_starting_with(store, name, 6);
  if (!found.empty() && (found[0] == name || found.size() == 1)) {
    target.run_ids = {found[0]};
    return target;
  }
  if (found.empty())
    throw ConfigError("repro cancel", "EXPERIMENT_OR_RUN",
                      "no experiment or run '" + name + "' in " + store.path() + " (`repro status` lists them)");
  const std::string list = join({found.begin(), found.begin() + std::min<size_t>(found.size(), 5)}, ", ");
  throw ConfigError("repro cancel", "EXPERIMENT_OR_RUN",
                    "'" + name + "' is the start of several run ids (" + list + (found.size() > 5 ? ", ..." : "") +
                        "); give more of it");
}

int cancel_waiting_tasks(Store& store, const std::string& run_id) {
  WriteTransaction tx(store);
  int n = 0;
  for (const auto& t : tasks_of(store, run_id))
    if (t.state == TaskState::kPending) {
      set_cancelled(store, t);
      ++n;
    }
  tx.commit();
  return n;
}

void refresh_run_status(Store& store, const std::string& run_id) {
  RunStatusTally tally;
  for (const auto& t : tasks_of(store, run_id)) tally.add(t.state);
  set_run_status(store, run_id, tally.status());
}

CancelReport cancel_runs(Store& store, const CancelTarget& target, const CancelOptions& options) {
  CancelReport report;
  report.project_dir = project_dir_of(store, target, options.project_dir);
  for (const auto& run_id : target.run_ids)
    for (const auto& t : tasks_of(store, run_id))
      report.finished_tasks +=
          t.state == TaskState::kDone || t.state == TaskState::kFailed || t.state == TaskState::kCancelled;

  std::map<std::string, int64_t> requests;  // run id -> its request
  {
    WriteTransaction tx(store);
    for (const auto& run_id : target.run_ids) requests[run_id] = put_cancel_request(store, run_id, options.force);
    tx.commit();
  }
  const auto start = SteadyClock::now();
  while (true) {
    std::vector<std::string> waiting;
    for (auto& [run_id, id] : requests) {
      const auto r = cancel_request(store, id);
      if (!r) continue;  // its run was deleted meanwhile
      if (r->handled_by == kHandledExpired) {
        // Expired by a `repro run` that started after it was made: ask that one.
        id = put_cancel_request(store, run_id, options.force);
        waiting.push_back(run_id);
      } else if (!r->handled) {
        waiting.push_back(run_id);
      }
    }
    if (waiting.empty()) break;
    if (auto lock = ProjectLock::try_take(report.project_dir)) {
      // No `repro run` is alive here, and none starts while the lock is held.
      const auto counts = cancel_directly(store, waiting, options, report);
      for (const auto& run_id : waiting)
        mark_cancel_request(store, requests[run_id], kHandledByCancel, counts.at(run_id).cancelled,
                            counts.at(run_id).stopped);
      break;
    }
    if (SteadyClock::now() - start >= seconds(options.ack_wait_s)) {
      report.waiting = true;
      break;
    }
    std::this_thread::sleep_for(seconds(options.poll_s));
  }
  for (const auto& [run_id, id] : requests) {
    const auto r = cancel_request(store, id);
    if (!r || !r->handled) continue;
    report.by_orchestrator |= r->handled_by == kHandledByRun;
    report.cancelled_tasks += r->cancelled_tasks;
    report.stopped_tasks += r->stopped_tasks;
  }
  return report;
}

}  // namespace repro::runner

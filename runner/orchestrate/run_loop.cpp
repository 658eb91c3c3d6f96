#include "runner/orchestrate/run_loop.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <optional>
#include <sstream>

#include "base/util/errors.h"
#include "runner/orchestrate/cancel.h"
#include "runner/orchestrate/leftover_task.h"
#include "runner/orchestrate/task_traits.h"
#include "store/cancel_requests.h"
#include "store/ingest.h"
#include "store/lookups.h"
#include "store/queries.h"
#include "store/records.h"
#include "store/transaction.h"

namespace repro::runner {

namespace fs = std::filesystem;

struct RunLoop::Task {
  const TaskSpec* spec = nullptr;
  TaskTraits traits;
  std::string run_dir, task_file, events;
  SlotRequest slot;
  TaskState state = TaskState::kPending;
  bool skipped = false;                                          // done before this `repro run`
  int attempts = 0;                                              // launched by this `repro run`
  int store_attempt = 0;                                         // the store's number of the running attempt
  std::string reason;                                            // why it failed or was cancelled
  bool cancel_requested = false;                                 // repro cancel asked to stop the running attempt
  double not_before = -std::numeric_limits<double>::infinity();  // retry backoff, clock time
  double last_ingest = 0;
  // Progress within the running attempt, for the ETA.
  std::optional<int64_t> first_step;
  double first_step_at = 0;
};

RunLoop::RunLoop(Store& store, Executor& executor, const OrchestratorOptions& options, Clock& clock, const Plan& plan)
    : store_(store), executor_(executor), options_(options), clock_(clock), plan_(plan), tasks_(plan.tasks.size()) {
  for (size_t i = 0; i < plan.tasks.size(); ++i) {
    Task& t = tasks_[i];
    t.spec = &plan.tasks[i];
    t.traits = task_traits(*t.spec);
    t.run_dir = run_dir_of(options.project_dir, t.spec->run_id);
    t.task_file = task_file_of(t.run_dir, t.spec->task_id);
    t.events = events_file_of(t.run_dir, *t.spec);
    t.slot = slot_of(executor, options, *t.spec, t.traits);
    index_[t.spec->task_id] = i;
  }
  for (const auto& r : plan.runs) plan_runs_.insert(r.run_id);
}

RunLoop::~RunLoop() = default;

OrchestratorSummary RunLoop::run() {
  record_plan();
  write_task_files();
  for (auto& t : tasks_) admit(t);
  for (const auto& r : plan_.runs) update_run_status(r.run_id);
  while (true) {
    take_cancel_requests();
    take_stop_requests();
    poll();
    const bool waiting = launch_ready();
    ingest_running();
    if (executor_.running() == 0 && (!waiting || stopping_)) break;
    clock_.sleep_for(options_.poll_interval_s);
  }
  return summarize();
}

// ---- admit ----

// The experiment, its current expansion, its runs and tasks; existing rows are reused.
void RunLoop::record_plan() {
  WriteTransaction tx(store_);
  put_experiment(store_, plan_.experiment);
  // A Plan built without make_plan may lack the expansion: its runs are then all there is.
  std::vector<std::string> current = plan_.expansion_run_ids;
  if (current.empty())
    for (const auto& r : plan_.runs) current.push_back(r.run_id);
  if (plan_.expansion_partial)
    add_to_current_expansion(store_, plan_.experiment.name, current);
  else
    set_current_expansion(store_, plan_.experiment.name, current);
  for (const auto& r : plan_.runs)
    put_run(store_, RunRow{r.run_id, plan_.experiment.name, r.axes.dump(), r.position, r.config,
                           run_dir_of(options_.project_dir, r.run_id)});
  for (const auto& t : tasks_)
    put_task(store_, TaskRow{t.spec->task_id, t.spec->run_id, parse_task_kind(t.spec->kind), t.spec->spec});
  tx.commit();
}

void RunLoop::write_task_files() {
  for (const auto& t : tasks_) write_task_file(options_.project_dir, *t.spec);
}

// Catches up with what the task wrote while no orchestrator watched. A task done before is
// skipped; one a killed orchestrator left `running` is adopted or recovered; every other becomes
// pending, so a rerun launches exactly what is missing.
void RunLoop::admit(Task& t) {
  const std::optional<TaskState> before = task_state(store_, t.spec->task_id);
  if (before == TaskState::kDone) {
    t.state = TaskState::kDone;
    t.skipped = true;
    return;
  }
  ingest(t);
  if (before == TaskState::kRunning) {
    if (recover_running(t)) return;
    ingest(t);  // what the stopped process wrote last
  }
  if (task_state(store_, t.spec->task_id) == TaskState::kDone) {  // it completed after its orchestrator died
    t.state = TaskState::kDone;
    t.skipped = true;
    return;
  }
  set_state(t, TaskState::kPending, "");
}

// The open attempts of a task a killed orchestrator left running. A batch job outlives its
// orchestrator: it is adopted (its end comes from poll()) instead of relaunched beside itself.
// Any other attempt is closed as lost, its leftover process stopped first. True when adopted.
bool RunLoop::recover_running(Task& t) {
  bool adopted = false;
  for (const auto& a : attempts_of_task(store_, t.spec->task_id)) {
    if (a.ended) continue;
    if (!adopted && a.executor == ExecutorKind::kSlurm && !a.job_id.empty() &&
        executor_.adopt(t.spec->task_id, a.job_id, a.log_path)) {
      adopted = true;
      t.store_attempt = a.attempt;
      continue;
    }
    if (!a.job_id.empty() && a.executor == ExecutorKind::kLocal)
      stop_leftover_task(static_cast<pid_t>(std::stoll(a.job_id)), t.task_file, options_.orphan_grace_s);
    end_attempt(store_, t.spec->task_id, a.attempt,
                AttemptEnd{std::nullopt, "lost (the orchestrator ended while it ran)", std::nullopt});
  }
  if (adopted) {
    t.state = TaskState::kRunning;
    t.attempts = 1;
    t.last_ingest = clock_.now();
  }
  return adopted;
}

// ---- take_requests ----

// `repro cancel` (docs/runner.md, "Cancel"): a cancelled run's pending tasks (dependants of its
// running ones included) are cancelled at once, its running attempts asked to stop (SIGTERM /
// scancel --signal=TERM; killed with force); its tasks of other experiments' plans that wait in
// the store are cancelled there.
void RunLoop::take_cancel_requests() {
  for (const CancelRequest& r : waiting_cancel_requests(store_)) {
    int cancelled = 0, stopped = 0;
    for (auto& t : tasks_) {
      if (t.spec->run_id != r.run_id) continue;
      if (t.state == TaskState::kPending) {
        set_state(t, TaskState::kCancelled, kCancelledByRequest);
        progress(t, kCancelledByRequest);
        ++cancelled;
      } else if (t.state == TaskState::kRunning) {
        t.cancel_requested = true;
        executor_.cancel(t.spec->task_id, r.force);
        progress(t, r.force ? "killing (repro cancel --force)" : "stopping (repro cancel)");
        ++stopped;
      }
    }
    cancelled += cancel_waiting_tasks(store_, r.run_id);
    if (plan_runs_.count(r.run_id))
      update_run_status(r.run_id);
    else
      refresh_run_status(store_, r.run_id);
    mark_cancel_request(store_, r.request_id, kHandledByRun, cancelled, stopped);
  }
}

// The first stop request asks every task to stop and cancels what has not started; the second
// kills the tasks.
void RunLoop::take_stop_requests() {
  const int requests = options_.stop_requests ? options_.stop_requests->load() : 0;
  if (requests >= 1 && !stopping_) {
    stopping_ = true;
    executor_.stop_all(false);
    for (auto& t : tasks_)
      if (t.state == TaskState::kPending) {
        set_state(t, TaskState::kCancelled, "cancelled before launch");
        progress(t, "cancelled");
      }
    for (const auto& r : plan_.runs) update_run_status(r.run_id);
  }
  if (requests >= 2 && !forced_) {
    forced_ = true;
    executor_.stop_all(true);
  }
}

// ---- poll ----

void RunLoop::poll() {
  for (const Finished& f : executor_.poll()) finish(tasks_[index_.at(f.key)], f);
}

// Ingests what the attempt wrote, ends its row and decides: done, retry, fail or cancelled.
void RunLoop::finish(Task& t, const Finished& f) {
  ingest(t);
  AttemptVerdict v = verdict_on(t, f);
  AttemptEnd end;
  end.exit_code = f.exit_code;
  end.reason = v.reason;
  if (v.outcome != AttemptOutcome::kDone && f.signal && v.reason.rfind("signal", 0) != 0)
    end.reason += " (signal " + std::to_string(*f.signal) + ")";
  end_attempt(store_, t.spec->task_id, t.store_attempt, end);
  t.first_step.reset();
  switch (v.outcome) {
    case AttemptOutcome::kDone:
      set_state(t, TaskState::kDone, "");
      progress(t, "done");
      break;
    case AttemptOutcome::kCancelled:
      set_state(t, TaskState::kCancelled, v.reason);
      progress(t, "cancelled");
      break;
    case AttemptOutcome::kRetry:
    case AttemptOutcome::kFail:
      retry_or_fail(t, std::move(v));
      break;
  }
  update_run_status(t.spec->run_id);
}

// The exit-code policy, except that a task this orchestrator asked to stop ends cancelled unless
// it completed first.
AttemptVerdict RunLoop::verdict_on(const Task& t, const Finished& f) const {
  AttemptVerdict v = classify_attempt(f, options_.retry.retry_timeouts);
  if (stopping_ && v.outcome != AttemptOutcome::kDone) v = {AttemptOutcome::kCancelled, "cancelled"};
  if (t.cancel_requested && v.outcome != AttemptOutcome::kDone) v = {AttemptOutcome::kCancelled, kCancelledByRequest};
  return v;
}

// A retry waits its backoff (other tasks run meanwhile); past max_attempts it is a failure.
void RunLoop::retry_or_fail(Task& t, AttemptVerdict v) {
  if (v.outcome == AttemptOutcome::kRetry && t.attempts < options_.retry.max_attempts) {
    const double delay = retry_delay(options_.retry, t.attempts);
    t.not_before = clock_.now() + delay;
    set_state(t, TaskState::kPending, "");
    std::ostringstream m;
    m << v.reason << ": retry in " << delay << " s";
    progress(t, m.str());
    return;
  }
  if (v.outcome == AttemptOutcome::kRetry) v.reason += " (after " + std::to_string(t.attempts) + " attempts)";
  set_state(t, TaskState::kFailed, v.reason);
  progress(t, "failed: " + v.reason);
}

// ---- launch ----

// Launches what is ready, in plan order (dependencies come first, so a failure propagates through
// the whole chain in one pass), all in one launch_batch: the Slurm executor submits tasks with
// equal resources as one job array. Returns whether a pending task may still launch.
bool RunLoop::launch_ready() {
  bool waiting = false;
  std::vector<Task*> ready;
  for (auto& t : tasks_) {
    if (t.state != TaskState::kPending || stopping_) continue;
    const Readiness r = readiness(t);
    waiting |= r != Readiness::kNever;
    if (r == Readiness::kNow) ready.push_back(&t);
  }
  if (!ready.empty()) launch(ready);
  return waiting;
}

// Whether a pending task can launch now, later (after its dependencies, its backoff or a free
// slot), or never: then it is failed (a dependency failed or was cancelled, or its slot does not
// fit the executor).
RunLoop::Readiness RunLoop::readiness(Task& t) {
  std::string blocked;
  const bool deps_done = dependencies_allow(t, &blocked);
  if (!blocked.empty()) {
    fail(t, blocked);
    return Readiness::kNever;
  }
  if (!executor_.fits(t.slot)) {
    fail(t, unfit_reason(t.slot, executor_.name()));
    return Readiness::kNever;
  }
  const bool now = deps_done && clock_.now() >= t.not_before && executor_.can_launch(t.slot);
  return now ? Readiness::kNow : Readiness::kLater;
}

// Whether the task's dependencies let it start now: all done, or, for a sample task, its
// checkpoint written while its training still runs (looked for only then: a few files per
// running train task). Sets `blocked` to the reason when a dependency failed or was cancelled.
bool RunLoop::dependencies_allow(const Task& t, std::string* blocked) const {
  bool deps_done = true, deps_running = true;
  for (const auto& d : t.spec->depends_on) {
    auto it = index_.find(d);
    const TaskState ds =
        it == index_.end() ? task_state(store_, d).value_or(TaskState::kPending) : tasks_[it->second].state;
    deps_done &= ds == TaskState::kDone;
    deps_running &= ds == TaskState::kDone || ds == TaskState::kRunning;
    if (ds == TaskState::kFailed || ds == TaskState::kCancelled) *blocked = "dependency " + d + " " + to_string(ds);
  }
  if (!deps_done && deps_running && !t.spec->early_start_file.empty())
    deps_done = fs::exists(fs::path(t.run_dir) / t.spec->early_start_file);
  return deps_done;
}

void RunLoop::launch(const std::vector<Task*>& ready) {
  std::vector<LaunchRequest> requests;
  requests.reserve(ready.size());
  for (const Task* t : ready) requests.push_back(request_for(*t));
  const std::vector<LaunchResult> results = executor_.launch_batch(requests);
  REPRO_CHECK(results.size() == requests.size(), "launch_batch answered " + std::to_string(results.size()) + " of " +
                                                     std::to_string(requests.size()) + " requests");
  for (size_t i = 0; i < ready.size(); ++i) record_launch(*ready[i], requests[i], results[i]);
}

// The request for a task's next attempt; the store numbers attempts over all `repro run`s and the
// log file carries that number.
LaunchRequest RunLoop::request_for(const Task& t) {
  LaunchRequest req;
  req.key = t.spec->task_id;
  req.argv = task_argv(options_.repro_binary, t.task_file);
  req.env = options_.env;
  req.env["REPRO_TASK_ID"] = t.spec->task_id;
  req.env["REPRO_TASK_FILE"] = t.task_file;
  req.env["REPRO_TASK_EVENTS"] = t.events;
  req.env["REPRO_RUN_DIR"] = t.run_dir;
  req.working_dir = t.run_dir;
  req.slot = t.slot;
  req.timeout_s = options_.task_timeout_s;
  const int next = task_attempts(store_, t.spec->task_id) + 1;
  req.env["REPRO_TASK_ATTEMPT"] = std::to_string(next);
  req.log_path = log_file_of(t.run_dir, t.spec->task_id, next);
  return req;
}

// Records what the executor did with a task's request: an attempt row for a launch, a failed task
// when it could not be started; nothing when no slot was free.
void RunLoop::record_launch(Task& t, const LaunchRequest& request, const LaunchResult& result) {
  if (!result.launched && result.error.empty()) return;
  ++t.attempts;
  if (!result.launched) {
    fail(t, result.error);
    return;
  }
  const Launched& l = *result.launched;
  AttemptStart a;
  a.task_id = t.spec->task_id;
  a.executor = executor_.name() == "slurm" ? ExecutorKind::kSlurm : ExecutorKind::kLocal;
  a.job_id = l.job_id;
  a.host = l.host;
  a.gpus = l.gpus;
  a.log_path = request.log_path;
  t.store_attempt = begin_attempt(store_, a);
  t.state = TaskState::kRunning;
  t.last_ingest = clock_.now();
  update_run_status(t.spec->run_id);
  progress(t, "launched (" + executor_.name() + " " + l.job_id + (l.gpus.empty() ? "" : ", gpus " + l.gpus) + ")");
}

// ---- ingest ----

void RunLoop::ingest_running() {
  for (auto& t : tasks_)
    if (t.state == TaskState::kRunning && clock_.now() - t.last_ingest >= options_.ingest_interval_s && ingest(t))
      progress(t, "");
}

// True when new records came. A file that cannot be read is reported, not fatal: the next ingest
// tries again.
bool RunLoop::ingest(Task& t) {
  t.last_ingest = clock_.now();
  try {
    return ingest_events(store_, t.spec->task_id, t.events).records > 0;
  } catch (const std::exception& e) {
    progress(t, std::string("ingest failed: ") + e.what());
    return false;
  }
}

// ---- summarize ----

OrchestratorSummary RunLoop::summarize() const {
  OrchestratorSummary summary;
  summary.interrupted = stopping_;
  for (const auto& t : tasks_) {
    if (t.skipped)
      ++summary.skipped;
    else if (t.state == TaskState::kDone)
      ++summary.done;
    else if (t.state == TaskState::kFailed)
      ++summary.failed;
    else if (t.state == TaskState::kCancelled)
      ++summary.cancelled;
    summary.tasks.push_back(TaskOutcome{t.spec->task_id, t.spec->kind, t.state, t.attempts, t.skipped, t.reason});
  }
  return summary;
}

// ---- state and progress ----

void RunLoop::set_state(Task& t, TaskState state, const std::string& reason) {
  t.state = state;
  t.reason = reason;
  set_task_state(store_, t.spec->task_id, state);
  if (!reason.empty() && (state == TaskState::kFailed || state == TaskState::kCancelled))
    put_provenance(store_, t.spec->run_id, t.spec->task_id, {{"state_reason", reason}});
}

// A task that will never run; its run's status follows.
void RunLoop::fail(Task& t, const std::string& reason) {
  set_state(t, TaskState::kFailed, reason);
  progress(t, "failed: " + reason);
  update_run_status(t.spec->run_id);
}

void RunLoop::progress(Task& t, const std::string& message) {
  if (!options_.on_progress) return;
  TaskProgress p;
  p.task_id = t.spec->task_id;
  p.kind = t.spec->kind;
  p.state = t.state;
  p.attempt = t.attempts;
  p.message = message;
  p.total_steps = t.traits.iterations;
  try {
    for (const auto& m : latest_metrics(store_, t.spec->task_id)) p.step = std::max(p.step.value_or(m.step), m.step);
  } catch (const std::exception&) {
  }
  if (p.step && t.state == TaskState::kRunning) {
    const double now = clock_.now();
    if (!t.first_step) {
      t.first_step = p.step;
      t.first_step_at = now;
    } else if (p.total_steps && *p.step > *t.first_step) {
      const double rate = static_cast<double>(*p.step - *t.first_step) / (now - t.first_step_at);
      if (rate > 0) p.eta_s = static_cast<double>(std::max<int64_t>(0, *p.total_steps - *p.step)) / rate;
    }
  }
  options_.on_progress(p);
}

void RunLoop::update_run_status(const std::string& run_id) {
  RunStatusTally tally;
  for (const auto& t : tasks_)
    if (t.spec->run_id == run_id) tally.add(t.state);
  set_run_status(store_, run_id, tally.status());
}

}  // namespace repro::runner

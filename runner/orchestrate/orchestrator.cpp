#include "runner/orchestrate/orchestrator.h"

#include <SQLiteCpp/Statement.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "core/util/errors.h"
#include "runner/orchestrate/cancel.h"
#include "runner/orchestrate/project_lock.h"
#include "runner/store/cancel_requests.h"
#include "runner/store/ingest.h"
#include "runner/store/queries.h"
#include "runner/store/transaction.h"

namespace repro::runner {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// ---- plan and paths ----

Plan make_plan(const ExperimentRow& experiment, const Expansion& expansion) {
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
  plan.tasks = plan_tasks(expansion.runs);
  return plan;
}

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
  return {{"v", 1},
          {"task_id", task.task_id},
          {"run_id", task.run_id},
          {"kind", task.kind},
          {"run_dir", dir},
          {"events", events_file_of(dir, task)},
          {"depends_on", task.depends_on},
          {"spec", nlohmann::json::parse(task.spec)}};
}

// ---- policy ----

AttemptVerdict classify_attempt(const Finished& f, bool retry_timeouts) {
  if (f.exit_code && *f.exit_code == 0) return {AttemptOutcome::kDone, ""};
  if (f.cancelled) return {AttemptOutcome::kCancelled, "cancelled"};
  if (f.timed_out) {
    std::ostringstream s;
    s << "timeout after " << std::lround(f.seconds) << " s";
    return {retry_timeouts ? AttemptOutcome::kRetry : AttemptOutcome::kFail, s.str()};
  }
  if (f.signal) return {AttemptOutcome::kRetry, "signal " + std::to_string(*f.signal)};
  const int code = *f.exit_code;
  const std::string e = "exit " + std::to_string(code);
  switch (code) {
    case 1: return {AttemptOutcome::kRetry, e + " (internal error)"};
    case 2: return {AttemptOutcome::kFail, e + " (bad command line or config)"};
    case 3: return {AttemptOutcome::kFail, e + " (file I/O error)"};
    case 4: return {AttemptOutcome::kFail, e + " (unusable input data)"};
    case 5: return {AttemptOutcome::kFail, e + " (diverged)"};
    case 6: return {AttemptOutcome::kRetry, e + " (interrupted by a signal from outside)"};
    default: break;
  }
  if (code > 128) return {AttemptOutcome::kRetry, e + " (signal " + std::to_string(code - 128) + ")"};
  return {AttemptOutcome::kFail, e};
}

// ---- helpers ----

namespace {

void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) throw IoError("cannot write " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw IoError("cannot rename " + tmp + " to " + path + ": " + ec.message());
}

void make_dirs(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IoError("cannot create " + dir + ": " + ec.message());
}

// The member `key` of a task's spec; null when absent. Parsed only where the text has the key: a
// plan's specs are looked up task by task, and most lack the key.
nlohmann::json spec_member(const TaskSpec& task, const std::string& key) {
  if (task.spec.find("\"" + key + "\":") == std::string::npos) return nullptr;
  const auto spec = nlohmann::json::parse(task.spec);
  return spec.is_object() && spec.contains(key) ? spec.at(key) : nullptr;
}

std::optional<TaskState> stored_state(Store& store, const std::string& task_id) {
  SQLite::Statement q(store.db(), "SELECT state FROM tasks WHERE task_id = ?");
  q.bind(1, task_id);
  if (!q.executeStep()) return std::nullopt;
  return parse_task_state(q.getColumn(0).getString());
}

SlotRequest slot_of(const Executor& executor, const OrchestratorOptions& options, const TaskSpec& task) {
  if (options.slot_for) return options.slot_for(task);
  if (const auto gpus = spec_member(task, "gpus"); gpus.is_number_integer()) return SlotRequest{gpus.get<int>()};
  // One GPU per process where the executor has GPUs, else CPU processes.
  const bool gpu = executor.fits(SlotRequest{1});
  return SlotRequest{gpu ? task.processes : 0, task.processes};
}

// Why a task can never run on the executor (Executor::fits is false), and what to change.
std::string unfit_reason(const SlotRequest& slot, const std::string& executor) {
  const bool slurm = executor == "slurm";
  if (slot.gpus > 0)
    return "needs " + std::to_string(slot.gpus) + " GPUs (" + std::to_string(slot.ranks()) + " processes); the " +
           executor + " executor has fewer (" + (slurm ? "--slurm-gpus or slurm.gpus" : "--gpus") +
           "; or lower train.world_size)";
  return "needs " + std::to_string(slot.ranks()) + " CPU processes at once; the " + executor +
         " executor allows fewer (--max-parallel; or lower train.world_size)";
}

std::vector<std::string> argv_of(const OrchestratorOptions& options, const std::string& task_file) {
  return {options.repro_binary, "task", task_file};
}

// A process of the task left over from a killed orchestrator: its pid is alive, not a zombie,
// and its command line names the task file.
bool is_leftover(pid_t pid, const std::string& task_file) {
  if (pid <= 1 || ::kill(pid, 0) != 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto paren = line.rfind(')');
  if (paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z') return false;
  std::ifstream cmd("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string args((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
  return args.find(task_file) != std::string::npos;
}

// Stops a leftover task process (SIGTERM to its group, SIGKILL after the grace) so that a
// relaunch never runs beside it.
void stop_leftover(pid_t pid, const std::string& task_file, double grace_s) {
  if (!is_leftover(pid, task_file)) return;
  ::killpg(pid, SIGTERM);
  const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(grace_s));
  while (Clock::now() < until && is_leftover(pid, task_file))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (is_leftover(pid, task_file)) ::killpg(pid, SIGKILL);
}

struct TaskRuntime {
  const TaskSpec* spec = nullptr;
  std::string run_dir, task_file, events;
  SlotRequest slot;
  TaskState state = TaskState::kPending;
  bool skipped = false;
  int attempts = 0;            // this invocation's
  int store_attempt = 0;       // the store's number of the running attempt
  std::string reason;
  bool cancel_requested = false;   // repro cancel asked to stop the running attempt
  Clock::time_point not_before{};  // retry backoff
  Clock::time_point last_ingest{};
  // Progress within the running attempt.
  std::optional<int64_t> first_step;
  Clock::time_point first_step_at{};
};

}  // namespace

// ---- the orchestrator ----

Orchestrator::Orchestrator(Store& store, Executor& executor, OrchestratorOptions options)
    : store_(store), executor_(executor), options_(std::move(options)) {
  if (options_.retry.max_attempts < 1)
    throw ConfigError("retry", "max_attempts", "expected at least 1, got " + std::to_string(options_.retry.max_attempts));
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
    line.slot = slot_of(executor, options, t);
    line.argv = argv_of(options, task_file_of(run_dir_of(options.project_dir, t.run_id), t.task_id));
    line.state = "new";
    if (store)
      if (const auto s = stored_state(*store, t.task_id)) line.state = to_string(*s);
    done[t.task_id] = line.state == "done";
    bool deps_done = true;
    for (const auto& d : t.depends_on) deps_done &= done[d];
    line.action = done[t.task_id] ? "skip" : deps_done ? "launch" : "wait";
    out.push_back(std::move(line));
  }
  return out;
}

OrchestratorSummary Orchestrator::run(const Plan& plan) {
  make_dirs(options_.project_dir);
  ProjectLock lock(options_.project_dir);
  // Requests made before this orchestrator held the lock were meant for an earlier one (or for
  // nobody): they must not cancel this run. A `repro cancel` still waiting on one asks again.
  expire_cancel_requests(store_);

  std::vector<TaskRuntime> tasks(plan.tasks.size());
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < plan.tasks.size(); ++i) {
    TaskRuntime& t = tasks[i];
    t.spec = &plan.tasks[i];
    t.run_dir = run_dir_of(options_.project_dir, t.spec->run_id);
    t.task_file = task_file_of(t.run_dir, t.spec->task_id);
    t.events = events_file_of(t.run_dir, *t.spec);
    t.slot = slot_of(executor_, options_, *t.spec);
    index[t.spec->task_id] = i;
  }

  // Record the experiment, its runs and tasks (existing rows are reused) and write the task files.
  {
    WriteTransaction tx(store_);
    put_experiment(store_, plan.experiment);
    for (const auto& r : plan.runs)
      put_run(store_, RunRow{r.run_id, plan.experiment.name, r.axes.dump(), r.position, r.config,
                             run_dir_of(options_.project_dir, r.run_id)});
    for (const auto& t : tasks)
      put_task(store_, TaskRow{t.spec->task_id, t.spec->run_id, parse_task_kind(t.spec->kind), t.spec->spec});
    tx.commit();
  }
  for (const auto& t : tasks) {
    make_dirs((fs::path(t.run_dir) / "tasks").string());
    make_dirs((fs::path(t.run_dir) / "logs").string());
    write_file_atomically(t.task_file, task_file_json(options_.project_dir, *t.spec).dump(2) + "\n");
  }

  auto progress = [&](TaskRuntime& t, const std::string& message) {
    if (!options_.on_progress) return;
    TaskProgress p;
    p.task_id = t.spec->task_id;
    p.kind = t.spec->kind;
    p.state = t.state;
    p.attempt = t.attempts;
    p.message = message;
    if (t.spec->kind == "train")
      if (const auto iterations = spec_member(*t.spec, "iterations"); iterations.is_number_integer())
        p.total_steps = iterations.get<int64_t>();
    try {
      for (const auto& m : latest_metrics(store_, t.spec->task_id)) p.step = std::max(p.step.value_or(m.step), m.step);
    } catch (const std::exception&) {
    }
    if (p.step && t.state == TaskState::kRunning) {
      const auto now = Clock::now();
      if (!t.first_step) {
        t.first_step = p.step;
        t.first_step_at = now;
      } else if (p.total_steps && *p.step > *t.first_step) {
        const double rate = static_cast<double>(*p.step - *t.first_step) /
                            std::chrono::duration<double>(now - t.first_step_at).count();
        if (rate > 0) p.eta_s = static_cast<double>(std::max<int64_t>(0, *p.total_steps - *p.step)) / rate;
      }
    }
    options_.on_progress(p);
  };

  auto ingest = [&](TaskRuntime& t) -> bool {
    t.last_ingest = Clock::now();
    try {
      return ingest_events(store_, t.spec->task_id, t.events).records > 0;
    } catch (const std::exception& e) {
      progress(t, std::string("ingest failed: ") + e.what());
      return false;
    }
  };

  auto set_state = [&](TaskRuntime& t, TaskState s, const std::string& reason) {
    t.state = s;
    t.reason = reason;
    set_task_state(store_, t.spec->task_id, s);
    if (!reason.empty() && (s == TaskState::kFailed || s == TaskState::kCancelled))
      put_provenance(store_, t.spec->run_id, t.spec->task_id, {{"state_reason", reason}});
  };

  auto update_run_status = [&](const std::string& run_id) {
    RunStatusTally tally;
    for (const auto& t : tasks)
      if (t.spec->run_id == run_id) tally.add(t.state);
    set_run_status(store_, run_id, tally.status());
  };

  // Catch up with what tasks wrote while no orchestrator watched, and recover tasks a killed
  // orchestrator left `running`: a task whose events say it completed is done; any other gets its
  // open attempt closed as lost (its process, if one is left, stopped first) and runs again,
  // resuming from its last checkpoint.
  OrchestratorSummary summary;
  for (auto& t : tasks) {
    const std::optional<TaskState> before = stored_state(store_, t.spec->task_id);
    if (before == TaskState::kDone) {
      t.state = TaskState::kDone;
      t.skipped = true;
      continue;
    }
    ingest(t);
    if (before == TaskState::kRunning) {
      // A batch job outlives its orchestrator: take it over (its end comes from poll()) instead
      // of relaunching the task beside it.
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
          stop_leftover(static_cast<pid_t>(std::stoll(a.job_id)), t.task_file, options_.orphan_grace_s);
        end_attempt(store_, t.spec->task_id, a.attempt, AttemptEnd{std::nullopt, "lost (the orchestrator ended while it ran)", std::nullopt});
      }
      if (adopted) {
        t.state = TaskState::kRunning;
        t.attempts = 1;
        t.last_ingest = Clock::now();
        continue;
      }
      ingest(t);  // what the stopped process wrote last
    }
    if (stored_state(store_, t.spec->task_id) == TaskState::kDone) {
      t.state = TaskState::kDone;
      t.skipped = true;
      continue;
    }
    set_state(t, TaskState::kPending, "");
  }
  for (const auto& r : plan.runs) update_run_status(r.run_id);

  bool stopping = false, forced = false;
  const double backoff_max = options_.retry.backoff_max_s;
  auto poll_sleep = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.poll_interval_s));
  auto ingest_every = std::chrono::duration<double>(options_.ingest_interval_s);

  auto finish = [&](const Finished& f) {
    TaskRuntime& t = tasks[index.at(f.key)];
    ingest(t);
    AttemptVerdict v = classify_attempt(f, options_.retry.retry_timeouts);
    if (stopping && v.outcome != AttemptOutcome::kDone) v = {AttemptOutcome::kCancelled, "cancelled"};
    if (t.cancel_requested && v.outcome != AttemptOutcome::kDone) v = {AttemptOutcome::kCancelled, kCancelledByRequest};
    AttemptEnd end;
    end.exit_code = f.exit_code;
    end.reason = v.outcome == AttemptOutcome::kDone ? "" : f.signal && v.reason.rfind("signal", 0) != 0
                                                              ? v.reason + " (signal " + std::to_string(*f.signal) + ")"
                                                              : v.reason;
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
        if (t.attempts < options_.retry.max_attempts) {
          const double delay = std::min(backoff_max, options_.retry.backoff_s * std::pow(2.0, t.attempts - 1));
          t.not_before = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(delay));
          set_state(t, TaskState::kPending, "");
          std::ostringstream m;
          m << v.reason << ": retry in " << delay << " s";
          progress(t, m.str());
          break;
        }
        v.reason += " (after " + std::to_string(t.attempts) + " attempts)";
        [[fallthrough]];
      case AttemptOutcome::kFail:
        set_state(t, TaskState::kFailed, v.reason);
        progress(t, "failed: " + v.reason);
        break;
    }
    update_run_status(t.spec->run_id);
  };

  // The request for a task's next attempt; the store numbers attempts over all `repro run`s and
  // the log file carries that number.
  auto request_for = [&](const TaskRuntime& t) {
    LaunchRequest req;
    req.key = t.spec->task_id;
    req.argv = argv_of(options_, t.task_file);
    req.env = options_.env;
    req.env["REPRO_TASK_ID"] = t.spec->task_id;
    req.env["REPRO_TASK_FILE"] = t.task_file;
    req.env["REPRO_TASK_EVENTS"] = t.events;
    req.env["REPRO_RUN_DIR"] = t.run_dir;
    req.working_dir = t.run_dir;
    req.slot = t.slot;
    req.timeout_s = options_.task_timeout_s;
    SQLite::Statement q(store_.db(), "SELECT attempts FROM tasks WHERE task_id = ?");
    q.bind(1, t.spec->task_id);
    q.executeStep();
    const int next = q.getColumn(0).getInt() + 1;
    req.env["REPRO_TASK_ATTEMPT"] = std::to_string(next);
    req.log_path = log_file_of(t.run_dir, t.spec->task_id, next);
    return req;
  };

  // Records what the executor did with a task's request (launch_batch): an attempt row for a
  // launch, a failed task when it could not be started; nothing when no slot was free.
  auto record_launch = [&](TaskRuntime& t, const LaunchRequest& req, const LaunchResult& r) {
    if (!r.launched && r.error.empty()) return;
    ++t.attempts;
    if (!r.launched) {
      set_state(t, TaskState::kFailed, r.error);
      progress(t, "failed: " + r.error);
      update_run_status(t.spec->run_id);
      return;
    }
    const Launched& l = *r.launched;
    AttemptStart a;
    a.task_id = t.spec->task_id;
    a.executor = executor_.name() == "slurm" ? ExecutorKind::kSlurm : ExecutorKind::kLocal;
    a.job_id = l.job_id;
    a.host = l.host;
    a.gpus = l.gpus;
    a.log_path = req.log_path;
    t.store_attempt = begin_attempt(store_, a);
    t.state = TaskState::kRunning;
    t.last_ingest = Clock::now();
    update_run_status(t.spec->run_id);
    progress(t, "launched (" + executor_.name() + " " + l.job_id + (l.gpus.empty() ? "" : ", gpus " + l.gpus) + ")");
  };

  // repro cancel (docs/runner.md, "Cancel"): the waiting requests, looked at once per loop. A
  // cancelled run's pending tasks (dependants of its running ones included) are cancelled at once,
  // its running attempts asked to stop (SIGTERM / scancel --signal=TERM; killed with force); its
  // tasks of other experiments' plans that wait in the store are cancelled there.
  const std::set<std::string> plan_runs = [&] {
    std::set<std::string> ids;
    for (const auto& r : plan.runs) ids.insert(r.run_id);
    return ids;
  }();
  auto handle_cancel_requests = [&] {
    for (const CancelRequest& r : waiting_cancel_requests(store_)) {
      int cancelled = 0, stopped = 0;
      for (auto& t : tasks) {
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
      if (plan_runs.count(r.run_id)) update_run_status(r.run_id);
      else refresh_run_status(store_, r.run_id);
      mark_cancel_request(store_, r.request_id, kHandledByRun, cancelled, stopped);
    }
  };

  while (true) {
    handle_cancel_requests();
    const int requests = options_.stop_requests ? options_.stop_requests->load() : 0;
    if (requests >= 1 && !stopping) {
      stopping = true;
      summary.interrupted = true;
      executor_.stop_all(false);
      for (auto& t : tasks)
        if (t.state == TaskState::kPending) {
          set_state(t, TaskState::kCancelled, "cancelled before launch");
          progress(t, "cancelled");
        }
      for (const auto& r : plan.runs) update_run_status(r.run_id);
    }
    if (requests >= 2 && !forced) {
      forced = true;
      executor_.stop_all(true);
    }

    for (const Finished& f : executor_.poll()) finish(f);

    // Launch what is ready, in plan order (dependencies come first, so a failure propagates
    // through the whole chain in one pass), all in one launch_batch: the Slurm executor submits
    // tasks with equal resources as one job array.
    const auto now = Clock::now();
    bool waiting = false;  // a pending task that will become launchable
    std::vector<TaskRuntime*> ready;
    for (auto& t : tasks) {
      if (t.state != TaskState::kPending || stopping) continue;
      bool deps_done = true, deps_running = true;
      std::string blocked;
      for (const auto& d : t.spec->depends_on) {
        auto it = index.find(d);
        const TaskState ds = it == index.end() ? stored_state(store_, d).value_or(TaskState::kPending) : tasks[it->second].state;
        deps_done &= ds == TaskState::kDone;
        deps_running &= ds == TaskState::kDone || ds == TaskState::kRunning;
        if (ds == TaskState::kFailed || ds == TaskState::kCancelled)
          blocked = "dependency " + d + " " + to_string(ds);
      }
      // A sample task starts as soon as its checkpoint exists, beside the rest of its training
      // (looked for only while that training runs: a few files per running train task).
      if (!deps_done && deps_running && !t.spec->early_start_file.empty())
        deps_done = fs::exists(fs::path(run_dir_of(options_.project_dir, t.spec->run_id)) / t.spec->early_start_file);
      if (!blocked.empty()) {
        set_state(t, TaskState::kFailed, blocked);
        progress(t, "failed: " + blocked);
        update_run_status(t.spec->run_id);
        continue;
      }
      if (!executor_.fits(t.slot)) {
        const std::string r = unfit_reason(t.slot, executor_.name());
        set_state(t, TaskState::kFailed, r);
        progress(t, "failed: " + r);
        update_run_status(t.spec->run_id);
        continue;
      }
      waiting = true;
      if (!deps_done || now < t.not_before || !executor_.can_launch(t.slot)) continue;
      ready.push_back(&t);
    }
    if (!ready.empty()) {
      std::vector<LaunchRequest> requests;
      for (const TaskRuntime* t : ready) requests.push_back(request_for(*t));
      const std::vector<LaunchResult> results = executor_.launch_batch(requests);
      REPRO_CHECK(results.size() == requests.size(), "launch_batch answered " + std::to_string(results.size()) +
                                                         " of " + std::to_string(requests.size()) + " requests");
      for (size_t i = 0; i < ready.size(); ++i) record_launch(*ready[i], requests[i], results[i]);
    }

    for (auto& t : tasks)
      if (t.state == TaskState::kRunning && Clock::now() - t.last_ingest >= ingest_every && ingest(t)) progress(t, "");

    if (executor_.running() == 0 && (!waiting || stopping)) break;
    std::this_thread::sleep_for(poll_sleep);
  }

  for (const auto& t : tasks) {
    TaskOutcome o{t.spec->task_id, t.spec->kind, t.state, t.attempts, t.skipped, t.reason};
    if (t.skipped) ++summary.skipped;
    else if (t.state == TaskState::kDone) ++summary.done;
    else if (t.state == TaskState::kFailed) ++summary.failed;
    else if (t.state == TaskState::kCancelled) ++summary.cancelled;
    summary.tasks.push_back(std::move(o));
  }
  return summary;
}

void stop_leftover_task(pid_t pid, const std::string& task_file, double grace_s) {
  stop_leftover(pid, task_file, grace_s);
}

// ---- signals ----

namespace {
std::atomic<int> g_stop_count{0};
struct sigaction g_previous[3];
constexpr int kStopSignals[3] = {SIGINT, SIGTERM, SIGHUP};
extern "C" void on_stop_signal(int) { g_stop_count.fetch_add(1); }
}  // namespace

StopSignals::StopSignals() {
  g_stop_count.store(0);
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a sleep ends early and the loop sees the request
  for (int i = 0; i < 3; ++i) ::sigaction(kStopSignals[i], &sa, &g_previous[i]);
}

StopSignals::~StopSignals() {
  for (int i = 0; i < 3; ++i) ::sigaction(kStopSignals[i], &g_previous[i], nullptr);
}

const std::atomic<int>* StopSignals::count() const { return &g_stop_count; }

}  // namespace repro::runner

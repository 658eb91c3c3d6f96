#pragma once
// An in-memory runner::Executor for the orchestrator's unit tests: nothing runs; each attempt is
// scripted (how long it takes on a SimulatedClock, how it ends, which files it writes when) and
// ends at the first poll() at or after its time. Slots and GPU ids are LocalExecutor's SlotPool;
// timeouts (SIGTERM, SIGKILL after the kill grace), cancel and stop_all follow LocalExecutor's
// rules; adopt() takes over the jobs a test declared alive. Every launch is recorded with its
// start and end on the clock, so tests can check order, overlap, batches and what was asked for.
// Single-threaded, as the interface.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "runner/executor/executor.h"
#include "runner/executor/slot_pool.h"
#include "tests/support/simulated_clock.h"

namespace repro::test {

// What one attempt of a task does.
struct FakeAttempt {
  double seconds = 1;         // from launch to its exit, on the clock
  int exit_code = 0;          // how it exits
  std::optional<int> signal;  // killed by this signal instead (an OOM kill: 9)
  // After SIGTERM (a cancel, a stop request, its timeout) it exits 6 this many seconds later, as a
  // trainer that checkpoints does; nullopt: it ignores SIGTERM and ends only when killed.
  std::optional<double> exits_after_term = 0.5;
  // Files it writes, relative to its working directory (the run directory), with the seconds after
  // launch when each appears: a checkpoint that lets a sample task start early.
  std::vector<std::pair<double, std::string>> files;
  // Training steps it logs before a successful end (an events `log` record with a loss).
  int64_t steps = 10;
};

// An attempt that exits with `code` after `seconds`.
inline FakeAttempt exits(int code, double seconds) {
  FakeAttempt a;
  a.seconds = seconds;
  a.exit_code = code;
  return a;
}

// An attempt killed by `signal` after `seconds` (the OOM killer: 9).
inline FakeAttempt killed_by(int signal, double seconds) {
  FakeAttempt a;
  a.seconds = seconds;
  a.signal = signal;
  return a;
}

struct FakeExecutorOptions {
  std::string name = "local";     // "slurm": the orchestrator records attempts as Slurm jobs (adoptable)
  int max_parallel = 1;           // as LocalExecutorOptions: CPU slots; 0 with GPUs: as the GPUs allow
  std::vector<std::string> gpus;  // GPU ids handed out, lowest free first
  double kill_grace_s = 30;       // SIGTERM at a timeout, SIGKILL this much later
  bool write_events = true;       // append start/log/end records to REPRO_TASK_EVENTS as a task does
};

class FakeExecutor final : public runner::Executor {
 public:
  // Job ids count up from here: numbers above Linux's largest pid (2^22), so that a restarted
  // orchestrator looking for a local task's leftover process finds none.
  static constexpr int64_t kFirstJobId = 5'000'000;

  FakeExecutor(SimulatedClock& clock, FakeExecutorOptions options);

  // The task's attempts in launch order; launches past the last repeat the last. A task without a
  // script: FakeAttempt{} (1 s, exit 0).
  void script(const std::string& key, std::vector<FakeAttempt> attempts);
  // launch() of the task throws IoError(message), as a program that cannot be started.
  void fail_launch(const std::string& key, const std::string& message);
  // A job an earlier executor launched that is still alive: adopt() of this job id takes it over,
  // and it then does `rest` from the moment it is adopted.
  void keep_alive(const std::string& job_id, FakeAttempt rest);

  struct Launch {
    std::string key;
    runner::LaunchRequest request;  // empty for an adopted job
    std::string job_id;
    std::string gpus;
    double start = 0;           // clock time of the launch (or the adoption)
    std::optional<double> end;  // clock time of the poll() that reported its end
    std::optional<runner::Finished> finished;
    bool adopted = false;
  };
  // Every launch and adoption, in order.
  const std::vector<Launch>& launches() const { return launches_; }
  std::vector<Launch> launches_of(const std::string& key) const;
  // The most attempts running at the same time.
  int max_overlap() const;
  // Sizes of the launch_batch calls, in order.
  const std::vector<size_t>& batches() const { return batches_; }
  // cancel() calls as (key, force), stop_all() included.
  const std::vector<std::pair<std::string, bool>>& cancels() const { return cancels_; }

  std::string name() const override { return options_.name; }
  bool fits(const runner::SlotRequest& slot) const override;
  bool can_launch(const runner::SlotRequest& slot) const override;
  runner::Launched launch(const runner::LaunchRequest& request) override;
  std::vector<runner::LaunchResult> launch_batch(const std::vector<runner::LaunchRequest>& requests) override;
  std::vector<runner::Finished> poll() override;
  void cancel(const std::string& key, bool force) override;
  void stop_all(bool force) override;
  int running() const override { return static_cast<int>(jobs_.size()); }
  bool adopt(const std::string& key, const std::string& job_id, const std::string& log_path) override;

 private:
  struct Job {
    size_t launch = 0;  // index in launches_
    FakeAttempt attempt;
    std::string working_dir, events;
    std::optional<runner::SlotPool::Taken> slots;  // none: adopted when every slot was taken
    std::optional<double> deadline;                // its timeout
    std::optional<double> term_at;                 // SIGTERM first reached it
    std::optional<double> timeout_term;            // SIGTERM sent at its timeout (SIGKILL follows after the grace)
    std::optional<double> killed_at;               // SIGKILL
    bool timed_out = false, cancelled = false;
  };

  const FakeAttempt& attempt_for(const std::string& key, size_t nth) const;
  std::optional<double> exit_time(const Job& job) const;
  void write_files(Job& job, double now);
  void enforce_timeout(Job& job, double now);
  runner::Finished end(Job& job, double now);
  void append_event(const Job& job, const std::string& type, const std::string& fields);

  SimulatedClock& clock_;
  FakeExecutorOptions options_;
  std::map<std::string, std::vector<FakeAttempt>> scripts_;
  std::map<std::string, std::string> launch_errors_;
  std::map<std::string, FakeAttempt> alive_;  // job id -> what it still does
  runner::SlotPool slots_;
  std::vector<Job> jobs_;
  std::vector<Launch> launches_;
  std::vector<size_t> batches_;
  std::vector<std::pair<std::string, bool>> cancels_;
  int64_t next_job_ = kFirstJobId;
};

}  // namespace repro::test

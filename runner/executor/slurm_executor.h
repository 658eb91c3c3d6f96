#pragma once
// Tasks as Slurm batch jobs: one `sbatch --parsable` per task with a generated wrapper script, one
// `squeue` call per poll for all jobs, `scancel` to stop. Does not depend on accounting (sacct):
// the wrapper writes the task's exit status, start and end times and a heartbeat into a status
// file next to the task's log. Usage and policy: docs/runner.md, "Slurm".
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runner/executor/executor.h"

namespace repro::runner {

// How a GPU request is written on the sbatch command line.
enum class SlurmGpuFlag {
  kGpus,  // --gpus=N (cons_tres clusters)
  kGres,  // --gres=gpu:N (older or gres-only configurations)
};

struct SlurmExecutorOptions {
  std::string partition;  // --partition; "" = the cluster's default
  std::string account;    // --account; "" = the user's default
  // --time for every job, in any form sbatch takes ("90", "1:30:00", "2-00:00:00"). "" = derived
  // from the request's timeout (timeout + kill_grace_s + 1 minute, so that Slurm stops a job only
  // when no orchestrator is left to do it), else the partition's default.
  std::string time_limit;
  std::vector<std::string> sbatch_args;  // appended to sbatch's options as they are ("--qos=high")
  int cpus_per_task = 0;                 // --cpus-per-task; 0 = the cluster's default
  // The most GPUs one task may ask for (fits()); 0 = a CPU-only cluster: GPU requests never fit.
  int max_gpus_per_task = 0;
  SlurmGpuFlag gpu_flag = SlurmGpuFlag::kGpus;
  // Jobs submitted and not yet finished at once (can_launch() is false at the cap); 0 = no cap.
  // Keeps a sweep of hundreds of tasks from flooding the queue.
  int max_in_flight = 0;
  // sbatch --requeue: a job whose node fails or that is preempted runs again (it resumes from its
  // checkpoint) and stays one running task for the orchestrator.
  bool requeue = true;
  // Seconds between the wrapper's heartbeats in the status file.
  double heartbeat_s = 30;
  // At most one squeue call per this many seconds (poll() returns nothing in between). A busy
  // cluster's controller should not see a query every half second.
  double poll_interval_s = 5;
  // A job counts as ended once squeue has shown it ended (or no longer listed it) for this many
  // seconds: a requeue (node failure, preemption, `scontrol requeue`) can show an ending state or
  // drop the job from the listing for a moment before it is pending again.
  double end_settle_s = 3;
  // Seconds between `scancel --signal=TERM` at a timeout and the forced `scancel`, as
  // LocalExecutorOptions::kill_grace_s.
  double kill_grace_s = 30;
  // The Slurm programs: names looked up on PATH, or paths.
  std::string sbatch = "sbatch";
  std::string squeue = "squeue";
  std::string scancel = "scancel";
};

// The files of one attempt, next to its log (<name>.log -> <name>.status, <name>.sbatch).
std::string slurm_status_path(const std::string& log_path);
std::string slurm_script_path(const std::string& log_path);

// What the job wrapper wrote: key=value lines, replaced atomically (temp file + rename).
struct SlurmJobStatus {
  std::string job_id;
  std::string host;
  int restarts = 0;             // SLURM_RESTART_COUNT: times the job was requeued
  std::optional<double> start;  // unix seconds, when the wrapper started (this run of the job)
  std::optional<double> heartbeat;
  std::optional<double> end;  // set once the task has exited
  std::optional<int> exit;    // the task's status as a shell reports it: code, or 128 + signal
};

// Reads a status file; nullopt when it does not exist (yet) or cannot be read.
std::optional<SlurmJobStatus> read_slurm_job_status(const std::string& path);

// The batch script for a request: bash, every value single-quoted (no shell injection from task
// names, paths or environment values), the task run in the background under a wrapper that keeps
// the status file. Throws IoError for an environment variable name that is not a shell identifier.
std::string slurm_batch_script(const LaunchRequest& request, const std::string& status_path, double heartbeat_s);

// The shell's single-quoted form of any string: 'it'\''s'.
std::string shell_quote(const std::string& s);

class SlurmExecutor : public Executor {
 public:
  // Throws ConfigError when sbatch, squeue or scancel is not found on PATH (`--executor slurm`
  // on a machine without Slurm), or an option is out of range.
  explicit SlurmExecutor(SlurmExecutorOptions options);
  // Leaves the jobs running: a new orchestrator adopts them (adopt()).
  ~SlurmExecutor() override;
  SlurmExecutor(const SlurmExecutor&) = delete;
  SlurmExecutor& operator=(const SlurmExecutor&) = delete;

  std::string name() const override { return "slurm"; }
  bool fits(const SlotRequest& slot) const override;
  bool can_launch(const SlotRequest& slot) const override;
  // Writes <log>.sbatch and submits it; the log is created empty (the wrapper appends, so a
  // requeued job's output follows the first run's). Launched::job_id is Slurm's job id; host is
  // "" (the node is known once the job starts: the status file has it). Throws IoError when sbatch
  // fails (its message included).
  Launched launch(const LaunchRequest& request) override;
  std::vector<Finished> poll() override;
  // `scancel --full --signal=TERM` (every process of the job gets SIGTERM; a trainer checkpoints
  // and exits 6), or `scancel` with `force` (SIGTERM, SIGKILL after the cluster's KillWait; the
  // job ends CANCELLED).
  void cancel(const std::string& key, bool force) override;
  void stop_all(bool force) override;
  int running() const override;
  // Takes over a job an earlier orchestrator submitted: true when Slurm still knows the job, or
  // its status file says it ended; its Finished then comes from poll() as for a launched one.
  // False: the job is lost (the caller relaunches the task). One squeue call.
  bool adopt(const std::string& key, const std::string& job_id, const std::string& log_path) override;

  // Jobs submitted or adopted, by key -> job id (for tests and diagnostics).
  std::map<std::string, std::string> job_ids() const;

 private:
  struct Job;
  struct QueueRow;
  // One squeue call for `ids`; false when squeue failed (nothing can be concluded this time).
  bool query(const std::vector<std::string>& ids, std::map<std::string, QueueRow>* rows) const;
  Finished finished_from(const Job& job, const QueueRow* row) const;
  void signal_job(const Job& job, bool force) const;

  SlurmExecutorOptions options_;
  std::vector<std::unique_ptr<Job>> jobs_;
  std::chrono::steady_clock::time_point last_query_{};
};

}  // namespace repro::runner

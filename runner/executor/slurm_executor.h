#pragma once
// Tasks as Slurm batch jobs: one `sbatch --parsable` per task with a generated wrapper script, or
// one job array for tasks launched together (launch_batch) with equal sbatch options, one
// `squeue` call per poll for all jobs, `scancel` to stop. Does not depend on accounting (sacct):
// the wrapper writes the task's exit status, start and end times and a heartbeat into a status
// file next to the task's log (slurm_script.h); what Slurm's queue says is read in slurm_queue.h.
// Usage and policy: docs/runner.md, "Slurm".
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runner/executor/executor.h"
#include "runner/executor/slurm_queue.h"
#include "runner/executor/slurm_script.h"

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
  // Tasks launched together (one launch_batch, i.e. ready in the same orchestrator poll) whose
  // sbatch options are equal go out as one job array, one element per task (`--array=0-(N-1)%K`),
  // tracked as JOBID_INDEX. false: one job per task (`--no-arrays`, `--array-cap 0`). A lone task
  // is always a plain job.
  bool arrays = true;
  // K in `%K`: at most this many elements of one array run at once (each array on its own; the
  // in-flight cap bounds them all). 0 = max_in_flight when that is set, else no `%K` (as many as
  // the cluster runs, as for plain jobs).
  int array_cap = 0;
  // The most elements in one array; a larger group is split. Slurm's default MaxArraySize (1001)
  // allows indices 0..1000.
  int max_array_size = 1000;
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
  // Takes requests in order while they fit and the in-flight cap allows; groups them by their
  // sbatch options; submits a group of two or more as one job array (options.arrays), the others
  // as plain jobs. An element's Launched::job_id is JOBID_INDEX; its files are a plain job's (log,
  // status, its own batch script) plus the marker, and the array's manifest and script. A failed
  // sbatch fails every element of its array (the IoError's message).
  std::vector<LaunchResult> launch_batch(const std::vector<LaunchRequest>& requests) override;
  std::vector<Finished> poll() override;
  // `scancel --full --signal=TERM` (every process of the job gets SIGTERM; a trainer checkpoints
  // and exits 6), or `scancel` with `force` (SIGTERM, SIGKILL after the cluster's KillWait; the
  // job ends CANCELLED).
  void cancel(const std::string& key, bool force) override;
  void stop_all(bool force) override;
  int running() const override;
  // Takes over a job an earlier orchestrator submitted: true when Slurm still knows the job under
  // the task's job name (an array element: under the array's name and index its marker file
  // records), or its status file says it ended; its Finished then comes from poll() as for a
  // launched one. False: the job is lost (the caller relaunches the task). One squeue call.
  bool adopt(const std::string& key, const std::string& job_id, const std::string& log_path) override;

  // Jobs submitted or adopted, by key -> job id (for tests and diagnostics).
  std::map<std::string, std::string> job_ids() const;

 private:
  struct Job;
  // The attempt's files (log truncated, status removed, batch script) and its Job, not submitted.
  std::unique_ptr<Job> prepare(const LaunchRequest& request) const;
  // sbatch's options for a request, without --job-name, --array and the script: requests with
  // equal options can share one array.
  std::vector<std::string> sbatch_options(const LaunchRequest& request) const;
  // Submits `group` (indices into `requests`) as one array, a lone request (or the one element
  // whose files could be written) as a plain job; fills their results.
  void launch_array(const std::vector<LaunchRequest>& requests, const std::vector<size_t>& group,
                    std::vector<LaunchResult>* results);
  // sbatch for a request or an array: the job id; IoError when sbatch fails.
  std::string submit(const std::string& job_name, const std::vector<std::string>& extra_options,
                     const LaunchRequest& options_of, const std::string& script, const std::string& what) const;
  // A job still pending or running: SIGTERM at its timeout, the kill once kill_grace_s has passed.
  void enforce_timeout(Job& job, std::chrono::steady_clock::time_point now);
  Finished finished_from(const Job& job, const SlurmQueueRow* row) const;
  // scancel for the jobs: --full --signal=TERM for running ones, plain (removal, or a kill with
  // `force`) for the others; one call per kind and per 500 ids.
  void signal_jobs(const std::vector<const Job*>& jobs, bool force) const;
  // Marks the jobs cancelled (and killed with `force`), then signal_jobs.
  void stop(const std::vector<Job*>& jobs, bool force);

  SlurmExecutorOptions options_;
  std::vector<std::unique_ptr<Job>> jobs_;
  std::chrono::steady_clock::time_point last_query_{};
};

}  // namespace repro::runner

#pragma once
// What Slurm says about jobs, and how it is asked: the Slurm client programs run as tools, job ids
// (plain, array elements, pending ranges), job names, sbatch's --parsable answer and squeue's
// listing. Torch-free. Usage and policy: docs/runner.md, "Slurm".
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace repro::runner {

// A Slurm client program's exit status and output.
struct SlurmToolResult {
  int rc = -1;  // as a shell reports it: the exit code, or 128 + the signal
  std::string out, err;
};

// Runs `program` (a path) with `args` (no shell) and `env` on top of this process's environment,
// stdin from /dev/null. Throws IoError when it cannot be started.
SlurmToolResult run_slurm_tool(const std::string& program, const std::vector<std::string>& args,
                               const std::map<std::string, std::string>& env = {});

// Slurm job ids: "123", "123_4" (an array element).
bool valid_slurm_job_id(const std::string& id);
// The job (array) an id belongs to: "123_4" -> "123"; "123" -> "123".
std::string slurm_array_base(const std::string& job_id);
// Whether a squeue state is an end (COMPLETED, FAILED, TIMEOUT, CANCELLED, NODE_FAIL, ...).
bool slurm_state_ended(const std::string& state);

// The job name squeue shows and adopt() compares: "repro-" and the key with everything but
// [A-Za-z0-9._+-] replaced, so that no tool that prints it can be confused by quotes or newlines.
std::string slurm_job_name(const std::string& key);
// The name of a job array: its first element's job name, how many more, and a token that tells
// this array from an earlier one of the same tasks (adopt() compares it with the marker files).
std::string slurm_array_job_name(const std::string& first_key, size_t elements, const std::string& manifest);

// sbatch's job id from its --parsable output ("123" or "123;cluster"). Throws IoError naming
// `what` (and sbatch's message) when sbatch failed or printed no job id.
std::string parse_sbatch_job_id(const SlurmToolResult& sbatch, const std::string& what);

// The JobArrayID field of a squeue row: "123" (a job), "123_4" (an array element that has started
// or ended) or "123_[5-7,9%2]" (elements still pending, in one row; "%2" is the array's cap); a
// range cut short (no closing ']', as squeue prints it past SLURM_BITSTR_LEN) sets `truncated`.
struct SlurmQueueId {
  std::string base;              // "123"
  std::vector<std::string> ids;  // "123", or "123_4", or "123_5", "123_6", "123_7", "123_9"
  bool truncated = false;
};
// Empty ids when `field` is not one of those forms.
SlurmQueueId parse_slurm_queue_id(const std::string& field);

struct SlurmQueueRow {
  std::string name;
  std::string state;  // PENDING, RUNNING, COMPLETED, FAILED, TIMEOUT, CANCELLED, ...
  int raw_exit = 0;   // the batch script's wait status (code << 8 | signal)
  std::string reason;
};

// squeue's answer about some jobs.
struct SlurmQueue {
  std::map<std::string, SlurmQueueRow> rows;  // by JOBID or JOBID_INDEX, pending ranges expanded
  // Arrays whose pending range squeue cut short: their elements without a row may still be pending.
  std::set<std::string> unsure;
};

// The rows of squeue's output in the format query_slurm_queue asks for. An element's own row wins
// over the pending range that also names it.
SlurmQueue parse_squeue_output(const std::string& out);

// One squeue call for the jobs (an element: its whole array) of `job_ids`. nullopt when squeue
// failed (nothing can be concluded this time); no rows when it knows none of them.
std::optional<SlurmQueue> query_slurm_queue(const std::string& squeue, const std::vector<std::string>& job_ids);

}  // namespace repro::runner

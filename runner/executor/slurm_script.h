#pragma once
// What the Slurm executor writes for Slurm to run, and what the job writes back: the batch script
// of an attempt (a wrapper that keeps a status file), a job array's manifest and script, and the
// files' names next to the task's log. Torch-free. Usage and policy: docs/runner.md, "Slurm".
#include <optional>
#include <string>
#include <vector>

#include "runner/executor/executor.h"

namespace repro::runner {

// The files of one attempt, next to its log (<name>.log -> <name>.status, <name>.sbatch, and for
// an array element <name>.array: the array's job name and the element's index, which adopt()
// checks).
std::string slurm_status_path(const std::string& log_path);
std::string slurm_script_path(const std::string& log_path);
std::string slurm_array_marker_path(const std::string& log_path);

// A job array's files, next to its first element's log: <name>.array-manifest (bash: the array
// `repro_scripts` of the elements' batch scripts, index by index, every path single-quoted) and
// <name>.array-sbatch (the script sbatch runs for every element: it picks its batch script from
// the manifest by SLURM_ARRAY_TASK_ID and execs it).
std::string slurm_array_manifest_path(const std::string& first_log_path);
std::string slurm_array_script_path(const std::string& first_log_path);
std::string slurm_array_script(const std::string& manifest_path);
// The manifest's text: `script_paths` (absolute) by index.
std::string slurm_array_manifest(const std::string& array_name, const std::vector<std::string>& script_paths);

// What an element's marker file says: the array's job name and the element's index.
struct SlurmArrayMarker {
  std::string job_name;
  std::string index;
};
std::string slurm_array_marker(const SlurmArrayMarker& marker);
// nullopt when the file is missing or lacks either line.
std::optional<SlurmArrayMarker> read_slurm_array_marker(const std::string& path);

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

}  // namespace repro::runner

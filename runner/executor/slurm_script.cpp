#include "runner/executor/slurm_script.h"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>

#include "base/util/errors.h"
#include "base/util/strings.h"

namespace repro::runner {

namespace fs = std::filesystem;

namespace {

std::string replace_suffix(const std::string& path, const std::string& suffix) {
  const std::string log = ".log";
  if (ends_with(path, log)) return path.substr(0, path.size() - log.size()) + suffix;
  return path + suffix;
}

std::string format_seconds(double s) {
  std::ostringstream o;
  o << s;
  return o.str();
}

bool valid_env_name(const std::string& n) {
  if (n.empty() || std::isdigit(static_cast<unsigned char>(n[0]))) return false;
  for (char c : n)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

// key=value lines, values trimmed; missing file: empty.
std::map<std::string, std::string> read_key_values(const std::string& path) {
  std::map<std::string, std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = trim(line.substr(eq + 1));
  }
  return out;
}

// The wrapper up to the task's command: the status file and its heartbeat, the working directory.
void write_wrapper_start(std::ostream& s, const LaunchRequest& r, const std::string& status_path, double heartbeat_s) {
  s << "#!/bin/bash\n"
       "# Written by repro's SlurmExecutor (docs/runner.md, \"Slurm\"): runs one attempt of a task and\n"
       "# keeps its status file (exit status, start and end times, heartbeat). Every value is quoted.\n";
  s << "repro_log=" << shell_quote(r.log_path) << "\n";
  s << "repro_status=" << shell_quote(status_path) << "\n";
  s << "repro_dir=" << shell_quote(r.working_dir.empty() ? fs::current_path().string() : r.working_dir) << "\n";
  s << "repro_heartbeat_s=" << shell_quote(format_seconds(heartbeat_s)) << "\n";
  s << R"SH(exec >>"$repro_log" 2>&1 </dev/null
# SIGTERM (scancel --signal=TERM --full, a time limit, a preemption) reaches every process of the
# job, the task included; the wrapper only notes it and waits for the task to checkpoint and exit.
# (A handler, not an ignored signal: the task starts with the default disposition.)
trap 'repro_term=1' TERM INT
repro_now() { date +%s.%N; }
repro_write_status() {
  local tmp="$repro_status.tmp.$BASHPID"
  { printf 'job_id=%s\nhost=%s\nrestarts=%s\nstart=%s\nheartbeat=%s\n' "$repro_job_id" \
      "${SLURMD_NODENAME:-$(hostname)}" "${SLURM_RESTART_COUNT:-0}" "$repro_start" "$(repro_now)"
    if [ -n "$1" ]; then printf '%s\n' "$1"; fi
  } > "$tmp" && mv -f -- "$tmp" "$repro_status"
}
# An array element is JOBID_INDEX, as squeue and scancel name it.
repro_job_id=${SLURM_JOB_ID:-}
if [ -n "${SLURM_ARRAY_JOB_ID:-}" ]; then repro_job_id=${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID:-}; fi
repro_start=$(repro_now)
repro_write_status ""
# The heartbeat; its sleep goes with it, so that no process outlives the wrapper.
( trap 'kill "$repro_sleep" 2>/dev/null; exit 0' TERM; trap - INT
  while :; do sleep "$repro_heartbeat_s" & repro_sleep=$!; wait "$repro_sleep"; repro_write_status ""; done ) &
repro_heartbeat_pid=$!
if ! cd -- "$repro_dir"; then
  repro_rc=1
else
)SH";
}

// The task's environment and command line, inside the wrapper's `else` branch.
void write_task_command(std::ostream& s, const LaunchRequest& r) {
  const int ntasks = r.slot.ranks();
  for (const auto& [k, v] : r.env) {
    if (!valid_env_name(k))
      throw IoError("task " + r.key + ": environment variable name " + shell_quote(k) +
                    " is not a shell identifier (expected [A-Za-z_][A-Za-z0-9_]*)");
    s << "  export " << k << "=" << shell_quote(v) << "\n";
  }
  // A CPU task never grabs a GPU the submitting shell could see.
  if (r.slot.gpus == 0 && !r.env.count("CUDA_VISIBLE_DEVICES")) s << "  export CUDA_VISIBLE_DEVICES=''\n";
  s << "  ";
  // N processes (one per GPU, or N CPU ranks) as one step; the trainer reads SLURM_PROCID /
  // SLURM_STEP_NUM_TASKS.
  if (ntasks > 1) s << "srun --ntasks=" << ntasks << " --kill-on-bad-exit=1 --export=ALL -- ";
  for (size_t i = 0; i < r.argv.size(); ++i) s << (i ? " " : "") << shell_quote(r.argv[i]);
}

}  // namespace

std::string slurm_status_path(const std::string& log_path) { return replace_suffix(log_path, ".status"); }
std::string slurm_script_path(const std::string& log_path) { return replace_suffix(log_path, ".sbatch"); }
std::string slurm_array_marker_path(const std::string& log_path) { return replace_suffix(log_path, ".array"); }
std::string slurm_array_manifest_path(const std::string& first_log_path) {
  return replace_suffix(first_log_path, ".array-manifest");
}
std::string slurm_array_script_path(const std::string& first_log_path) {
  return replace_suffix(first_log_path, ".array-sbatch");
}

std::string slurm_array_script(const std::string& manifest_path) {
  std::ostringstream s;
  s << "#!/bin/bash\n"
       "# Written by repro's SlurmExecutor (docs/runner.md, \"Slurm\"): an element of a job array runs the\n"
       "# batch script of its task, the one the manifest lists at index SLURM_ARRAY_TASK_ID.\n";
  s << "repro_manifest=" << shell_quote(manifest_path) << "\n";
  s << R"SH(case "${SLURM_ARRAY_TASK_ID:-}" in
  ''|*[!0-9]*) echo "repro: not an element of a job array (SLURM_ARRAY_TASK_ID='${SLURM_ARRAY_TASK_ID:-}')" >&2; exit 1 ;;
esac
repro_scripts=()
. "$repro_manifest" || exit 1
repro_script=${repro_scripts[$SLURM_ARRAY_TASK_ID]:-}
if [ -z "$repro_script" ]; then
  echo "repro: $repro_manifest lists no task at index $SLURM_ARRAY_TASK_ID" >&2
  exit 1
fi
exec /bin/bash -- "$repro_script"
)SH";
  return s.str();
}

std::string slurm_array_manifest(const std::string& array_name, const std::vector<std::string>& script_paths) {
  std::ostringstream m;
  m << "# Written by repro's SlurmExecutor: the batch script of each element of the job array " << array_name
    << ", by index.\nrepro_scripts=(\n";
  for (const auto& path : script_paths) m << "  " << shell_quote(path) << "\n";
  m << ")\n";
  return m.str();
}

std::string slurm_array_marker(const SlurmArrayMarker& marker) {
  return "job_name=" + marker.job_name + "\nindex=" + marker.index + "\n";
}

std::optional<SlurmArrayMarker> read_slurm_array_marker(const std::string& path) {
  const auto values = read_key_values(path);
  const auto name = values.find("job_name"), index = values.find("index");
  if (name == values.end() || index == values.end()) return std::nullopt;
  return SlurmArrayMarker{name->second, index->second};
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::optional<SlurmJobStatus> read_slurm_job_status(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  SlurmJobStatus s;
  std::string line;
  auto number = [](const std::string& v) -> std::optional<double> {
    try {
      return v.empty() ? std::nullopt : std::optional<double>(std::stod(v));
    } catch (const std::exception&) {
      return std::nullopt;
    }
  };
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string k = line.substr(0, eq), v = trim(line.substr(eq + 1));
    if (k == "job_id")
      s.job_id = v;
    else if (k == "host")
      s.host = v;
    else if (k == "restarts")
      s.restarts = static_cast<int>(number(v).value_or(0));
    else if (k == "start")
      s.start = number(v);
    else if (k == "heartbeat")
      s.heartbeat = number(v);
    else if (k == "end")
      s.end = number(v);
    else if (k == "exit" && number(v) && *number(v) >= 0 && *number(v) <= 255)
      s.exit = static_cast<int>(*number(v));
  }
  return s;
}

std::string slurm_batch_script(const LaunchRequest& r, const std::string& status_path, double heartbeat_s) {
  REPRO_CHECK(!r.argv.empty(), "launch of " + r.key + " without a program");
  std::ostringstream s;
  write_wrapper_start(s, r, status_path, heartbeat_s);
  write_task_command(s, r);
  // In the foreground: bash runs the trap only after the task has exited, and $? is its status.
  s << R"SH(
  repro_rc=$?
fi
kill "$repro_heartbeat_pid" 2>/dev/null; wait "$repro_heartbeat_pid" 2>/dev/null
repro_write_status "end=$(repro_now)
exit=$repro_rc"
exit "$repro_rc"
)SH";
  return s.str();
}

}  // namespace repro::runner

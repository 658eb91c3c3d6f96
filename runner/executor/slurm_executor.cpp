#include "runner/executor/slurm_executor.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <boost/process.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "core/util/errors.h"

namespace repro::runner {

namespace bp = boost::process;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct SlurmExecutor::Job {
  std::string key, job_id, log_path, status_path;
  Clock::time_point submitted;
  double timeout_s = 0;
  std::optional<Clock::time_point> running_since;  // first poll that saw it RUNNING
  std::optional<Clock::time_point> term_sent;      // SIGTERM sent at (timeout)
  bool timed_out = false;
  bool cancelled = false;
  bool killed = false;
  std::optional<Clock::time_point> ended_seen;  // since when squeue shows it ended or not at all
};

struct SlurmExecutor::QueueRow {
  std::string name;
  std::string state;  // PENDING, RUNNING, COMPLETED, FAILED, TIMEOUT, CANCELLED, ...
  int raw_exit = 0;   // the batch script's wait status (code << 8 | signal)
  std::string reason;
};

namespace {

struct ToolResult {
  int rc = -1;
  std::string out, err;
};

// Runs a program (no shell: arguments reach it as they are) and collects its output. The output
// goes through temporary files (small, and no asynchronous SIGCHLD handling to race with) that
// are unlinked as soon as they are open, so a killed orchestrator leaves none behind.
ToolResult run_tool(const std::string& exe, const std::vector<std::string>& args,
                    const std::map<std::string, std::string>& env = {}) {
  auto open_unlinked = [&exe]() {
    char path[] = "/tmp/repro-slurm-XXXXXX";
    const int fd = ::mkstemp(path);
    if (fd < 0) throw IoError(std::string("cannot create a temporary file in /tmp to run ") + exe);
    ::unlink(path);
    FILE* f = ::fdopen(fd, "w+");
    if (!f) ::close(fd);
    return std::unique_ptr<FILE, int (*)(FILE*)>(f, &std::fclose);
  };
  const auto out = open_unlinked(), err = open_unlinked();
  if (!out || !err) throw IoError(std::string("cannot open a temporary file in /tmp to run ") + exe);
  ToolResult r;
  try {
    bp::environment child_env = boost::this_process::environment();
    for (const auto& [k, v] : env) child_env[k] = v;
    // clang-format off
    bp::child c(bp::exe = exe, bp::args = args, bp::std_in < bp::null, bp::std_out > out.get(),
                bp::std_err > err.get(), child_env);
    // clang-format on
    c.wait();
    r.rc = c.exit_code();
  } catch (const std::exception& e) {
    throw IoError("cannot run " + exe + ": " + e.what());
  }
  auto slurp = [](FILE* f) {
    std::string text;
    std::rewind(f);
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
    return text;
  };
  r.out = slurp(out.get());
  r.err = slurp(err.get());
  return r;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::string resolve_program(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (::access(name.c_str(), X_OK) == 0) return name;
  } else {
    const auto p = bp::search_path(name);
    if (!p.empty()) return p.string();
  }
  throw ConfigError("--executor slurm", name,
                    "expected the Slurm client program " + name +
                        " on PATH, found none (install slurm-client, or use --executor local)");
}

// Slurm job ids: "123", "123_4" (an array task).
bool valid_job_id(const std::string& id) {
  if (id.empty() || id.front() == '_' || id.back() == '_') return false;
  for (char c : id)
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

bool valid_env_name(const std::string& n) {
  if (n.empty() || std::isdigit(static_cast<unsigned char>(n[0]))) return false;
  for (char c : n)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

// A job name squeue shows and adopt() compares: the key with everything but [A-Za-z0-9._+-]
// replaced, so that no tool that prints it can be confused by quotes or newlines.
std::string job_name_of(const std::string& key) {
  std::string n = "repro-";
  for (char c : key)
    n += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '+' || c == '-') ? c : '_';
  return n.substr(0, 120);
}

bool terminal_state(const std::string& s) {
  static const std::set<std::string> kEnded = {"COMPLETED", "FAILED",        "TIMEOUT",   "CANCELLED", "NODE_FAIL",
                                               "PREEMPTED", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE"};
  return kEnded.count(s) > 0;
}

std::string replace_suffix(const std::string& path, const std::string& suffix) {
  const std::string log = ".log";
  if (path.size() >= log.size() && path.compare(path.size() - log.size(), log.size(), log) == 0)
    return path.substr(0, path.size() - log.size()) + suffix;
  return path + suffix;
}

std::string format_seconds(double s) {
  std::ostringstream o;
  o << s;
  return o.str();
}

bool all_digits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// "123_4" -> "123"; "123" -> "123".
std::string array_base_of(const std::string& job_id) { return job_id.substr(0, job_id.find('_')); }

// Replaces `path` with `text` at once (temp file + rename): a reader sees the old file or the new.
void write_atomically(const std::string& path, const std::string& text, const std::string& what) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  std::ofstream out(tmp, std::ios::trunc);
  out << text;
  out.close();
  std::error_code ec;
  if (out) fs::rename(tmp, path, ec);
  if (!out || ec) {
    fs::remove(tmp, ec);
    throw IoError("cannot write " + what + " " + path);
  }
}

// key=value lines; missing file: empty.
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

// The name of a job array: its first element's job name, how many more, and a token that tells
// this array from an earlier one of the same tasks (adopt() compares it with the marker files).
std::string array_job_name(const std::string& first_key, size_t elements, const std::string& manifest) {
  const auto now = std::chrono::system_clock::now().time_since_epoch().count();
  char token[9];
  std::snprintf(token, sizeof token, "%08x",
                static_cast<unsigned>(std::hash<std::string>{}(manifest + "@" + std::to_string(now)) & 0xffffffffu));
  return job_name_of(first_key).substr(0, 100) + "+" + std::to_string(elements - 1) + "." + token;
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

SlurmQueueId parse_slurm_queue_id(const std::string& field) {
  constexpr size_t kMaxIds = 1000000;  // a pending range of an absurd size counts as cut short
  SlurmQueueId q;
  const std::string f = trim(field);
  const auto us = f.find('_');
  q.base = f.substr(0, us);
  if (!all_digits(q.base)) return {};
  if (us == std::string::npos) {
    q.ids = {f};
    return q;
  }
  const std::string rest = f.substr(us + 1);
  if (all_digits(rest)) {
    q.ids = {f};
    return q;
  }
  if (rest.empty() || rest.front() != '[') return {};
  const auto close = rest.find(']');
  q.truncated = close == std::string::npos;
  std::string list = rest.substr(1, q.truncated ? std::string::npos : close - 1);
  list = list.substr(0, list.find('%'));  // "%K": the array's cap
  std::vector<std::string> items;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) items.push_back(item);
  if (q.truncated && !items.empty()) items.pop_back();  // may have lost digits
  for (const auto& item : items) {
    const auto dash = item.find('-');
    const std::string a = item.substr(0, dash), b = dash == std::string::npos ? a : item.substr(dash + 1);
    if (!all_digits(a) || !all_digits(b) || a.size() > 9 || b.size() > 9) return {};
    const long lo = std::stol(a), hi = std::stol(b);
    if (hi < lo) return {};
    if (q.ids.size() + static_cast<size_t>(hi - lo) >= kMaxIds) {
      q.truncated = true;
      break;
    }
    for (long i = lo; i <= hi; ++i) q.ids.push_back(q.base + "_" + std::to_string(i));
  }
  return q;
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
  const int ntasks = r.slot.ranks();
  std::ostringstream s;
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

SlurmExecutor::SlurmExecutor(SlurmExecutorOptions options) : options_(std::move(options)) {
  if (options_.max_in_flight < 0)
    throw ConfigError("--max-parallel", std::to_string(options_.max_in_flight),
                      "expected 0 (no cap) or more jobs at once");
  if (options_.max_gpus_per_task < 0)
    throw ConfigError("--slurm-gpus", std::to_string(options_.max_gpus_per_task), "expected 0 (CPU only) or more");
  if (options_.cpus_per_task < 0)
    throw ConfigError("--cpus-per-task", std::to_string(options_.cpus_per_task), "expected 0 (the default) or more");
  if (options_.array_cap < 0)
    throw ConfigError("--array-cap", std::to_string(options_.array_cap),
                      "expected 0 (no arrays) or more elements of an array at once");
  if (options_.max_array_size < 2)
    throw ConfigError("slurm", "max_array_size",
                      "expected >= 2 elements, got " + std::to_string(options_.max_array_size));
  if (!(options_.heartbeat_s > 0))
    throw ConfigError("slurm", "heartbeat_s", "expected > 0 seconds, got " + format_seconds(options_.heartbeat_s));
  options_.sbatch = resolve_program(options_.sbatch);
  options_.squeue = resolve_program(options_.squeue);
  options_.scancel = resolve_program(options_.scancel);
}

SlurmExecutor::~SlurmExecutor() = default;

bool SlurmExecutor::fits(const SlotRequest& slot) const {
  return slot.gpus >= 0 && slot.processes >= 0 && slot.gpus <= options_.max_gpus_per_task;
}

bool SlurmExecutor::can_launch(const SlotRequest& slot) const {
  return fits(slot) && (options_.max_in_flight == 0 || running() < options_.max_in_flight);
}

int SlurmExecutor::running() const { return static_cast<int>(jobs_.size()); }

std::map<std::string, std::string> SlurmExecutor::job_ids() const {
  std::map<std::string, std::string> out;
  for (const auto& j : jobs_) out[j->key] = j->job_id;
  return out;
}

std::unique_ptr<SlurmExecutor::Job> SlurmExecutor::prepare(const LaunchRequest& request) const {
  REPRO_CHECK(!request.argv.empty(), "launch of " + request.key + " without a program");
  for (const auto& j : jobs_) REPRO_CHECK(j->key != request.key, "task " + request.key + " is already running");
  auto job = std::make_unique<Job>();
  job->key = request.key;
  job->log_path = request.log_path;
  job->status_path = slurm_status_path(request.log_path);
  job->timeout_s = request.timeout_s;
  const std::string script_path = slurm_script_path(request.log_path);
  const std::string script = slurm_batch_script(request, job->status_path, options_.heartbeat_s);
  std::error_code ec;
  fs::remove(job->status_path, ec);  // a stale one must not be taken for this job's
  fs::remove(slurm_array_marker_path(request.log_path), ec);
  {
    std::ofstream log(request.log_path, std::ios::trunc);
    if (!log) throw IoError("cannot create the log " + request.log_path + " of task " + request.key);
    std::ofstream out(script_path, std::ios::trunc);
    out << script;
    out.close();
    if (!out) throw IoError("cannot write the batch script " + script_path + " of task " + request.key);
    ::chmod(script_path.c_str(), 0755);
  }
  return job;
}

std::vector<std::string> SlurmExecutor::sbatch_options(const LaunchRequest& request) const {
  const int ntasks = request.slot.ranks();
  std::vector<std::string> args = {"--output=/dev/null", "--error=/dev/null", "--ntasks=" + std::to_string(ntasks),
                                   "--export=ALL"};
  if (request.slot.gpus > 0)
    args.push_back(options_.gpu_flag == SlurmGpuFlag::kGpus ? "--gpus=" + std::to_string(request.slot.gpus)
                                                            : "--gres=gpu:" + std::to_string(request.slot.gpus));
  if (options_.cpus_per_task > 0) args.push_back("--cpus-per-task=" + std::to_string(options_.cpus_per_task));
  if (!options_.partition.empty()) args.push_back("--partition=" + options_.partition);
  if (!options_.account.empty()) args.push_back("--account=" + options_.account);
  if (!options_.time_limit.empty()) {
    args.push_back("--time=" + options_.time_limit);
  } else if (request.timeout_s > 0) {
    const int minutes = static_cast<int>(std::ceil((request.timeout_s + options_.kill_grace_s) / 60.0)) + 1;
    args.push_back("--time=" + std::to_string(minutes));
  }
  args.push_back(options_.requeue ? "--requeue" : "--no-requeue");
  for (const auto& a : options_.sbatch_args) args.push_back(a);
  return args;
}

namespace {

// sbatch's job id from its --parsable output ("123" or "123;cluster"); throws IoError otherwise.
std::string submitted_id(const ToolResult& r, const std::string& what) {
  const std::string out = trim(r.out);
  const std::string id = out.substr(0, out.find(';'));
  if (r.rc != 0 || !all_digits(id))
    throw IoError("sbatch failed for " + what + " (exit " + std::to_string(r.rc) +
                  "): " + (trim(r.err).empty() ? "expected a job id on stdout, got '" + out + "'" : trim(r.err)));
  return id;
}

}  // namespace

Launched SlurmExecutor::launch(const LaunchRequest& request) {
  REPRO_CHECK(can_launch(request.slot), "launch of " + request.key + " without a free slot");
  std::unique_ptr<Job> job = prepare(request);
  std::vector<std::string> args = {"--parsable", "--job-name=" + job_name_of(request.key)};
  for (auto& a : sbatch_options(request)) args.push_back(std::move(a));
  args.push_back(slurm_script_path(request.log_path));
  const std::string id = submitted_id(run_tool(options_.sbatch, args), "task " + request.key);
  job->job_id = id;
  job->submitted = Clock::now();
  Launched l{id, "", ""};
  if (request.slot.gpus > 0) l.gpus = std::to_string(request.slot.gpus) + " (slurm)";
  jobs_.push_back(std::move(job));
  return l;
}

std::vector<LaunchResult> SlurmExecutor::launch_batch(const std::vector<LaunchRequest>& requests) {
  std::vector<LaunchResult> results(requests.size());
  // What the in-flight cap admits, grouped by equal sbatch options (groups in order of their first
  // request, requests in order within a group).
  std::vector<std::vector<size_t>> groups;
  std::map<std::vector<std::string>, size_t> group_of;
  int in_flight = running();
  std::set<std::string> keys;
  for (size_t i = 0; i < requests.size(); ++i) {
    REPRO_CHECK(keys.insert(requests[i].key).second, "task " + requests[i].key + " twice in one launch_batch");
    if (!fits(requests[i].slot) || (options_.max_in_flight > 0 && in_flight >= options_.max_in_flight)) continue;
    ++in_flight;
    const auto key = options_.arrays ? sbatch_options(requests[i]) : std::vector<std::string>{std::to_string(i)};
    const auto [it, added] = group_of.emplace(key, groups.size());
    if (added) groups.emplace_back();
    groups[it->second].push_back(i);
  }
  auto launch_one = [&](size_t i) {
    try {
      results[i].launched = launch(requests[i]);
    } catch (const IoError& e) {
      results[i].error = e.what();
    }
  };
  for (const auto& g : groups)
    for (size_t from = 0; from < g.size(); from += static_cast<size_t>(options_.max_array_size)) {
      const std::vector<size_t> part(g.begin() + static_cast<std::ptrdiff_t>(from),
                                     g.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                     g.size(), from + static_cast<size_t>(options_.max_array_size))));
      if (part.size() == 1)
        launch_one(part[0]);
      else
        launch_array(requests, part, &results);
    }
  return results;
}

void SlurmExecutor::launch_array(const std::vector<LaunchRequest>& requests, const std::vector<size_t>& group,
                                 std::vector<LaunchResult>* results) {
  // Each element's own files first; one that cannot be written fails alone.
  std::vector<std::unique_ptr<Job>> jobs;
  std::vector<size_t> members;
  for (size_t i : group) {
    try {
      jobs.push_back(prepare(requests[i]));
      members.push_back(i);
    } catch (const IoError& e) {
      (*results)[i].error = e.what();
    }
  }
  if (members.empty()) return;
  if (members.size() == 1) {
    try {
      (*results)[members[0]].launched = launch(requests[members[0]]);
    } catch (const IoError& e) {
      (*results)[members[0]].error = e.what();
    }
    return;
  }
  const LaunchRequest& first = requests[members[0]];
  const std::string manifest = fs::absolute(slurm_array_manifest_path(first.log_path)).string();
  const std::string script = slurm_array_script_path(first.log_path);
  const std::string name = array_job_name(first.key, members.size(), manifest);
  std::string error;
  try {
    std::ostringstream m;
    m << "# Written by repro's SlurmExecutor: the batch script of each element of the job array " << name
      << ", by index.\nrepro_scripts=(\n";
    for (size_t k = 0; k < members.size(); ++k) {
      const std::string& log = requests[members[k]].log_path;
      m << "  " << shell_quote(fs::absolute(slurm_script_path(log)).string()) << "\n";
      write_atomically(slurm_array_marker_path(log), "job_name=" + name + "\nindex=" + std::to_string(k) + "\n",
                       "the array marker of task " + requests[members[k]].key);
    }
    m << ")\n";
    write_atomically(manifest, m.str(), "the array manifest");
    write_atomically(script, slurm_array_script(manifest), "the array batch script");
    ::chmod(script.c_str(), 0755);

    const int cap = options_.array_cap > 0 ? options_.array_cap : options_.max_in_flight;
    std::vector<std::string> args = {
        "--parsable", "--job-name=" + name,
        "--array=0-" + std::to_string(members.size() - 1) + (cap > 0 ? "%" + std::to_string(cap) : "")};
    for (auto& a : sbatch_options(first)) args.push_back(std::move(a));
    args.push_back(script);
    const std::string id = submitted_id(run_tool(options_.sbatch, args),
                                        "the array of " + std::to_string(members.size()) + " tasks from " + first.key);
    const auto now = Clock::now();
    for (size_t k = 0; k < members.size(); ++k) {
      Job& job = *jobs[k];
      job.job_id = id + "_" + std::to_string(k);
      job.submitted = now;
      Launched l{job.job_id, "", ""};
      if (requests[members[k]].slot.gpus > 0) l.gpus = std::to_string(requests[members[k]].slot.gpus) + " (slurm)";
      (*results)[members[k]].launched = l;
      jobs_.push_back(std::move(jobs[k]));
    }
    return;
  } catch (const IoError& e) {
    error = e.what();
  }
  for (size_t i : members) (*results)[i].error = error;
}

bool SlurmExecutor::query(const std::vector<std::string>& ids, std::map<std::string, QueueRow>* rows,
                          std::set<std::string>* unsure) const {
  // An array's id lists all its elements; its pending ones come as one range row.
  std::set<std::string> bases;
  std::string list;
  for (const auto& id : ids)
    if (bases.insert(array_base_of(id)).second) list += (list.empty() ? "" : ",") + array_base_of(id);
  // Reason last: the only field that could hold a '|'. SLURM_BITSTR_LEN=0: pending ranges in full
  // (squeue cuts them at 64 characters by default).
  const ToolResult r = run_tool(
      options_.squeue,
      {"--noheader", "--states=all", "--jobs=" + list, "--Format=JobArrayID:|,Name:|,State:|,exit_code:|,Reason:|"},
      {{"SLURM_BITSTR_LEN", "0"}});
  if (r.rc != 0) return r.err.find("Invalid job id") != std::string::npos;  // none of them is known
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    size_t start = 0;
    for (int i = 0; i < 4; ++i) {
      const auto bar = line.find('|', start);
      if (bar == std::string::npos) break;
      f.push_back(trim(line.substr(start, bar - start)));
      start = bar + 1;
    }
    if (f.size() < 4) continue;
    QueueRow row;
    row.name = f[1];
    row.state = f[2];
    try {
      row.raw_exit = std::stoi(f[3]);
    } catch (const std::exception&) {
    }
    std::string reason = line.substr(start);
    if (!reason.empty() && reason.back() == '|') reason.pop_back();
    row.reason = trim(reason);
    const SlurmQueueId q = parse_slurm_queue_id(f[0]);
    if (q.truncated) unsure->insert(q.base);
    if (q.ids.size() == 1 && q.ids[0] == trim(f[0]))
      (*rows)[q.ids[0]] = row;  // a job, or an element of its own
    else
      for (const auto& id : q.ids) rows->emplace(id, row);  // pending: never over an element's own row
  }
  return true;
}

Finished SlurmExecutor::finished_from(const Job& job, const QueueRow* row) const {
  Finished f;
  f.key = job.key;
  const std::string state = row ? row->state : "";
  f.cancelled = job.cancelled || state == "CANCELLED";
  f.timed_out = job.timed_out || state == "TIMEOUT" || state == "DEADLINE";
  const auto status = read_slurm_job_status(job.status_path);
  if (status && status->end && status->exit) {
    // The wrapper's word: the task's own status, as a shell reports it.
    const int rc = *status->exit;
    if (rc > 128 && rc <= 128 + 64)
      f.signal = rc - 128;
    else
      f.exit_code = rc;
  } else if (row && (state == "COMPLETED" || state == "FAILED") && (row->raw_exit & 0x7f) == 0) {
    const int code = (row->raw_exit >> 8) & 0xff;
    if (code > 128)
      f.signal = code - 128;
    else
      f.exit_code = code;
  } else if (row && (row->raw_exit & 0x7f) != 0) {
    f.signal = row->raw_exit & 0x7f;
  } else {
    // Ended without the wrapper's word: a time limit or cancel (SIGTERM), a failed node, a
    // preemption without requeue, or a job Slurm no longer knows: counted as killed (retried).
    f.signal = state == "TIMEOUT" || state == "CANCELLED" ? SIGTERM : SIGKILL;
  }
  if (status && status->start && status->end)
    f.seconds = *status->end - *status->start;
  else
    f.seconds = std::chrono::duration<double>(Clock::now() - job.submitted).count();
  return f;
}

std::vector<Finished> SlurmExecutor::poll() {
  std::vector<Finished> out;
  if (jobs_.empty()) return out;
  const auto now = Clock::now();
  if (now - last_query_ < std::chrono::duration<double>(options_.poll_interval_s)) return out;
  last_query_ = now;
  std::vector<std::string> ids;
  for (const auto& j : jobs_) ids.push_back(j->job_id);
  std::map<std::string, QueueRow> rows;
  std::set<std::string> unsure;
  if (!query(ids, &rows, &unsure)) return out;
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    Job& j = **it;
    const auto r = rows.find(j.job_id);
    const QueueRow* row = r == rows.end() ? nullptr : &r->second;
    if (!row && unsure.count(array_base_of(j.job_id))) {  // perhaps in the part of a range squeue cut off
      j.ended_seen.reset();
      ++it;
      continue;
    }
    if (row && !terminal_state(row->state)) {
      // Pending, running, completing, or requeued after a node failure or preemption: still ours.
      j.ended_seen.reset();
      if (row->state == "RUNNING" && !j.running_since) j.running_since = now;
      const auto timeout = std::chrono::duration<double>(j.timeout_s);
      if (j.timeout_s > 0 && j.running_since && !j.term_sent && now - *j.running_since >= timeout) {
        j.timed_out = true;
        j.term_sent = now;
        signal_jobs({&j}, false);
      } else if (j.term_sent && !j.killed &&
                 now - *j.term_sent >= std::chrono::duration<double>(options_.kill_grace_s)) {
        j.killed = true;
        signal_jobs({&j}, true);
      }
      ++it;
      continue;
    }
    // Ended, or not listed (purged after MinJobAge, a controller that lost its state, or a job
    // between its requeue and its pending state): final once that has held for end_settle_s.
    if (!j.ended_seen) j.ended_seen = now;
    if (now - *j.ended_seen < std::chrono::duration<double>(options_.end_settle_s)) {
      ++it;
      continue;
    }
    out.push_back(finished_from(j, row));
    it = jobs_.erase(it);
  }
  return out;
}

void SlurmExecutor::signal_jobs(const std::vector<const Job*>& jobs, bool force) const {
  // A job that has not started has nothing to checkpoint: it is removed from the queue at once.
  // One scancel per kind names them all (a few hundred ids per call, far below ARG_MAX): stopping
  // a sweep of thousands must not take thousands of round trips to the controller.
  std::vector<std::string> kill, term;
  for (const Job* j : jobs) (force || !j->running_since ? kill : term).push_back(j->job_id);
  constexpr size_t kIdsPerCall = 500;
  for (const auto* ids : {&kill, &term})
    for (size_t i = 0; i < ids->size(); i += kIdsPerCall) {
      std::vector<std::string> args;
      if (ids == &term) args = {"--full", "--signal=TERM"};
      args.insert(args.end(), ids->begin() + i, ids->begin() + std::min(ids->size(), i + kIdsPerCall));
      run_tool(options_.scancel, args);
    }
}

void SlurmExecutor::cancel(const std::string& key, bool force) {
  std::vector<Job*> named;
  for (auto& j : jobs_)
    if (j->key == key) named.push_back(j.get());
  stop(named, force);
}

void SlurmExecutor::stop_all(bool force) {
  std::vector<Job*> all;
  for (auto& j : jobs_) all.push_back(j.get());
  stop(all, force);
}

void SlurmExecutor::stop(const std::vector<Job*>& jobs, bool force) {
  for (Job* j : jobs) {
    j->cancelled = true;
    if (force) j->killed = true;
  }
  signal_jobs({jobs.begin(), jobs.end()}, force);
}

bool SlurmExecutor::adopt(const std::string& key, const std::string& job_id, const std::string& log_path) {
  for (const auto& j : jobs_) REPRO_CHECK(j->key != key, "task " + key + " is already running");
  if (!valid_job_id(job_id)) return false;
  auto job = std::make_unique<Job>();
  job->key = key;
  job->job_id = job_id;
  job->log_path = log_path;
  job->status_path = slurm_status_path(log_path);
  job->submitted = Clock::now();
  const auto status = read_slurm_job_status(job->status_path);
  if (status && status->start)  // durations from the wrapper's start, not from the adoption
    job->submitted -= std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(std::max(
        0.0,
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count() - *status->start)));
  // An array element: the array's name and the element's index, as the marker says.
  std::string expected_name = job_name_of(key);
  if (const auto us = job_id.find('_'); us != std::string::npos) {
    const auto marker = read_key_values(slurm_array_marker_path(log_path));
    const auto name = marker.find("job_name"), index = marker.find("index");
    if (name == marker.end() || index == marker.end() || index->second != job_id.substr(us + 1)) return false;
    expected_name = name->second;
  }
  std::map<std::string, QueueRow> rows;
  std::set<std::string> unsure;
  if (query({job_id}, &rows, &unsure)) {
    const auto r = rows.find(job_id);
    if (r == rows.end()) {
      // Gone without a trace (an element in a range squeue cut short: kept, poll() decides).
      if (!(status && status->end) && !unsure.count(array_base_of(job_id))) return false;
    } else {
      // Job ids restart with a fresh controller: the id must still name this task's job.
      if (r->second.name != expected_name) return false;
      if (r->second.state == "RUNNING") job->running_since = Clock::now();
    }
  }  // squeue failing: keep the job; poll() decides once the controller answers
  jobs_.push_back(std::move(job));
  return true;
}

}  // namespace repro::runner

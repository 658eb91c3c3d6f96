#include "runner/executor/slurm_executor.h"

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "base/util/errors.h"
#include "base/util/file_io.h"
#include "base/util/process.h"

namespace repro::runner {

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

namespace {

std::string resolve_program(const std::string& name) {
  const std::string path = find_program(name);
  if (!path.empty()) return path;
  throw ConfigError("--executor slurm", name,
                    "expected the Slurm client program " + name +
                        " on PATH, found none (install slurm-client, or use --executor local)");
}

std::string format_seconds(double s) {
  std::ostringstream o;
  o << s;
  return o.str();
}

Launched launched_as(const std::string& job_id, const LaunchRequest& request) {
  Launched l{job_id, "", ""};
  if (request.slot.gpus > 0) l.gpus = std::to_string(request.slot.gpus) + " (slurm)";
  return l;
}

// How long ago a wall-clock time (unix seconds, as the wrapper records them) was; 0 for the future.
Clock::duration age_of(double unix_s) {
  const double now_unix_s = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(std::max(0.0, now_unix_s - unix_s)));
}

}  // namespace

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

std::string SlurmExecutor::submit(const std::string& job_name, const std::vector<std::string>& extra_options,
                                  const LaunchRequest& options_of, const std::string& script,
                                  const std::string& what) const {
  std::vector<std::string> args = {"--parsable", "--job-name=" + job_name};
  args.insert(args.end(), extra_options.begin(), extra_options.end());
  for (auto& a : sbatch_options(options_of)) args.push_back(std::move(a));
  args.push_back(script);
  return parse_sbatch_job_id(run_slurm_tool(options_.sbatch, args), what);
}

Launched SlurmExecutor::launch(const LaunchRequest& request) {
  REPRO_CHECK(can_launch(request.slot), "launch of " + request.key + " without a free slot");
  std::unique_ptr<Job> job = prepare(request);
  job->job_id =
      submit(slurm_job_name(request.key), {}, request, slurm_script_path(request.log_path), "task " + request.key);
  job->submitted = Clock::now();
  const Launched l = launched_as(job->job_id, request);
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
  const auto max_size = static_cast<size_t>(options_.max_array_size);
  for (const auto& g : groups)
    for (size_t from = 0; from < g.size(); from += max_size) {
      const std::vector<size_t> part(g.begin() + static_cast<std::ptrdiff_t>(from),
                                     g.begin() + static_cast<std::ptrdiff_t>(std::min(g.size(), from + max_size)));
      launch_array(requests, part, &results);
    }
  return results;
}

// A lone request (or the one element left of a group whose other files failed) is a plain job.
void SlurmExecutor::launch_array(const std::vector<LaunchRequest>& requests, const std::vector<size_t>& group,
                                 std::vector<LaunchResult>* results) {
  auto launch_one = [&](size_t i) {
    try {
      (*results)[i].launched = launch(requests[i]);
    } catch (const IoError& e) {
      (*results)[i].error = e.what();
    }
  };
  if (group.size() == 1) return launch_one(group[0]);
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
  if (members.size() == 1) return launch_one(members[0]);
  const LaunchRequest& first = requests[members[0]];
  const std::string manifest = fs::absolute(slurm_array_manifest_path(first.log_path)).string();
  const std::string script = slurm_array_script_path(first.log_path);
  const std::string name = slurm_array_job_name(first.key, members.size(), manifest);
  try {
    std::vector<std::string> scripts;
    for (size_t k = 0; k < members.size(); ++k) {
      const std::string& log = requests[members[k]].log_path;
      scripts.push_back(fs::absolute(slurm_script_path(log)).string());
      write_file_atomic(slurm_array_marker_path(log), slurm_array_marker({name, std::to_string(k)}));
    }
    write_file_atomic(manifest, slurm_array_manifest(name, scripts));
    write_file_atomic(script, slurm_array_script(manifest));
    ::chmod(script.c_str(), 0755);
    const int cap = options_.array_cap > 0 ? options_.array_cap : options_.max_in_flight;
    const std::string range =
        "--array=0-" + std::to_string(members.size() - 1) + (cap > 0 ? "%" + std::to_string(cap) : "");
    const std::string id = submit(name, {range}, first, script,
                                  "the array of " + std::to_string(members.size()) + " tasks from " + first.key);
    const auto now = Clock::now();
    for (size_t k = 0; k < members.size(); ++k) {
      jobs[k]->job_id = id + "_" + std::to_string(k);
      jobs[k]->submitted = now;
      (*results)[members[k]].launched = launched_as(jobs[k]->job_id, requests[members[k]]);
      jobs_.push_back(std::move(jobs[k]));
    }
  } catch (const IoError& e) {
    for (size_t i : members) (*results)[i].error = e.what();
  }
}

Finished SlurmExecutor::finished_from(const Job& job, const SlurmQueueRow* row) const {
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
  const std::optional<SlurmQueue> queue = query_slurm_queue(options_.squeue, ids);
  if (!queue) return out;
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    Job& j = **it;
    const auto r = queue->rows.find(j.job_id);
    const SlurmQueueRow* row = r == queue->rows.end() ? nullptr : &r->second;
    if (!row && queue->unsure.count(slurm_array_base(j.job_id))) {  // perhaps in the part of a range squeue cut off
      j.ended_seen.reset();
      ++it;
      continue;
    }
    if (row && !slurm_state_ended(row->state)) {
      // Pending, running, completing, or requeued after a node failure or preemption: still ours.
      j.ended_seen.reset();
      if (row->state == "RUNNING" && !j.running_since) j.running_since = now;
      enforce_timeout(j, now);
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

void SlurmExecutor::enforce_timeout(Job& j, Clock::time_point now) {
  const auto timeout = std::chrono::duration<double>(j.timeout_s);
  if (j.timeout_s > 0 && j.running_since && !j.term_sent && now - *j.running_since >= timeout) {
    j.timed_out = true;
    j.term_sent = now;
    signal_jobs({&j}, false);
  } else if (j.term_sent && !j.killed && now - *j.term_sent >= std::chrono::duration<double>(options_.kill_grace_s)) {
    j.killed = true;
    signal_jobs({&j}, true);
  }
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
      args.insert(args.end(), ids->begin() + static_cast<std::ptrdiff_t>(i),
                  ids->begin() + static_cast<std::ptrdiff_t>(std::min(ids->size(), i + kIdsPerCall)));
      run_slurm_tool(options_.scancel, args);
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
  if (!valid_slurm_job_id(job_id)) return false;
  auto job = std::make_unique<Job>();
  job->key = key;
  job->job_id = job_id;
  job->log_path = log_path;
  job->status_path = slurm_status_path(log_path);
  job->submitted = Clock::now();
  const auto status = read_slurm_job_status(job->status_path);
  if (status && status->start) job->submitted -= age_of(*status->start);  // durations from the wrapper's start
  // An array element: the array's name and the element's index, as the marker says.
  std::string expected_name = slurm_job_name(key);
  if (const auto us = job_id.find('_'); us != std::string::npos) {
    const auto marker = read_slurm_array_marker(slurm_array_marker_path(log_path));
    if (!marker || marker->index != job_id.substr(us + 1)) return false;
    expected_name = marker->job_name;
  }
  if (const auto queue = query_slurm_queue(options_.squeue, {job_id})) {
    const auto r = queue->rows.find(job_id);
    if (r == queue->rows.end()) {
      // Gone without a trace (an element in a range squeue cut short: kept, poll() decides).
      if (!(status && status->end) && !queue->unsure.count(slurm_array_base(job_id))) return false;
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

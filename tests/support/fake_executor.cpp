#include "tests/support/fake_executor.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>

#include "base/util/errors.h"
#include "tests/support/overlap.h"

namespace repro::test {

namespace fs = std::filesystem;
using runner::Finished;
using runner::LaunchRequest;
using runner::SlotRequest;

namespace {

int64_t line_count(const std::string& path) {
  std::ifstream in(path);
  return std::count(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>(), '\n');
}

}  // namespace

FakeExecutor::FakeExecutor(SimulatedClock& clock, FakeExecutorOptions options)
    : clock_(clock), options_(std::move(options)), slots_(options_.max_parallel, options_.gpus) {}

void FakeExecutor::script(const std::string& key, std::vector<FakeAttempt> attempts) {
  scripts_[key] = std::move(attempts);
}

void FakeExecutor::fail_launch(const std::string& key, const std::string& message) { launch_errors_[key] = message; }

void FakeExecutor::keep_alive(const std::string& job_id, FakeAttempt rest) { alive_[job_id] = std::move(rest); }

std::vector<FakeExecutor::Launch> FakeExecutor::launches_of(const std::string& key) const {
  std::vector<Launch> out;
  for (const auto& l : launches_)
    if (l.key == key) out.push_back(l);
  return out;
}

int FakeExecutor::max_overlap() const {
  std::vector<std::pair<double, double>> spans;
  for (const auto& l : launches_) spans.push_back({l.start, l.end.value_or(std::numeric_limits<double>::infinity())});
  return test::max_overlap(spans);
}

bool FakeExecutor::fits(const SlotRequest& slot) const { return slots_.fits(slot); }

bool FakeExecutor::can_launch(const SlotRequest& slot) const { return slots_.can_take(slot); }

const FakeAttempt& FakeExecutor::attempt_for(const std::string& key, size_t nth) const {
  static const FakeAttempt kDefault;
  const auto it = scripts_.find(key);
  if (it == scripts_.end() || it->second.empty()) return kDefault;
  return it->second[std::min(nth, it->second.size() - 1)];
}

runner::Launched FakeExecutor::launch(const LaunchRequest& request) {
  if (!can_launch(request.slot)) throw std::logic_error("launch of " + request.key + " without a free slot");
  for (const auto& j : jobs_)
    if (launches_[j.launch].key == request.key) throw std::logic_error("task " + request.key + " is already running");
  if (const auto it = launch_errors_.find(request.key); it != launch_errors_.end()) throw IoError(it->second);
  size_t earlier = 0;
  for (const auto& l : launches_) earlier += l.key == request.key && !l.adopted;
  Job job;
  job.launch = launches_.size();
  job.attempt = attempt_for(request.key, earlier);
  job.working_dir = request.working_dir;
  if (const auto it = request.env.find("REPRO_TASK_EVENTS"); it != request.env.end()) job.events = it->second;
  job.slots = slots_.take(request.slot);
  const std::string gpus = job.slots->gpus;
  const double now = clock_.now();
  if (request.timeout_s > 0) job.deadline = now + request.timeout_s;
  const std::string job_id = std::to_string(next_job_++);
  launches_.push_back(Launch{request.key, request, job_id, gpus, now, std::nullopt, std::nullopt, false});
  append_event(job, "start", R"(,"step":0,"resumed_from":-1)");
  jobs_.push_back(std::move(job));
  return runner::Launched{job_id, "fake-host", gpus};
}

std::vector<runner::LaunchResult> FakeExecutor::launch_batch(const std::vector<LaunchRequest>& requests) {
  batches_.push_back(requests.size());
  return Executor::launch_batch(requests);
}

std::vector<Finished> FakeExecutor::poll() {
  std::vector<Finished> out;
  const double now = clock_.now();
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    write_files(*it, now);
    if (const auto exit = exit_time(*it); exit && *exit <= now) {
      out.push_back(end(*it, now));
      it = jobs_.erase(it);
      continue;
    }
    enforce_timeout(*it, now);
    ++it;
  }
  return out;
}

// When the job exits: at its natural end, a while after SIGTERM, or when killed, whichever is first.
std::optional<double> FakeExecutor::exit_time(const Job& job) const {
  double t = launches_[job.launch].start + job.attempt.seconds;
  if (job.term_at && job.attempt.exits_after_term) t = std::min(t, *job.term_at + *job.attempt.exits_after_term);
  if (job.killed_at) t = std::min(t, *job.killed_at);
  return t;
}

void FakeExecutor::write_files(Job& job, double now) {
  const double start = launches_[job.launch].start;
  for (const auto& [at, file] : job.attempt.files) {
    const fs::path path = fs::path(job.working_dir) / file;
    if (start + at > now || fs::exists(path)) continue;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << "weights";
  }
}

// LocalExecutor's timeout: SIGTERM at the deadline, SIGKILL after the kill grace.
void FakeExecutor::enforce_timeout(Job& job, double now) {
  if (job.deadline && now >= *job.deadline && !job.timeout_term) {
    job.timed_out = true;
    job.timeout_term = now;
    if (!job.term_at) job.term_at = now;
  } else if (job.timeout_term && !job.killed_at && now - *job.timeout_term >= options_.kill_grace_s) {
    job.killed_at = now;
  }
}

Finished FakeExecutor::end(Job& job, double now) {
  Launch& l = launches_[job.launch];
  const double natural = l.start + job.attempt.seconds;
  const double exit = *exit_time(job);
  Finished f;
  f.key = l.key;
  if (job.killed_at && exit == *job.killed_at && exit < natural) {
    f.signal = 9;
  } else if (exit < natural) {  // it stopped on SIGTERM after a checkpoint
    f.exit_code = 6;
    append_event(job, "end", R"(,"status":"interrupted","step":0,"message":"signal")");
  } else if (job.attempt.signal) {
    f.signal = job.attempt.signal;
  } else {
    f.exit_code = job.attempt.exit_code;
    append_event(job, "log", R"(,"step":)" + std::to_string(job.attempt.steps) + R"(,"loss":0.5)");
    if (f.exit_code == 0)
      append_event(job, "end",
                   R"(,"status":"completed","step":)" + std::to_string(job.attempt.steps) + R"(,"message":"")");
  }
  f.timed_out = job.timed_out;
  f.cancelled = job.cancelled;
  f.seconds = now - l.start;
  if (job.slots) slots_.release(*job.slots);
  l.end = now;
  l.finished = f;
  return f;
}

void FakeExecutor::cancel(const std::string& key, bool force) {
  cancels_.push_back({key, force});
  const double now = clock_.now();
  for (auto& j : jobs_) {
    if (launches_[j.launch].key != key) continue;
    j.cancelled = true;
    if (force && !j.killed_at) j.killed_at = now;
    if (!force && !j.term_at) j.term_at = now;
  }
}

void FakeExecutor::stop_all(bool force) {
  std::vector<std::string> keys;
  for (const auto& j : jobs_) keys.push_back(launches_[j.launch].key);
  for (const auto& key : keys) cancel(key, force);
}

bool FakeExecutor::adopt(const std::string& key, const std::string& job_id, const std::string& /*log_path*/) {
  const auto it = alive_.find(job_id);
  if (it == alive_.end()) return false;
  Job job;
  job.launch = launches_.size();
  job.attempt = it->second;
  // One CPU slot while one is free: the executor that launched it kept within the same limits.
  if (slots_.can_take(runner::SlotRequest{})) job.slots = slots_.take(runner::SlotRequest{});
  alive_.erase(it);
  launches_.push_back(Launch{key, {}, job_id, "", clock_.now(), std::nullopt, std::nullopt, true});
  jobs_.push_back(std::move(job));
  return true;
}

void FakeExecutor::append_event(const Job& job, const std::string& type, const std::string& fields) {
  if (!options_.write_events || job.events.empty()) return;
  const int64_t seq = line_count(job.events);
  std::ofstream out(job.events, std::ios::app);
  out << R"({"v":1,"seq":)" << seq << R"(,"time":)" << std::to_string(clock_.now()) << R"(,"type":")" << type << '"'
      << fields << "}\n";
}

}  // namespace repro::test

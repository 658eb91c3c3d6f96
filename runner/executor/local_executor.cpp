#include "runner/executor/local_executor.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <set>

#include "base/util/errors.h"
#include "base/util/process.h"
#include "base/util/strings.h"

namespace repro::runner {

using Clock = std::chrono::steady_clock;

struct LocalExecutor::Child {
  std::string key;
  pid_t pid = -1;  // also the process group id
  SlotPool::Taken slots;
  Clock::time_point started;
  std::optional<Clock::time_point> deadline;
  std::optional<Clock::time_point> term_sent;  // SIGTERM sent at (timeout)
  bool timed_out = false;
  bool cancelled = false;
  bool killed = false;
};

namespace {

std::string hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

}  // namespace

std::vector<std::string> parse_gpu_list(const std::string& list) {
  std::vector<std::string> ids;
  if (trim(list).empty()) return ids;
  std::set<std::string> seen;
  for (const std::string& piece : split(list, ',')) {
    const std::string id = trim(piece);
    if (id.empty())
      throw ConfigError("--gpus", list, "expected GPU ids separated by commas (\"0,1,2,3\"), found an empty id");
    if (!seen.insert(id).second) throw ConfigError("--gpus", list, "GPU id " + id + " appears twice");
    ids.push_back(id);
  }
  return ids;
}

std::vector<std::string> gpus_from_environment() {
  const char* v = std::getenv("CUDA_VISIBLE_DEVICES");
  return v ? parse_gpu_list(v) : std::vector<std::string>{};
}

LocalExecutor::LocalExecutor(LocalExecutorOptions options)
    : options_(std::move(options)), host_(hostname()), pool_(options_.max_parallel, options_.gpus) {
  if (options_.max_parallel < 0 || (options_.gpus.empty() && options_.max_parallel < 1))
    throw ConfigError(
        "--max-parallel", std::to_string(options_.max_parallel),
        options_.gpus.empty() ? "expected at least 1 task at a time" : "expected 0 (as the GPUs allow) or more");
  parse_gpu_list(join(options_.gpus, ","));  // the same checks as a --gpus list
}

LocalExecutor::~LocalExecutor() {
  for (auto& c : children_) {
    ::killpg(c->pid, SIGKILL);
    wait_exit(c->pid);
  }
}

bool LocalExecutor::fits(const SlotRequest& slot) const { return pool_.fits(slot); }

bool LocalExecutor::can_launch(const SlotRequest& slot) const { return pool_.can_take(slot); }

std::vector<std::string> LocalExecutor::free_gpus() const { return pool_.free_gpus(); }

int LocalExecutor::running() const { return static_cast<int>(children_.size()); }

Launched LocalExecutor::launch(const LaunchRequest& request) {
  REPRO_CHECK(!request.argv.empty(), "launch of " + request.key + " without a program");
  REPRO_CHECK(can_launch(request.slot), "launch of " + request.key + " without a free slot");
  for (const auto& c : children_) REPRO_CHECK(c->key != request.key, "task " + request.key + " is already running");

  auto child = std::make_unique<Child>();
  child->key = request.key;
  child->slots = pool_.take(request.slot);
  const std::string& gpus = child->slots.gpus;

  SpawnOptions spawn_options;
  spawn_options.argv = request.argv;
  spawn_options.env = request.env;
  // Tasks never see GPUs they were not given (and without a pool, the ones this process sees).
  if (!options_.gpus.empty()) spawn_options.env["CUDA_VISIBLE_DEVICES"] = gpus;
  spawn_options.working_dir = request.working_dir;
  spawn_options.null_stdin = true;
  spawn_options.log_path = request.log_path;
  spawn_options.new_process_group = true;
  spawn_options.term_with_parent = true;
  try {
    child->pid = spawn(spawn_options);  // reaped by poll(), which also gives the signal
  } catch (const SpawnError& e) {
    pool_.release(child->slots);
    throw IoError("cannot start task " + request.key + " (" + request.argv[0] + "): " + e.reason());
  } catch (...) {
    pool_.release(child->slots);
    throw;
  }
  child->started = Clock::now();
  if (request.timeout_s > 0)
    child->deadline =
        child->started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(request.timeout_s));
  Launched out{std::to_string(child->pid), host_, gpus};
  children_.push_back(std::move(child));
  return out;
}

std::vector<Finished> LocalExecutor::poll() {
  std::vector<Finished> out;
  const auto now = Clock::now();
  for (auto it = children_.begin(); it != children_.end();) {
    Child& c = **it;
    const std::optional<ExitStatus> end = poll_exit(c.pid);
    if (!end) {
      if (c.deadline && now >= *c.deadline && !c.term_sent) {
        c.timed_out = true;
        c.term_sent = now;
        ::killpg(c.pid, SIGTERM);
      } else if (c.term_sent && !c.killed &&
                 now - *c.term_sent >= std::chrono::duration<double>(options_.kill_grace_s)) {
        c.killed = true;
        ::killpg(c.pid, SIGKILL);
      }
      ++it;
      continue;
    }
    Finished f;
    f.key = c.key;
    f.exit_code = end->exit_code;
    f.signal = end->signal;
    if (!f.exit_code && !f.signal) f.exit_code = 1;  // reaped elsewhere (ECHILD): unknown, an internal error
    f.timed_out = c.timed_out;
    f.cancelled = c.cancelled;
    f.seconds = std::chrono::duration<double>(now - c.started).count();
    // Whatever the task left behind in its group (a shell's children) goes with it.
    ::killpg(c.pid, SIGKILL);
    pool_.release(c.slots);
    out.push_back(std::move(f));
    it = children_.erase(it);
  }
  return out;
}

void LocalExecutor::cancel(const std::string& key, bool force) {
  for (auto& c : children_)
    if (c->key == key) {
      c->cancelled = true;
      if (force) c->killed = true;
      ::killpg(c->pid, force ? SIGKILL : SIGTERM);
    }
}

void LocalExecutor::stop_all(bool force) {
  for (auto& c : children_) cancel(c->key, force);
}

}  // namespace repro::runner

#include "runner/executor/local_executor.h"

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>

#include "core/util/errors.h"

namespace repro::runner {

namespace bp = boost::process;
using Clock = std::chrono::steady_clock;

struct LocalExecutor::Child {
  std::string key;
  pid_t pid = -1;  // also the process group id
  std::vector<size_t> gpu_slots;
  int weight = 1;  // its share of max_parallel (slot_weight)
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

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// What a task counts against max_parallel: 1, or N CPU slots for a CPU task of N processes (each
// rank keeps a core busy).
int slot_weight(const SlotRequest& slot) { return slot.gpus > 0 ? 1 : slot.ranks(); }

}  // namespace

std::vector<std::string> parse_gpu_list(const std::string& list) {
  std::vector<std::string> ids;
  if (trim(list).empty()) return ids;
  std::set<std::string> seen;
  size_t start = 0;
  while (true) {
    const size_t comma = list.find(',', start);
    const std::string id = trim(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (id.empty()) throw ConfigError("--gpus", list, "expected GPU ids separated by commas (\"0,1,2,3\"), found an empty id");
    if (!seen.insert(id).second) throw ConfigError("--gpus", list, "GPU id " + id + " appears twice");
    ids.push_back(id);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return ids;
}

std::vector<std::string> gpus_from_environment() {
  const char* v = std::getenv("CUDA_VISIBLE_DEVICES");
  return v ? parse_gpu_list(v) : std::vector<std::string>{};
}

LocalExecutor::LocalExecutor(LocalExecutorOptions options)
    : options_(std::move(options)), host_(hostname()), gpu_busy_(options_.gpus.size(), false) {
  if (options_.max_parallel < 0 || (options_.gpus.empty() && options_.max_parallel < 1))
    throw ConfigError("--max-parallel", std::to_string(options_.max_parallel),
                      options_.gpus.empty() ? "expected at least 1 task at a time" : "expected 0 (as the GPUs allow) or more");
  parse_gpu_list([&] {
    std::string s;
    for (const auto& g : options_.gpus) s += (s.empty() ? "" : ",") + g;
    return s;
  }());  // the same checks as a --gpus list
}

LocalExecutor::~LocalExecutor() {
  for (auto& c : children_) {
    ::killpg(c->pid, SIGKILL);
    int status = 0;
    ::waitpid(c->pid, &status, 0);
  }
}

bool LocalExecutor::fits(const SlotRequest& slot) const {
  if (slot.gpus < 0 || slot.processes < 0 || slot.gpus > static_cast<int>(options_.gpus.size())) return false;
  return options_.max_parallel == 0 || slot_weight(slot) <= options_.max_parallel;
}

bool LocalExecutor::can_launch(const SlotRequest& slot) const {
  if (!fits(slot)) return false;
  if (options_.max_parallel > 0) {
    int used = 0;
    for (const auto& c : children_) used += c->weight;
    if (used + slot_weight(slot) > options_.max_parallel) return false;
  }
  return static_cast<int>(free_gpus().size()) >= slot.gpus;
}

std::vector<std::string> LocalExecutor::free_gpus() const {
  std::vector<std::string> out;
  for (size_t i = 0; i < options_.gpus.size(); ++i)
    if (!gpu_busy_[i]) out.push_back(options_.gpus[i]);
  return out;
}

int LocalExecutor::running() const { return static_cast<int>(children_.size()); }

Launched LocalExecutor::launch(const LaunchRequest& request) {
  REPRO_CHECK(!request.argv.empty(), "launch of " + request.key + " without a program");
  REPRO_CHECK(can_launch(request.slot), "launch of " + request.key + " without a free slot");
  for (const auto& c : children_) REPRO_CHECK(c->key != request.key, "task " + request.key + " is already running");

  auto child = std::make_unique<Child>();
  child->key = request.key;
  child->weight = slot_weight(request.slot);
  std::string gpus;
  for (size_t i = 0; i < gpu_busy_.size() && static_cast<int>(child->gpu_slots.size()) < request.slot.gpus; ++i)
    if (!gpu_busy_[i]) {
      child->gpu_slots.push_back(i);
      gpus += (gpus.empty() ? "" : ",") + options_.gpus[i];
    }

  bp::environment env = boost::this_process::environment();
  for (const auto& [k, v] : request.env) env[k] = v;
  // Tasks never see GPUs they were not given (and without a pool, the ones this process sees).
  if (!options_.gpus.empty()) env["CUDA_VISIBLE_DEVICES"] = gpus;

  const std::vector<std::string> args(request.argv.begin() + 1, request.argv.end());
  const std::string dir = request.working_dir.empty() ? std::filesystem::current_path().string() : request.working_dir;
  const pid_t parent = ::getpid();
  std::error_code ec;
  bp::child c;
  try {
    c = bp::child(bp::exe = request.argv[0], bp::args = args, env, bp::start_dir = dir,
                  bp::std_in < bp::null, (bp::std_out & bp::std_err) > request.log_path,
                  bp::extend::on_exec_setup = [parent](auto&) {
                    ::setpgid(0, 0);
                    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
                    if (::getppid() != parent) ::_exit(1);  // the parent died before prctl
                  },
                  ec);
  } catch (const std::exception& e) {
    throw IoError("cannot start task " + request.key + " (" + request.argv[0] + "): " + e.what());
  }
  if (ec) throw IoError("cannot start task " + request.key + " (" + request.argv[0] + "): " + ec.message());
  child->pid = c.id();
  c.detach();  // reaped by poll() with waitpid, which also gives the signal
  ::setpgid(child->pid, child->pid);  // also from this side: killpg works before the child's exec
  child->started = Clock::now();
  if (request.timeout_s > 0)
    child->deadline = child->started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(request.timeout_s));
  for (size_t i : child->gpu_slots) gpu_busy_[i] = true;
  Launched out{std::to_string(child->pid), host_, gpus};
  children_.push_back(std::move(child));
  return out;
}

std::vector<Finished> LocalExecutor::poll() {
  std::vector<Finished> out;
  const auto now = Clock::now();
  for (auto it = children_.begin(); it != children_.end();) {
    Child& c = **it;
    int status = 0;
    const pid_t r = ::waitpid(c.pid, &status, WNOHANG);
    if (r == 0) {
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
    if (r == c.pid && WIFEXITED(status)) f.exit_code = WEXITSTATUS(status);
    else if (r == c.pid && WIFSIGNALED(status)) f.signal = WTERMSIG(status);
    else f.exit_code = 1;  // reaped elsewhere (ECHILD): unknown, counted as an internal error
    f.timed_out = c.timed_out;
    f.cancelled = c.cancelled;
    f.seconds = std::chrono::duration<double>(now - c.started).count();
    // Whatever the task left behind in its group (a shell's children) goes with it.
    ::killpg(c.pid, SIGKILL);
    for (size_t i : c.gpu_slots) gpu_busy_[i] = false;
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

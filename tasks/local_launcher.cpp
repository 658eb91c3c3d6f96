#include "tasks/local_launcher.h"

#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <ostream>
#include <thread>

#include "base/util/errors.h"
#include "base/util/exit_code.h"
#include "base/util/process.h"
#include "base/util/stop_signals.h"

namespace repro::tasks {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Rank {
  pid_t pid = -1;
  std::optional<int> status;  // as a shell shows it, once the rank has ended and been reaped
};

// The ranks' processes, by rank. Those not reaped when it is destroyed (an exception on the way)
// are killed and reaped: no rank may train on alone.
struct Ranks {
  std::vector<Rank> rank;

  Ranks() = default;
  Ranks(const Ranks&) = delete;
  Ranks& operator=(const Ranks&) = delete;
  ~Ranks() {
    kill_running();
    for (const auto& r : rank)
      if (!r.status) wait_exit(r.pid);
  }
  int running() const {
    int n = 0;
    for (const auto& r : rank) n += !r.status;
    return n;
  }
  void signal_running(int sig) const {
    for (const auto& r : rank)
      if (!r.status) ::kill(r.pid, sig);
  }
  void kill_running() const { signal_running(SIGKILL); }
};

// A fresh rendezvous directory per launch: a stale one from a killed launch would confuse c10d.
fs::path make_rendezvous_dir() {
  std::string dir = (fs::temp_directory_path() / "repro-dist-XXXXXX").string();
  if (!::mkdtemp(dir.data()))
    throw IoError("cannot create a rendezvous directory under " + fs::temp_directory_path().string());
  return dir;
}

void start_ranks(int nproc, const std::vector<std::string>& argv, const fs::path& store_file, Ranks& ranks) {
  SpawnOptions o;
  o.argv = argv;
  o.env["WORLD_SIZE"] = std::to_string(nproc);
  o.env["LOCAL_WORLD_SIZE"] = std::to_string(nproc);
  o.env["REPRO_DIST_STORE_FILE"] = store_file.string();
  // Each rank in its own process group: a terminal's Ctrl-C reaches only the launcher, which
  // forwards it once, so the ranks stop together instead of being killed by a second signal.
  // If the launcher dies (SIGKILL), the ranks get SIGTERM instead of training on as orphans.
  o.new_process_group = true;
  o.term_with_parent = true;
  for (int r = 0; r < nproc; ++r) {
    o.env["RANK"] = std::to_string(r);
    o.env["LOCAL_RANK"] = std::to_string(r);
    ranks.rank.push_back({spawn(o), std::nullopt});
  }
}

// Diverged and interrupted are every rank's clean ends; anything else is a failure that leaves
// the other ranks blocked in a collective until c10d notices.
bool clean_end(int status) {
  const auto code = exit_code_of(status);
  return code == ExitCode::kOk || code == ExitCode::kDiverged || code == ExitCode::kInterrupted;
}

// Reaps every rank, forwarding stop signals to those running and killing them 30 s after a rank
// failed. Returns the rank whose failure came first (ranks the launcher killed do not count), or
// -1 when every rank succeeded.
int wait_ranks(Ranks& ranks, const StopSignals& signals, std::ostream& err) {
  int first_failure = -1;
  auto failed_at = Clock::time_point::max();
  bool killed = false;
  int forwarded = 0;
  while (ranks.running() > 0) {
    if (const int requests = signals.count()->load(); requests > forwarded) {
      forwarded = requests;
      // SIGHUP (a closed terminal) becomes a clean stop too.
      const int sig = signals.last_signal();
      ranks.signal_running(sig == SIGHUP ? SIGTERM : sig);
    }
    for (size_t r = 0; r < ranks.rank.size(); ++r) {
      if (ranks.rank[r].status) continue;
      const auto end = poll_exit(ranks.rank[r].pid);
      if (!end) continue;
      const int status = end->shell_status();
      ranks.rank[r].status = status;
      if (status != 0 && !killed && first_failure < 0) first_failure = static_cast<int>(r);
      if (!clean_end(status) && failed_at == Clock::time_point::max()) failed_at = Clock::now();
    }
    const int running = ranks.running();
    if (!killed && running > 0 && Clock::now() - failed_at > std::chrono::seconds(30)) {
      err << "rank " << first_failure << " failed; killing the " << running << " still running\n";
      ranks.kill_running();
      killed = true;
    }
    if (running > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return first_failure;
}

}  // namespace

std::vector<std::string> without_options(const std::vector<std::string>& argv, const std::vector<std::string>& drop) {
  std::vector<std::string> out;
  for (size_t i = 0; i < argv.size(); ++i) {
    bool dropped = false;
    for (const auto& name : drop) {
      if (argv[i] == name) {
        ++i;  // and its value
        dropped = true;
        break;
      }
      if (argv[i].rfind(name + "=", 0) == 0) {
        dropped = true;
        break;
      }
    }
    if (!dropped) out.push_back(argv[i]);
  }
  return out;
}

int launch_local_ranks(int nproc, std::vector<std::string> command_line, int threads_per_rank, std::ostream& err) {
  if (nproc < 1)
    throw ConfigError("command line", "--nproc", "expected at least 1 process, got " + std::to_string(nproc));
  command_line = without_options(command_line, {"--threads"});
  command_line.push_back("--threads");
  command_line.push_back(std::to_string(threads_per_rank));
  // The same program, whatever command_line[0] says.
  command_line[0] = fs::read_symlink("/proc/self/exe").string();

  // Whatever happens below, the rendezvous directory goes.
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{make_rendezvous_dir()};
  // Interrupted calls restart: a write to `err` must not fail with EINTR.
  StopSignalOptions stop_options;
  stop_options.restart_calls = true;
  const StopSignals signals(stop_options);

  err << "launching " << nproc << " ranks on this machine (" << threads_per_rank << " threads each)\n";
  Ranks ranks;
  start_ranks(nproc, command_line, cleanup.dir / "store", ranks);
  const int first_failure = wait_ranks(ranks, signals, err);
  if (first_failure < 0) return 0;
  const int status = *ranks.rank[first_failure].status;
  if (first_failure != 0 || *ranks.rank[0].status != status)
    err << "rank " << first_failure << " exited with status " << status << "\n";
  return status;
}

}  // namespace repro::tasks

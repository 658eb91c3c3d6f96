#include "cli/local_launcher.h"

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <ostream>
#include <thread>

#include "core/util/errors.h"

namespace repro::cli {

namespace {

namespace bp = boost::process;
namespace fs = std::filesystem;

std::atomic<int> g_pending_signal{0};
extern "C" void on_launcher_signal(int sig) { g_pending_signal.store(sig); }

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
  if (nproc < 1) throw ConfigError("command line", "--nproc", "expected at least 1 process, got " + std::to_string(nproc));
  command_line = without_options(command_line, {"--threads"});
  command_line.push_back("--threads");
  command_line.push_back(std::to_string(threads_per_rank));
  const std::string exe = fs::read_symlink("/proc/self/exe").string();
  const std::vector<std::string> args(command_line.begin() + 1, command_line.end());

  // A fresh rendezvous file per launch: a stale one from a killed launch would confuse c10d.
  std::string dir_template = (fs::temp_directory_path() / "repro-dist-XXXXXX").string();
  if (!mkdtemp(dir_template.data())) throw IoError("cannot create a rendezvous directory under " + fs::temp_directory_path().string());
  // Whatever happens below, the rendezvous directory goes and the default signal actions return.
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      for (int sig : {SIGINT, SIGTERM, SIGHUP}) std::signal(sig, SIG_DFL);
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{dir_template};

  for (int sig : {SIGINT, SIGTERM, SIGHUP}) std::signal(sig, on_launcher_signal);
  err << "launching " << nproc << " ranks on this machine (" << threads_per_rank << " threads each)\n";
  const pid_t launcher = ::getpid();
  std::vector<bp::child> ranks;
  for (int r = 0; r < nproc; ++r) {
    bp::environment env = boost::this_process::environment();
    env["RANK"] = std::to_string(r);
    env["WORLD_SIZE"] = std::to_string(nproc);
    env["LOCAL_RANK"] = std::to_string(r);
    env["LOCAL_WORLD_SIZE"] = std::to_string(nproc);
    env["REPRO_DIST_STORE_FILE"] = (cleanup.dir / "store").string();
    // Each rank in its own process group: a terminal's Ctrl-C reaches only the launcher, which
    // forwards it once, so the ranks stop together instead of being killed by a second signal.
    // If the launcher dies (SIGKILL), the ranks get SIGTERM instead of training on as orphans.
    ranks.emplace_back(bp::exe = exe, bp::args = args, env, bp::extend::on_exec_setup = [launcher](auto&) {
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != launcher) ::_exit(1);
    });
  }

  // A wait status as a shell shows it: the exit code, or 128 + the signal that killed the rank.
  auto status_of = [](int native) {
    if (WIFEXITED(native)) return WEXITSTATUS(native);
    if (WIFSIGNALED(native)) return 128 + WTERMSIG(native);
    return 1;
  };
  std::vector<int> status(nproc, -1);
  std::vector<bool> done(nproc, false);
  int running = nproc;
  int first_failure = -1;  // the rank whose failure came first (ranks the launcher killed do not count)
  auto failed_at = std::chrono::steady_clock::time_point::max();
  bool killed = false;
  while (running > 0) {
    if (int sig = g_pending_signal.exchange(0)) {
      // SIGHUP (a closed terminal) becomes a clean stop too.
      for (int r = 0; r < nproc; ++r)
        if (!done[r]) ::kill(ranks[r].id(), sig == SIGHUP ? SIGTERM : sig);
    }
    for (int r = 0; r < nproc; ++r) {
      if (done[r] || ranks[r].running()) continue;
      ranks[r].wait();
      done[r] = true;
      status[r] = status_of(ranks[r].native_exit_code());
      --running;
      if (status[r] != 0 && !killed && first_failure < 0) first_failure = r;
      // 5 (diverged) and 6 (interrupted) are every rank's clean ends; anything else is a failure
      // that leaves the other ranks blocked in a collective until c10d notices.
      if (status[r] != 0 && status[r] != 5 && status[r] != 6 && failed_at == std::chrono::steady_clock::time_point::max())
        failed_at = std::chrono::steady_clock::now();
    }
    if (!killed && running > 0 && std::chrono::steady_clock::now() - failed_at > std::chrono::seconds(30)) {
      err << "rank " << first_failure << " failed; killing the " << running << " still running\n";
      for (int r = 0; r < nproc; ++r)
        if (!done[r]) ranks[r].terminate();
      killed = true;
    }
    if (running > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (first_failure < 0) return 0;
  if (first_failure != 0 || status[0] != status[first_failure])
    err << "rank " << first_failure << " exited with status " << status[first_failure] << "\n";
  return status[first_failure];
}

}  // namespace repro::cli

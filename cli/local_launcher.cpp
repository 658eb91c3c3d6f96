#include "cli/local_launcher.h"

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <signal.h>
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
  const fs::path store_dir(dir_template);

  std::signal(SIGINT, on_launcher_signal);
  std::signal(SIGTERM, on_launcher_signal);
  err << "launching " << nproc << " ranks on this machine (" << threads_per_rank << " threads each)\n";
  std::vector<bp::child> ranks;
  for (int r = 0; r < nproc; ++r) {
    bp::environment env = boost::this_process::environment();
    env["RANK"] = std::to_string(r);
    env["WORLD_SIZE"] = std::to_string(nproc);
    env["LOCAL_RANK"] = std::to_string(r);
    env["LOCAL_WORLD_SIZE"] = std::to_string(nproc);
    env["REPRO_DIST_STORE_FILE"] = (store_dir / "store").string();
    // Each rank in its own process group: a terminal's Ctrl-C reaches only the launcher, which
    // forwards it once, so the ranks stop together instead of being killed by a second signal.
    ranks.emplace_back(bp::exe = exe, bp::args = args, env,
                       bp::extend::on_exec_setup = [](auto&) { ::setpgid(0, 0); });
  }

  std::vector<int> status(nproc, -1);
  std::vector<bool> done(nproc, false);
  int running = nproc;
  auto first_failure = std::chrono::steady_clock::time_point::max();
  bool killed = false;
  while (running > 0) {
    if (int sig = g_pending_signal.exchange(0)) {
      for (int r = 0; r < nproc; ++r)
        if (!done[r]) ::kill(ranks[r].id(), sig);
    }
    for (int r = 0; r < nproc; ++r) {
      if (done[r] || ranks[r].running()) continue;
      ranks[r].wait();
      done[r] = true;
      status[r] = ranks[r].exit_code();
      --running;
      if (status[r] != 0 && first_failure == std::chrono::steady_clock::time_point::max())
        first_failure = std::chrono::steady_clock::now();
    }
    // A failed rank leaves the others blocked in a collective until c10d notices; give them
    // 30 s to exit on their own, then kill them.
    if (!killed && running > 0 && std::chrono::steady_clock::now() - first_failure > std::chrono::seconds(30)) {
      err << "a rank failed; killing the " << running << " still running\n";
      for (int r = 0; r < nproc; ++r)
        if (!done[r]) ranks[r].terminate();
      killed = true;
    }
    if (running > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  std::error_code ec;
  fs::remove_all(store_dir, ec);
  if (status[0] != 0) return status[0];
  for (int r = 0; r < nproc; ++r)
    if (status[r] != 0) {
      err << "rank " << r << " exited with status " << status[r] << "\n";
      return status[r];
    }
  return 0;
}

}  // namespace repro::cli

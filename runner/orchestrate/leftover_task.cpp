#include "runner/orchestrate/leftover_task.h"

#include <signal.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>

namespace repro::runner {
namespace {

// A process of the task left over from a killed orchestrator: its pid is alive, not a zombie,
// and its command line names the task file.
bool is_leftover(pid_t pid, const std::string& task_file) {
  if (pid <= 1 || ::kill(pid, 0) != 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto paren = line.rfind(')');
  if (paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z') return false;
  std::ifstream cmd("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string args((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
  return args.find(task_file) != std::string::npos;
}

}  // namespace

void stop_leftover_task(pid_t pid, const std::string& task_file, double grace_s) {
  using Clock = std::chrono::steady_clock;
  if (!is_leftover(pid, task_file)) return;
  ::killpg(pid, SIGTERM);
  const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(grace_s));
  while (Clock::now() < until && is_leftover(pid, task_file))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (is_leftover(pid, task_file)) ::killpg(pid, SIGKILL);
}

}  // namespace repro::runner

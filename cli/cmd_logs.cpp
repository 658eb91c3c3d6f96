// repro logs RUN_OR_TASK: the log (stdout and stderr of the task's process) of a task's latest
// attempt, or of every task of a run; -f follows a running attempt until it ends. The tasks and
// their log files come from the store (runner::task_logs); nothing here needs LibTorch.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <thread>
#include <vector>

#include "base/util/errors.h"
#include "cli/commands.h"
#include "runner/orchestrate/project_lock.h"
#include "store/queries.h"
#include "store/store.h"

namespace repro::cli {

namespace {

namespace fs = std::filesystem;

struct LogsArgs {
  std::string id;
  std::string project = ".";
  std::string db;
  bool follow = false;
  int attempt = 0;      // 0 = the latest
  int lines = 0;        // 0 = the whole log
  double poll_s = 0.5;  // how often -f looks at the file and the store
};

// Writes `path` from byte `offset` on to `out`; returns the offset after what was written. A file
// that does not exist (yet) reads as empty; one shorter than `offset` was replaced and is written
// from its start.
int64_t copy_from(const std::string& path, int64_t offset, std::ostream& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return offset;
  in.seekg(0, std::ios::end);
  const int64_t size = in.tellg();
  if (size < offset) offset = 0;
  in.seekg(offset);
  std::vector<char> buffer(1 << 16);
  while (offset < size) {
    const auto n = std::min<int64_t>(static_cast<int64_t>(buffer.size()), size - offset);
    in.read(buffer.data(), n);
    const auto got = in.gcount();
    if (got <= 0) break;
    out.write(buffer.data(), got);
    offset += got;
  }
  return offset;
}

// The byte offset where the last `lines` lines of `path` begin (0: the whole file, also when
// lines <= 0 or the file is shorter). Reads backwards, so a long log costs only its tail.
int64_t tail_offset(const std::string& path, int lines) {
  if (lines <= 0) return 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) return 0;
  in.seekg(0, std::ios::end);
  const int64_t size = in.tellg();
  std::vector<char> buffer(1 << 16);
  int64_t pos = size;
  int newlines = 0;
  while (pos > 0) {
    const auto n = std::min<int64_t>(static_cast<int64_t>(buffer.size()), pos);
    pos -= n;
    in.seekg(pos);
    in.read(buffer.data(), n);
    for (int64_t i = n - 1; i >= 0; --i) {
      if (buffer[i] != '\n' || pos + i == size - 1) continue;  // a final newline ends the last line
      if (++newlines == lines) return pos + i + 1;
    }
  }
  return 0;
}

std::string describe(const runner::TaskLog& t) {
  std::string s = runner::to_string(t.kind) + ", " + runner::to_string(t.state);
  if (!t.attempt) return s + (t.attempts == 0 ? ", not started" : ", no such attempt");
  s += ", attempt " + std::to_string(t.attempt->attempt) + " of " + std::to_string(t.attempts);
  if (t.attempt->exit_code) s += ", exit " + std::to_string(*t.attempt->exit_code);
  if (!t.attempt->reason.empty()) s += ", " + t.attempt->reason;
  return s;
}

// Whether a `repro run` (or a `repro cancel`) holds the project's lock: only such a process ends
// attempts and starts tasks. Probed with a shared lock, dropped at once, which fails while the
// exclusive lock is held (also across NFS); a missing lock file is not created.
bool orchestrator_alive(const std::string& project_dir) {
  const std::string path = runner::project_lock_path(project_dir);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // drops the shared lock when it was taken
  return held;
}

// The note for an attempt no process will end: its orchestrator was killed (the next `repro run`
// in the project records how it ended).
std::string left_open(const runner::TaskLog& t, const LogsArgs& a) {
  return "repro logs: " + t.task_id + " attempt " + std::to_string(t.attempt->attempt) +
         " was left open by an orchestrator that is no longer running (nothing holds " +
         runner::project_lock_path(a.project) + "); `repro run` in the project records how it ended\n";
}

// Prints the attempt's log from `offset` until the store says the attempt ended (then the rest),
// or until no orchestrator is left to end it.
void follow(runner::Store& store, const runner::TaskLog& t, int64_t offset, const LogsArgs& a, std::ostream& out,
            std::ostream& err) {
  const std::string& path = t.attempt->log_path;
  while (true) {
    offset = copy_from(path, offset, out);
    out.flush();
    // The lock before the store: an orchestrator ends the attempt before it lets the lock go.
    const bool alive = orchestrator_alive(a.project);
    const auto now = runner::task_logs(store, t.task_id, t.attempt->attempt);
    if (now.empty() || !now[0].attempt || now[0].attempt->ended || !alive) {
      copy_from(path, offset, out);
      out.flush();
      if (now.empty()) return;
      if (now[0].attempt && !now[0].attempt->ended) {
        err << left_open(now[0], a);
      } else {
        err << "repro logs: " << t.task_id << " (" << describe(now[0]) << ")\n";
      }
      return;
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(a.poll_s));
  }
}

int show_logs(const LogsArgs& a, std::ostream& out, std::ostream& err) {
  if (a.attempt < 0)
    throw ConfigError("repro logs", "--attempt", "expected an attempt number >= 1, got " + std::to_string(a.attempt));
  if (a.lines < 0)
    throw ConfigError("repro logs", "--lines", "expected >= 0 (0 = the whole log), got " + std::to_string(a.lines));
  const std::string db = a.db.empty() ? (fs::path(a.project) / runner::kDefaultDatabaseName).string() : a.db;
  if (!fs::exists(db))
    throw IoError(db + ": no store here yet (run `repro run EXPERIMENT.yaml` first, or pass --project or --db)");
  runner::Store store(db, runner::read_only_options());
  auto logs = runner::task_logs(store, a.id, a.attempt);
  if (logs.empty())
    throw ConfigError("repro logs", "RUN_OR_TASK",
                      "no task or run '" + a.id + "' in " + db + " (`repro status` lists them)");
  const bool one_task = logs.size() == 1 && logs[0].task_id == a.id;
  if (one_task && a.attempt > 0 && !logs[0].attempt)
    throw ConfigError(
        "repro logs", "--attempt",
        "task " + a.id + " has " + std::to_string(logs[0].attempts) + " attempt(s), not " + std::to_string(a.attempt));
  // -f on a task that has not started: wait for its first attempt (or for it to end without one).
  if (one_task && a.follow && !logs[0].attempt) {
    err << "repro logs: " << a.id << " has not started; waiting for its first attempt\n";
    while (!logs[0].attempt &&
           (logs[0].state == runner::TaskState::kPending || logs[0].state == runner::TaskState::kRunning)) {
      if (!orchestrator_alive(a.project)) {  // then the store, as in follow()
        logs = runner::task_logs(store, a.id, a.attempt);
        if (!logs[0].attempt)
          err << "repro logs: no `repro run` is working in " << a.project << " to start " << a.id << "\n";
        break;
      }
      std::this_thread::sleep_for(std::chrono::duration<double>(a.poll_s));
      logs = runner::task_logs(store, a.id, a.attempt);
    }
  }
  for (size_t i = 0; i < logs.size(); ++i) {
    const auto& t = logs[i];
    if (!one_task)
      out << (i ? "\n" : "") << "==> " << t.task_id << " (" << describe(t) << ")"
          << (t.attempt && !t.attempt->log_path.empty() ? " " + t.attempt->log_path : "") << " <==\n";
    if (!t.attempt) {
      if (one_task) err << "repro logs: " << t.task_id << " has no log (" << describe(t) << ")\n";
      continue;
    }
    const std::string& path = t.attempt->log_path;
    if (path.empty()) {
      err << "repro logs: no log file recorded for " << t.task_id << " attempt " << t.attempt->attempt << "\n";
      continue;
    }
    if (!fs::exists(path) && (!a.follow || t.attempt->ended))
      err << "repro logs: " << path << " does not exist (yet)\n";
    int64_t offset = copy_from(path, tail_offset(path, a.lines), out);
    if (a.follow && !t.attempt->ended) {
      follow(store, t, offset, a, out, err);
    }
  }
  out.flush();
  return 0;
}

}  // namespace

void add_logs_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code) {
  auto a = std::make_shared<LogsArgs>();
  auto* logs = app.add_subcommand("logs", "Print the log of a task's attempt, or of every task of a run (-f: follow)");
  logs->add_option("RUN_OR_TASK", a->id, "a task id, or a run id for all its tasks (`repro status` lists them)")
      ->required();
  logs->add_flag("-f,--follow", a->follow, "follow a running attempt's log until the attempt ends");
  logs->add_option("--attempt", a->attempt, "this attempt (1, 2, ...) instead of the latest");
  logs->add_option("--lines", a->lines, "only the last N lines of each log (0 = all)")->capture_default_str();
  logs->add_option("--project", a->project, "project directory")->capture_default_str();
  logs->add_option("--db", a->db, "store file (default: PROJECT/repro.db)");
  logs->callback([a, &out, &err, exit_code] { *exit_code = show_logs(*a, out, err); });
}

}  // namespace repro::cli

#pragma once
// Child processes, one way for the whole project: start a program (environment, log file, own
// process group), poll or wait for its end, run a tool and collect its output, or run a function
// in a forked copy of this process. Torch-free; POSIX, with Linux's PR_SET_PDEATHSIG.
#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/util/errors.h"

namespace repro {

struct SpawnOptions {
  // The program and its arguments. argv[0] is executed as given (a path: no PATH search; see
  // find_program) and is also the child's argv[0].
  std::vector<std::string> argv;
  // Variables set on top of this process's environment.
  std::map<std::string, std::string> env;
  // The child's working directory; "" keeps this process's.
  std::string working_dir;
  // stdin from /dev/null; false keeps this process's.
  bool null_stdin = false;
  // stdout and stderr both into this file, created with mode 0660 (less the umask) if missing and
  // written from its start without truncating; "" keeps this process's streams.
  std::string log_path;
  // Descriptors the child gets as stdout / stderr (they win over log_path); -1: not given.
  int stdout_fd = -1;
  int stderr_fd = -1;
  // The child leads a process group of its own (its pgid is its pid, set from both sides so that
  // killpg works as soon as spawn returns): a terminal's Ctrl-C then reaches only this process,
  // and killpg(pid, ...) also reaches the child's own children.
  bool new_process_group = false;
  // PR_SET_PDEATHSIG = SIGTERM: the child gets SIGTERM when this process dies, even by SIGKILL,
  // instead of running on as an orphan. A child whose parent died before it asked exits with 1.
  bool term_with_parent = false;
};

// spawn's failure. what() is "cannot start <program>: <reason>"; reason() is strerror's text.
class SpawnError : public IoError {
 public:
  SpawnError(const std::string& program, const std::string& reason);
  const std::string& reason() const { return reason_; }

 private:
  std::string reason_;
};

// Starts the program; returns its pid once exec has succeeded. The caller reaps it (poll_exit,
// wait_exit). Throws SpawnError when the log file cannot be opened or fork, chdir, the stream
// redirection or exec fails (a child that failed has been reaped).
// REQUIRES: !options.argv.empty().
pid_t spawn(const SpawnOptions& options);

// How a child ended.
struct ExitStatus {
  std::optional<int> exit_code;  // it called exit(code)
  std::optional<int> signal;     // a signal killed it
  // Neither set: unknown (waitpid failed, e.g. ECHILD when the child was reaped elsewhere).

  // As a shell shows it: the exit code, 128 + the signal, or 1 when unknown.
  int shell_status() const;
};

// The child's end if it has ended (then it is reaped), std::nullopt while it runs. An unknown
// ExitStatus when waitpid fails.
std::optional<ExitStatus> poll_exit(pid_t pid);

// Blocks until the child ends and reaps it (EINTR retried).
ExitStatus wait_exit(pid_t pid);

struct CapturedRun {
  ExitStatus status;
  bool timed_out = false;  // killed with SIGKILL at the timeout
  std::string out, err;
};

// Runs argv (no shell: the arguments reach the program as they are) with stdin from /dev/null and
// `env` on top of this process's environment, and collects its stdout and stderr. They go through
// temporary files in /tmp that are unlinked as soon as they are open: a full pipe cannot block the
// child, there is no SIGCHLD handling to race with, and a killed caller leaves no file behind.
// timeout_s > 0: the program is killed with SIGKILL past it. Throws SpawnError when it cannot
// start, IoError when the temporary files cannot be made.
CapturedRun run_capture(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
                        double timeout_s = 0);

// The program `name` as spawn takes it: a name with a '/' as it is when executable, otherwise the
// first executable regular file `dir/name` over $PATH's directories. "" when there is none.
std::string find_program(const std::string& name);

// Runs `body` in a forked copy of this process (no exec) and waits for it: for work that may take
// the process down (a library that aborts on a corrupt file). The copy exits with body's return
// value, or 1 when body throws, through _exit (no atexit handlers, no static destructors).
// Throws IoError "cannot fork to <what>: <reason>" when fork fails.
// REQUIRES: no other thread holds a lock body needs (only the calling thread is copied).
ExitStatus run_in_child(const std::function<int()>& body, const std::string& what);

}  // namespace repro

#include "base/util/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "base/util/strings.h"
#include "base/util/unique_fd.h"

extern char** environ;

namespace repro {

namespace {

std::string errno_text(int err) { return std::strerror(err); }

// This process's environment with `overrides` set on top, as NAME=VALUE entries.
std::vector<std::string> environment_with(const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    const std::string_view entry(*e);
    const size_t eq = entry.find('=');
    if (eq != std::string_view::npos && overrides.count(std::string(entry.substr(0, eq)))) continue;
    out.emplace_back(entry);
  }
  for (const auto& [name, value] : overrides) out.push_back(name + "=" + value);
  return out;
}

// A null-terminated char* array over `strings` (which must outlive it), as execve takes it.
std::vector<char*> c_array(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// What the child does between fork and exec, prepared by the parent: after fork only
// async-signal-safe calls are allowed (the parent may have other threads holding malloc's lock).
struct ChildPlan {
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const char* dir = nullptr;
  int in_fd = -1, out_fd = -1, err_fd = -1;
  bool new_process_group = false;
  bool term_with_parent = false;
  pid_t parent = -1;
  int report_fd = -1;  // the error pipe's write end (close-on-exec: exec success closes it)
};

enum class Step : int { kChdir, kStdin, kStdout, kStderr, kExec };

// What a child that could not exec writes into the error pipe.
struct ChildFailure {
  Step step;
  int err;
};

// `from` as descriptor `to`; our descriptors are close-on-exec, dup2 clears that on the copy.
bool redirect(int from, int to) {
  if (from == to) return ::fcntl(to, F_SETFD, 0) == 0;
  return ::dup2(from, to) >= 0;
}

[[noreturn]] void exec_child(const ChildPlan& p) {
  auto fail = [&p](Step step) {
    const ChildFailure f{step, errno};
    [[maybe_unused]] const ssize_t n = ::write(p.report_fd, &f, sizeof f);
    ::_exit(EXIT_FAILURE);
  };
  if (p.dir && ::chdir(p.dir) != 0) fail(Step::kChdir);
  if (p.in_fd >= 0 && !redirect(p.in_fd, STDIN_FILENO)) fail(Step::kStdin);
  if (p.out_fd >= 0 && !redirect(p.out_fd, STDOUT_FILENO)) fail(Step::kStdout);
  if (p.err_fd >= 0 && !redirect(p.err_fd, STDERR_FILENO)) fail(Step::kStderr);
  if (p.new_process_group) ::setpgid(0, 0);
  if (p.term_with_parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != p.parent) ::_exit(1);  // the parent died before prctl
  }
  ::execve(p.argv[0], p.argv, p.envp);
  fail(Step::kExec);
  ::_exit(EXIT_FAILURE);  // not reached: fail exits
}

std::string failure_reason(const ChildFailure& f, const SpawnOptions& o) {
  switch (f.step) {
    case Step::kChdir:
      return "cannot enter " + o.working_dir + ": " + errno_text(f.err);
    case Step::kStdin:
      return "cannot redirect stdin: " + errno_text(f.err);
    case Step::kStdout:
      return "cannot redirect stdout: " + errno_text(f.err);
    case Step::kStderr:
      return "cannot redirect stderr: " + errno_text(f.err);
    case Step::kExec:
      break;
  }
  return errno_text(f.err);
}

ExitStatus decode(int raw) {
  ExitStatus s;
  if (WIFEXITED(raw))
    s.exit_code = WEXITSTATUS(raw);
  else if (WIFSIGNALED(raw))
    s.signal = WTERMSIG(raw);
  return s;
}

// A temporary file in /tmp, unlinked at once: only the descriptor names it.
int unlinked_temp_file() {
  char path[] = "/tmp/repro-run-XXXXXX";
  const int fd = ::mkostemp(path, O_CLOEXEC);
  if (fd < 0) throw IoError(std::string("cannot create a temporary file in /tmp: ") + errno_text(errno));
  ::unlink(path);
  return fd;
}

std::string read_from_start(int fd) {
  std::string text;
  char buf[4096];
  for (off_t at = 0;;) {
    const ssize_t n = ::pread(fd, buf, sizeof buf, at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
    at += n;
  }
  return text;
}

}  // namespace

SpawnError::SpawnError(const std::string& program, const std::string& reason)
    : IoError("cannot start " + program + ": " + reason), reason_(reason) {}

int ExitStatus::shell_status() const {
  if (exit_code) return *exit_code;
  if (signal) return 128 + *signal;
  return 1;
}

pid_t spawn(const SpawnOptions& o) {
  REPRO_CHECK(!o.argv.empty(), "spawn without a program");
  const std::string& program = o.argv[0];
  std::vector<std::string> args = o.argv, env = environment_with(o.env);
  const std::vector<char*> argv = c_array(args), envp = c_array(env);

  UniqueFd null_in, log;
  if (o.null_stdin) {
    null_in.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (null_in.get() < 0) throw SpawnError(program, "cannot open /dev/null: " + errno_text(errno));
  }
  if (!o.log_path.empty() && (o.stdout_fd < 0 || o.stderr_fd < 0)) {
    log.reset(::open(o.log_path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0660));
    if (log.get() < 0) throw SpawnError(program, "cannot open " + o.log_path + ": " + errno_text(errno));
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw SpawnError(program, "cannot make a pipe: " + errno_text(errno));
  UniqueFd report_read(pipe_fds[0]), report_write(pipe_fds[1]);

  ChildPlan plan;
  plan.argv = argv.data();
  plan.envp = envp.data();
  plan.dir = o.working_dir.empty() ? nullptr : o.working_dir.c_str();
  plan.in_fd = null_in.get();
  plan.out_fd = o.stdout_fd >= 0 ? o.stdout_fd : log.get();
  plan.err_fd = o.stderr_fd >= 0 ? o.stderr_fd : log.get();
  plan.new_process_group = o.new_process_group;
  plan.term_with_parent = o.term_with_parent;
  plan.parent = ::getpid();
  plan.report_fd = report_write.get();

  const pid_t pid = ::fork();
  if (pid < 0) throw SpawnError(program, "cannot fork: " + errno_text(errno));
  if (pid == 0) exec_child(plan);
  if (o.new_process_group) ::setpgid(pid, pid);  // also from this side: no window where killpg misses
  report_write.reset();                          // only the child's copy keeps the pipe open now
  ChildFailure failure{};
  ssize_t n;
  while ((n = ::read(report_read.get(), &failure, sizeof failure)) < 0 && errno == EINTR) {
  }
  if (n == static_cast<ssize_t>(sizeof failure)) {
    wait_exit(pid);
    throw SpawnError(program, failure_reason(failure, o));
  }
  return pid;  // end of file: exec closed the pipe
}

std::optional<ExitStatus> poll_exit(pid_t pid) {
  int raw = 0;
  pid_t r;
  while ((r = ::waitpid(pid, &raw, WNOHANG)) < 0 && errno == EINTR) {
  }
  if (r == 0) return std::nullopt;
  if (r < 0) return ExitStatus{};
  return decode(raw);
}

ExitStatus wait_exit(pid_t pid) {
  int raw = 0;
  pid_t r;
  while ((r = ::waitpid(pid, &raw, 0)) < 0 && errno == EINTR) {
  }
  if (r < 0) return ExitStatus{};
  return decode(raw);
}

CapturedRun run_capture(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                        double timeout_s) {
  const UniqueFd out(unlinked_temp_file()), err(unlinked_temp_file());
  SpawnOptions o;
  o.argv = argv;
  o.env = env;
  o.null_stdin = true;
  o.stdout_fd = out.get();
  o.stderr_fd = err.get();
  const pid_t pid = spawn(o);
  CapturedRun r;
  if (timeout_s > 0) {
    using Clock = std::chrono::steady_clock;
    const auto deadline =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
    for (;;) {
      if (auto s = poll_exit(pid)) {
        r.status = *s;
        break;
      }
      if (Clock::now() >= deadline) {
        ::kill(pid, SIGKILL);
        r.status = wait_exit(pid);
        r.timed_out = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  } else {
    r.status = wait_exit(pid);
  }
  r.out = read_from_start(out.get());
  r.err = read_from_start(err.get());
  return r;
}

std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  if (!path || name.empty()) return "";
  for (const std::string& dir : split(path, ':')) {
    // An empty entry is the working directory, as for the shell.
    const std::string candidate = dir.empty() ? name : dir + (ends_with(dir, "/") ? "" : "/") + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return "";
}

ExitStatus run_in_child(const std::function<int()>& body, const std::string& what) {
  const pid_t pid = ::fork();
  if (pid < 0) throw IoError("cannot fork to " + what + ": " + errno_text(errno));
  if (pid == 0) {
    int code = 1;
    try {
      code = body();
    } catch (...) {
    }
    ::_exit(code);
  }
  return wait_exit(pid);
}

}  // namespace repro

// base/util/process.h with /bin/sh as the child: exit codes and signals, environment, working
// directory, log file, process group, captured output with a timeout, PATH lookup, forked copies.
#include "base/util/process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/support/test_support.h"

namespace repro {
namespace {

std::vector<std::string> sh(const std::string& script) { return {"/bin/sh", "-c", script}; }

TEST(Process, ExitCodeOrSignalAsTheShellShowsIt) {
  const CapturedRun three = run_capture(sh("exit 3"));
  EXPECT_EQ(three.status.exit_code, 3);
  EXPECT_FALSE(three.status.signal);
  EXPECT_EQ(three.status.shell_status(), 3);
  const CapturedRun killed = run_capture(sh("kill -9 $$"));
  EXPECT_FALSE(killed.status.exit_code);
  EXPECT_EQ(killed.status.signal, SIGKILL);
  EXPECT_EQ(killed.status.shell_status(), 137);
  EXPECT_EQ(ExitStatus{}.shell_status(), 1);
}

TEST(Process, CapturesBothStreamsApartWithTheEnvironmentOnTop) {
  ::setenv("REPRO_PROCESS_TEST_KEPT", "kept", 1);
  const CapturedRun r =
      run_capture(sh("echo \"$REPRO_PROCESS_TEST_KEPT $MY_VAR\"; echo to-err >&2; read x || echo eof"),
                  {{"MY_VAR", "hello world"}});
  ::unsetenv("REPRO_PROCESS_TEST_KEPT");
  EXPECT_EQ(r.status.exit_code, 0);
  EXPECT_EQ(r.out, "kept hello world\neof\n");  // stdin is /dev/null
  EXPECT_EQ(r.err, "to-err\n");
  EXPECT_FALSE(r.timed_out);
}

TEST(Process, TimeoutKillsTheProgram) {
  const auto start = std::chrono::steady_clock::now();
  const CapturedRun r = run_capture(sh("echo started; exec sleep 30"), {}, 0.3);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.status.signal, SIGKILL);
  EXPECT_EQ(r.out, "started\n");
}

TEST(Process, LogFileWorkingDirectoryAndWait) {
  test::TempDir dir;
  SpawnOptions o;
  o.argv = sh("pwd; echo err-line >&2; exit 4");
  o.working_dir = dir.path().string();
  o.log_path = dir.file("task.log");
  const pid_t pid = spawn(o);
  EXPECT_EQ(wait_exit(pid).exit_code, 4);
  EXPECT_EQ(test::read_text(dir.file("task.log")), std::filesystem::canonical(dir.path()).string() + "\nerr-line\n");
}

TEST(Process, NewProcessGroupLetsKillpgReachTheChildsChildren) {
  test::TempDir dir;
  SpawnOptions o;
  o.argv = sh("sleep 30 & echo $! > " + dir.file("pid") + "; wait");
  o.new_process_group = true;
  o.term_with_parent = true;
  const pid_t pid = spawn(o);
  EXPECT_EQ(::getpgid(pid), pid);
  EXPECT_FALSE(poll_exit(pid));
  ASSERT_TRUE(test::wait_until([&] { return !test::read_text(dir.file("pid")).empty(); }, 10));
  const pid_t grandchild = std::stoi(test::read_text(dir.file("pid")));
  EXPECT_EQ(::getpgid(grandchild), pid);
  ::killpg(pid, SIGTERM);
  std::optional<ExitStatus> end;
  EXPECT_TRUE(test::wait_until([&] { return (end = poll_exit(pid)).has_value(); }, 10));
  ASSERT_TRUE(end);
  EXPECT_EQ(end->signal, SIGTERM);
}

TEST(Process, StartFailuresAreSpawnErrorsNamingTheProgram) {
  test::TempDir dir;
  SpawnOptions missing;
  missing.argv = {dir.file("no-such-program")};
  try {
    spawn(missing);
    ADD_FAILURE() << "no SpawnError";
  } catch (const SpawnError& e) {
    EXPECT_EQ(e.reason(), "No such file or directory");
    EXPECT_EQ(std::string(e.what()), "cannot start " + dir.file("no-such-program") + ": No such file or directory");
  }
  SpawnOptions bad_dir;
  bad_dir.argv = sh("exit 0");
  bad_dir.working_dir = dir.file("no-such-dir");
  EXPECT_NE(test::error_message([&] { spawn(bad_dir); }).find("cannot enter " + dir.file("no-such-dir")),
            std::string::npos);
  SpawnOptions bad_log;
  bad_log.argv = sh("exit 0");
  bad_log.log_path = dir.file("no-such-dir/task.log");
  EXPECT_THROW(spawn(bad_log), SpawnError);
}

TEST(Process, FindProgramSearchesPath) {
  EXPECT_EQ(find_program("/bin/sh"), "/bin/sh");
  EXPECT_EQ(find_program("/no/such/program"), "");
  test::TempDir dir;
  std::ofstream(dir.file("tool")) << "#!/bin/sh\n";
  std::filesystem::permissions(dir.file("tool"), std::filesystem::perms::owner_all);
  std::filesystem::create_directory(dir.file("sub"));
  const std::string saved = std::getenv("PATH") ? std::getenv("PATH") : "";
  ::setenv("PATH", (dir.file("sub") + ":" + dir.path().string() + "/:/bin").c_str(), 1);
  EXPECT_EQ(find_program("tool"), dir.file("tool"));
  EXPECT_EQ(find_program("sub"), "");  // a directory is not a program
  EXPECT_EQ(find_program("no-such-tool"), "");
  ::setenv("PATH", saved.c_str(), 1);
}

TEST(Process, RunInChildReturnsTheBodysCodeOrTheSignal) {
  EXPECT_EQ(run_in_child([] { return 7; }, "test").exit_code, 7);
  EXPECT_EQ(run_in_child([]() -> int { throw std::runtime_error("x"); }, "test").exit_code, 1);
  const ExitStatus aborted = run_in_child(
      [] {
        std::signal(SIGABRT, SIG_DFL);
        std::abort();
        return 0;
      },
      "test");
  EXPECT_EQ(aborted.signal, SIGABRT);
}

}  // namespace
}  // namespace repro

// `repro logs -f` on an attempt that no orchestrator will end: it follows while a
// `repro run` holds the project lock, and returns with a note once none does, instead of waiting
// for ever on an attempt left open by a killed orchestrator. Runs the repro binary.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "runner/orchestrate/project_lock.h"
#include "store/records.h"
#include "store/store.h"
#include "tests/store/store_fixture.h"
#include "tests/support/test_support.h"

namespace repro::test {
namespace {

namespace fs = std::filesystem;

// A project whose store has task1 with a first attempt that began and never ended.
class LogsFollow : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(repro_binary())) GTEST_SKIP() << "the repro binary is not built: " << repro_binary();
    runner::Store store(dir_.file("repro.db"));
    put_train_task(store, "run1", "task1");
    runner::AttemptStart start;
    start.task_id = "task1";
    start.job_id = "999999999";
    start.log_path = dir_.file("task1.1.log");
    runner::begin_attempt(store, start);
    std::ofstream(start.log_path) << "hello from the task\n";
  }
  // `repro logs -f task1`, killed after `seconds` (exit 124 then).
  int follow(int seconds, std::string* output) {
    return run_command("timeout " + std::to_string(seconds) + " '" + repro_binary() + "' logs -f task1 --project '" +
                           dir_.path().string() + "'",
                       output);
  }

  TempDir dir_;
};

TEST_F(LogsFollow, ReturnsWithANoteWhenNoOrchestratorHoldsTheProjectLock) {
  std::string output;
  EXPECT_EQ(follow(60, &output), 0) << output;
  EXPECT_NE(output.find("hello from the task"), std::string::npos) << output;
  EXPECT_NE(output.find("task1 attempt 1 was left open by an orchestrator that is no longer running"),
            std::string::npos)
      << output;
}

TEST_F(LogsFollow, KeepsFollowingWhileAnOrchestratorHoldsTheLock) {
  runner::ProjectLock lock(dir_.path().string());
  std::string output;
  EXPECT_EQ(follow(3, &output), 124) << output;  // still following when killed
  EXPECT_NE(output.find("hello from the task"), std::string::npos) << output;
  EXPECT_EQ(output.find("left open"), std::string::npos) << output;
}

}  // namespace
}  // namespace repro::test

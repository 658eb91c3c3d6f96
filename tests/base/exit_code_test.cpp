// The one exit-code table: codes map back from statuses, each has a meaning, and the --help
// footer lists them all.
#include <gtest/gtest.h>

#include "base/util/exit_code.h"

using namespace repro;

TEST(ExitCode, OfStatusIsTheTablesCode) {
  for (int status = 0; status <= 8; ++status) {
    const auto code = exit_code_of(status);
    ASSERT_TRUE(code.has_value()) << status;
    EXPECT_EQ(to_int(*code), status);
  }
  EXPECT_EQ(exit_code_of(5), ExitCode::kDiverged);
  EXPECT_EQ(exit_code_of(6), ExitCode::kInterrupted);
  // A signal's 128 + N, a shell's 126/127 and negative values are none of repro's.
  for (int status : {-1, 9, 126, 127, 137, 255}) EXPECT_FALSE(exit_code_of(status).has_value()) << status;
}

TEST(ExitCode, EveryCodeHasItsMeaning) {
  EXPECT_EQ(describe(ExitCode::kOk), "success");
  EXPECT_EQ(describe(ExitCode::kConfig), "bad command line or config");
  EXPECT_EQ(describe(ExitCode::kDiverged), "diverged");
  for (int status = 0; status <= 8; ++status) {
    const std::string meaning = describe(*exit_code_of(status));
    EXPECT_NE(meaning, "unknown") << status;
    EXPECT_FALSE(meaning.empty()) << status;
  }
}

TEST(ExitCode, TableListsEveryCode) {
  const std::string table = exit_code_table();
  EXPECT_EQ(table.rfind("Exit codes: 0 success, 1 internal error, ", 0), 0u) << table;
  for (int status = 1; status <= 8; ++status)
    EXPECT_NE(table.find(", " + std::to_string(status) + " "), std::string::npos) << status;
}

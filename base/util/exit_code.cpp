#include "base/util/exit_code.h"

namespace repro {

std::optional<ExitCode> exit_code_of(int status) {
  if (status < 0 || status > to_int(ExitCode::kRegression)) return std::nullopt;
  return static_cast<ExitCode>(status);
}

std::string describe(ExitCode code) {
  switch (code) {
    case ExitCode::kOk:
      return "success";
    case ExitCode::kInternal:
      return "internal error";
    case ExitCode::kConfig:
      return "bad command line or config";
    case ExitCode::kIo:
      return "file I/O error";
    case ExitCode::kData:
      return "unusable input data";
    case ExitCode::kDiverged:
      return "diverged";
    case ExitCode::kInterrupted:
      return "interrupted by a signal";
    case ExitCode::kRunFailed:
      return "tasks failed or cancelled";
    case ExitCode::kRegression:
      return "regression or missing result";
  }
  return "unknown";
}

std::string exit_code_table() {
  return "Exit codes: 0 success, 1 internal error, 2 bad command line or config, 3 file I/O error, "
         "4 unusable input data (shapes, checkpoint keys, dtypes), 5 training diverged (non-finite loss), "
         "6 training interrupted by SIGTERM/SIGINT (a checkpoint was written; rerun with --resume), "
         "7 repro run finished with failed or cancelled tasks (see repro status), or its --dry-run found a task "
         "that never fits or an input missing or mismatched, "
         "8 repro compare found a regression or a missing result.";
}

}  // namespace repro

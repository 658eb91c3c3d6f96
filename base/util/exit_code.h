#pragma once
// repro's exit codes: one table for the CLI (`repro --help`), the orchestrator's classification of
// a task attempt (docs/runner.md, "Exit codes and retries") and the docs. Next to the error types
// (errors.h) because cli/ maps each of them to one of these.
#include <optional>
#include <string>

namespace repro {

enum class ExitCode : int {
  kOk = 0,
  kInternal = 1,     // a bug or an unexpected LibTorch error
  kConfig = 2,       // bad command line or config file (ConfigError)
  kIo = 3,           // a file could not be read or written, or is not what it claims (IoError)
  kData = 4,         // input data unusable: shapes, keys, dtypes, a breached limit (DataError)
  kDiverged = 5,     // training diverged (non-finite loss)
  kInterrupted = 6,  // stopped by SIGTERM/SIGINT after writing a checkpoint; rerun to resume
  kRunFailed = 7,    // `repro run` finished with failed or cancelled tasks, or --dry-run found one that cannot run
  kRegression = 8,   // `repro compare` found a regression or a missing result
};

constexpr int to_int(ExitCode code) { return static_cast<int>(code); }

// The code named by `status` when it is one of the table's; nullopt otherwise (a signal's 128+N).
std::optional<ExitCode> exit_code_of(int status);

// "bad command line or config", "diverged", ...: the meaning shown in attempt reasons
// ("exit 2 (bad command line or config)").
std::string describe(ExitCode code);

// The footer of `repro --help`: every code and its meaning, one sentence.
std::string exit_code_table();

}  // namespace repro

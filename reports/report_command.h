#pragma once
// The bodies of `repro report` and `repro compare` (cli/cmd_report.cpp, cli/cmd_compare.cpp only
// parse arguments): find the store and the experiment, build the report, write it. Errors are
// thrown (ConfigError: bad input, exit 2); compare returns ExitCode::kRegression when values
// regressed or went missing.
#include <iosfwd>
#include <string>
#include <vector>

#include "reports/report.h"

namespace repro::reports {

struct StoreLocation {
  std::string project = ".";  // project directory (the store is PROJECT/repro.db)
  std::string db;             // another store file; "" = the project's
  std::string db_path() const;
};

// The store's file; throws ConfigError (naming `command`, --db and the path) when no store exists
// there yet: the read-only commands never create one.
std::string existing_store(const StoreLocation& where, const std::string& command);
// The existing store opened read-only (existing_store, runner::read_only_options).
runner::Store open_existing_store(const StoreLocation& where, const std::string& command);

// Opens the store (which must exist), finds the experiment: `experiment` is a name in the store,
// a path to its YAML file, or "" when the store holds exactly one experiment; reads the file
// recorded in the store (relative to the working directory, else to the project directory) for
// the axes' order and the report: section. A file that cannot be found gives the default table
// and a warning. Throws ConfigError for an unknown experiment, or one without results unless
// allow_no_results.
// include_stale: ReportInput::include_stale.
Report load_report(const StoreLocation& where, const std::string& experiment, bool sample_grids,
                   bool allow_no_results = false, bool include_stale = false);

// Writes `text` to `path` through a temp file renamed over it; "" or "-": to `out`.
void write_output(const std::string& path, const std::string& text, std::ostream& out);

struct ReportArgs {
  StoreLocation where;
  std::string experiment;
  std::string format = "markdown";
  std::string out;             // "" = stdout
  bool include_stale = false;  // ReportInput::include_stale
  // Write the figures (PNG grids, SVG plots) as files here and link them from Markdown and LaTeX
  // (relative to --out's folder); "" = none.
  std::string assets;
};
// Returns 0.
int report_command(const ReportArgs& args, std::ostream& out, std::ostream& err);

struct CompareArgs {
  StoreLocation where;
  std::string experiment;
  std::string baseline;                // report JSON; "" only with write_baseline
  std::vector<std::string> tolerance;  // parse_compare_tolerance()
  std::string junit;                   // JUnit XML output; "" = none
  std::string write_baseline;          // write the current values as a baseline here; "" = no
};
// Returns 0 when every baseline value is within tolerance or better, ExitCode::kRegression otherwise.
int compare_command(const CompareArgs& args, std::ostream& out, std::ostream& err);

}  // namespace repro::reports

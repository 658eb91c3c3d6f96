// repro compare: the current values against a stored baseline; exit 8 on a regression or a
// missing value (reports/report_command.h).
#include <memory>

#include "cli/commands.h"
#include "reports/report_command.h"

namespace repro::cli {

void add_compare_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code) {
  auto a = std::make_shared<reports::CompareArgs>();
  auto* cmd = app.add_subcommand(
      "compare", "Compare an experiment's results with a baseline JSON; exit 8 on a regression (docs/reports.md)");
  cmd->add_option("EXPERIMENT", a->experiment, "an experiment's name or YAML file (default: the baseline's)");
  cmd->add_option("--baseline", a->baseline, "baseline JSON (repro report --format json, or --write-baseline)");
  cmd->add_option("--tolerance", a->tolerance, "[METRIC=]abs:X | rel:X | X (relative); default rel:0.05");
  cmd->add_option("--junit", a->junit, "write JUnit XML here (one testcase per compared value)");
  cmd->add_option("--write-baseline", a->write_baseline, "write the current values as a baseline here");
  cmd->add_option("--project", a->where.project, "project directory")->capture_default_str();
  cmd->add_option("--db", a->where.db, "store file (default: PROJECT/repro.db)");
  cmd->callback([a, &out, &err, exit_code] { *exit_code = reports::compare_command(*a, out, err); });
}

}  // namespace repro::cli

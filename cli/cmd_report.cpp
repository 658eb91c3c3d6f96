// repro report: the experiment's tables beside the published numbers (reports/report_command.h).
#include <memory>

#include "cli/commands.h"
#include "reports/report_command.h"

namespace repro::cli {

void add_report_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code) {
  auto a = std::make_shared<reports::ReportArgs>();
  auto* cmd = app.add_subcommand(
      "report", "The experiment's tables beside the published numbers, with verdicts (docs/reports.md)");
  cmd->add_option("EXPERIMENT", a->experiment,
                  "an experiment's name in the store or its YAML file (default: the only one)");
  cmd->add_option("--format", a->format, "markdown, latex, csv, html or json")->capture_default_str();
  cmd->add_option("--out", a->out, "write here (through a temp file renamed over it) instead of stdout");
  cmd->add_option("--project", a->where.project, "project directory")->capture_default_str();
  cmd->add_option("--db", a->where.db, "store file (default: PROJECT/repro.db)");
  cmd->add_flag("--include-stale", a->include_stale,
                "also show the results of runs of earlier expansions (the file or a --set changed their config), "
                "in rows of their own marked (stale)");
  cmd->add_option("--assets", a->assets,
                  "also write the figures (sample grids as PNG, plots as SVG) into this folder and link them from "
                  "markdown and latex (docs/reports.md, Figures)");
  cmd->callback([a, &out, &err, exit_code] { *exit_code = reports::report_command(*a, out, err); });
}

}  // namespace repro::cli

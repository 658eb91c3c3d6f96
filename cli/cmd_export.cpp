// repro export mlflow DIR [EXPERIMENT]: the store as an MLflow file store (reports/mlflow_export.h).
#include <cstdlib>
#include <memory>

#include "cli/commands.h"
#include "reports/mlflow_export.h"

namespace repro::cli {

void add_export_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code) {
  auto a = std::make_shared<reports::ExportArgs>();
  auto* cmd = app.add_subcommand("export", "Write the store in another tool's format (docs/export.md)");
  cmd->require_subcommand(1);
  auto* mlflow = cmd->add_subcommand(
      "mlflow", "An MLflow file store: browse it with `mlflow ui --backend-store-uri DIR` (replaced on re-export)");
  mlflow->add_option("DIR", a->out_dir, "the file store's directory (new, empty, or an earlier export)")->required();
  mlflow->add_option("EXPERIMENT", a->experiment, "export this experiment only (default: every experiment)");
  mlflow->add_option("--project", a->where.project, "project directory")->capture_default_str();
  mlflow->add_option("--db", a->where.db, "store file (default: PROJECT/repro.db)");
  mlflow->callback([a, &out, &err, exit_code] {
    a->format = "mlflow";
    const char* user = std::getenv("USER");
    a->user = user ? user : "";
    *exit_code = reports::export_command(*a, out, err);
  });
}

}  // namespace repro::cli

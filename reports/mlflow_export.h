#pragma once
// `repro export mlflow DIR`: the store as an MLflow file store (the layout of MLflow's FileStore,
// docs/export.md), so that `mlflow ui --backend-store-uri DIR` browses repro's runs. One MLflow
// experiment per repro experiment, one MLflow run per run of it: params from the resolved config
// and the matrix axes, metrics from the training curves and the evaluated results, provenance and
// repro's identifiers as tags, the run's artifacts as symbolic links. Read-only on the store.
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "reports/report_command.h"
#include "store/store.h"

namespace repro::reports {

struct MlflowExportOptions {
  // The file store's root. Written whole beside it (DIR.tmp-PID) and then swapped in, so DIR is
  // either the previous export or the new one, never half of one. An existing DIR must be empty
  // or an earlier export (it holds kMlflowExportMarker); anything else is refused.
  std::string out_dir;
  std::string experiment;         // export this experiment only; "" = every experiment
  std::string project_dir = ".";  // relative run directories are relative to it
  std::string user;               // the runs' user_id and mlflow.user tag; "" = none
};

// The file an export leaves at the root of DIR; its presence allows the next export to replace
// DIR. MLflow reads only directories there, so the file is invisible to it.
inline constexpr const char* kMlflowExportMarker = ".repro-export";

struct MlflowExportedExperiment {
  std::string name;
  std::string experiment_id;
  int64_t runs = 0;
};

struct MlflowExportSummary {
  std::string out_dir;                                // absolute
  std::vector<MlflowExportedExperiment> experiments;  // in the store's order (oldest first)
  int64_t runs = 0;
  int64_t stale_runs = 0;  // tagged repro.stale=true
  int64_t params = 0;
  int64_t metric_points = 0;      // lines in metrics files
  int64_t artifacts_linked = 0;   // symbolic links under artifacts/
  int64_t artifacts_missing = 0;  // listed in artifacts/repro_artifacts.tsv but not linked
};

// Writes the export. Throws ConfigError for an unknown options.experiment or a DIR that is not an
// earlier export, IoError when a file cannot be written (DIR is then left as it was).
MlflowExportSummary export_mlflow(runner::Store& store, const MlflowExportOptions& options);

// The MLflow experiment id of a repro experiment: the first 15 hex digits of the SHA-256 of the
// name modulo 10^18, in decimal (18 digits or fewer, as MLflow's own ids; never "0", MLflow's
// Default experiment), so re-exports keep it.
std::string mlflow_experiment_id(const std::string& experiment);

// The MLflow run id: 32 hex digits of the SHA-256 of experiment and run id. Per experiment,
// because a repro run shared by two experiments is two MLflow runs (a run directory belongs to
// one experiment in FileStore).
std::string mlflow_run_id(const std::string& experiment, const std::string& run_id);

// `key` as a name MLflow accepts for a param, metric or tag (mlflow/utils/validation.py): every
// character outside [A-Za-z0-9_.- /] becomes '_', empty path segments are dropped, "." and ".."
// segments become "_", at most 250 characters; "" becomes "_".
std::string mlflow_key(const std::string& key);

struct ExportArgs {
  StoreLocation where;
  std::string format = "mlflow";  // the only one so far
  std::string out_dir;
  std::string experiment;  // "" = all
  std::string user;        // "" = none
};

// The body of `repro export`: opens the store read-only, exports, prints what it wrote. Returns 0.
int export_command(const ExportArgs& args, std::ostream& out, std::ostream& err);

}  // namespace repro::reports

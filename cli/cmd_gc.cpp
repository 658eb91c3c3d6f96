// repro gc [EXPERIMENT] [--dry-run]: applies each run's train.keep policy to its checkpoints
// (runner/gc/gc.h; docs/checkpoints.md, "Which checkpoints stay"). Nothing here needs LibTorch.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <ostream>

#include "base/util/errors.h"
#include "base/util/strings.h"
#include "cli/commands.h"
#include "runner/gc/gc.h"
#include "runner/plan/cost_estimate.h"
#include "store/store.h"

namespace repro::cli {

namespace {

namespace fs = std::filesystem;

struct GcArgs {
  std::string experiment;
  std::string project = ".";
  std::string db;
  bool dry_run = false;
};

// "1234567 bytes (1.18 MiB)": the exact count, then runner::bytes_text's reading of it.
std::string bytes_text(uintmax_t bytes) {
  return std::to_string(bytes) + " bytes (" + runner::bytes_text(static_cast<int64_t>(bytes)) + ")";
}

std::string files_text(size_t n) { return std::to_string(n) + (n == 1 ? " file" : " files"); }

void print_run(const runner::GcRun& run, const std::string& verb, std::ostream& out) {
  out << "run " << run.run_id << " (keep " << run.keep;
  if (run.latest)
    out << "; latest checkpoint " << *run.latest << "; model+EMA kept at "
        << join(run.model_steps, ", ", [](int64_t k) { return std::to_string(k); });
  out << "): " << files_text(run.files.size()) << ", " << bytes_text(run.bytes) << " " << verb << "\n";
  for (const auto& f : run.files) out << "  " << f.path << "  " << f.bytes << "\n";
  for (const auto& note : run.notes) out << "  note: " << note << "\n";
}

int gc(const GcArgs& a, std::ostream& out) {
  const std::string db = a.db.empty() ? (fs::path(a.project) / runner::kDefaultDatabaseName).string() : a.db;
  if (!fs::exists(db))
    throw IoError(db + ": no store here yet (run `repro run EXPERIMENT.yaml` first, or pass --project or --db)");
  runner::Store store(db, runner::read_only_options());  // gc deletes files; it writes nothing to the store
  runner::GcOptions o;
  o.project_dir = a.project;
  o.dry_run = a.dry_run;
  const runner::GcReport report = runner::collect_garbage(store, runner::gc_run_ids(store, a.experiment), o);
  const std::string verb = a.dry_run ? "would be freed" : "freed";
  for (const auto& run : report.runs) print_run(run, verb, out);
  out << "total: " << files_text(report.files) << ", " << bytes_text(report.bytes) << " " << verb << " in "
      << report.runs.size() << (report.runs.size() == 1 ? " run" : " runs")
      << (a.dry_run ? " (dry run: nothing deleted)" : "") << "\n";
  return 0;
}

}  // namespace

void add_gc_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code) {
  (void)err;
  auto a = std::make_shared<GcArgs>();
  auto* cmd =
      app.add_subcommand("gc", "Delete the checkpoints each run's train.keep does not keep; report freed bytes");
  cmd->footer(
      "train.keep: evaluated (the default) keeps the model and EMA files of every step a sample task of the run reads "
      "(any experiment, done or not) and of the latest checkpoint, and the optimizer and state files of the latest "
      "only: what a resume reads. keep: all keeps everything. Files of steps after the latest complete checkpoint are "
      "never touched. Holds the project lock: refused (exit 3) while a `repro run` works in the project; --dry-run "
      "takes no lock and deletes nothing (docs/checkpoints.md).");
  cmd->add_option("EXPERIMENT", a->experiment, "the experiment whose runs to clean (default: every run in the store)");
  cmd->add_flag("--dry-run", a->dry_run, "list what would be deleted and the bytes, delete nothing");
  cmd->add_option("--project", a->project, "project directory")->capture_default_str();
  cmd->add_option("--db", a->db, "store file (default: PROJECT/repro.db)");
  cmd->callback([a, &out, exit_code] { *exit_code = gc(*a, out); });
}

}  // namespace repro::cli

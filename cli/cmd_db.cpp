// repro db migrate: upgrades the store's schema to the newest this repro knows, after copying the
// file to a backup (store/migrate.h). Read-only commands read an older schema as it is and never
// upgrade it; writers (repro run, repro cancel) upgrade the same way on open. Nothing here needs
// LibTorch.
#include <CLI/CLI.hpp>

#include <ostream>

#include "base/util/errors.h"
#include "cli/commands.h"
#include "reports/report_command.h"
#include "store/schema.h"
#include "store/store.h"

namespace repro::cli {

namespace {

struct DbArgs {
  std::string project = ".";
  std::string db;
};

int migrate(const DbArgs& a, std::ostream& out) {
  // Never creates a store: migrating nothing is a mistake in the arguments.
  const std::string db = reports::existing_store({a.project, a.db}, "repro db migrate");
  // A look first, read-only: an up-to-date store is not opened for writing, so this neither waits
  // for a `repro run` writing it nor needs write access. A file too old to read is upgraded below,
  // and one that cannot be upgraded says why there.
  int version = -1;
  try {
    version = runner::Store(db, runner::read_only_options()).schema_version();
  } catch (const IoError&) {
  }
  if (version == runner::latest_schema_version()) {
    out << db << ": schema version " << version << " is up to date; nothing to do, no backup written\n";
    return 0;
  }
  const runner::Store store(db);
  const runner::MigrationReport& m = store.migration();
  if (m.applied.empty()) {  // another process upgraded it between the look and now
    out << db << ": schema version " << m.to_version << " is up to date; nothing to do, no backup written\n";
    return 0;
  }
  if (!m.backup_path.empty()) out << "backup of schema version " << m.from_version << ": " << m.backup_path << "\n";
  for (const int v : m.applied)
    out << "applied schema version " << v << ": " << runner::schema_migrations()[static_cast<size_t>(v - 1)].description
        << "\n";
  out << db << ": schema version " << m.from_version << " -> " << m.to_version << "\n";
  return 0;
}

}  // namespace

void add_db_command(CLI::App& app, std::ostream& out, std::ostream& /*err*/, int* exit_code) {
  auto* db = app.add_subcommand("db", "Maintain the results store (repro.db)");
  db->require_subcommand(1);
  auto a = std::make_shared<DbArgs>();
  auto* cmd = db->add_subcommand(
      "migrate", "Upgrade the store's schema to the newest this repro knows, after writing a backup of the file");
  cmd->footer(
      "The backup (PATH.vN-backup-UNIXTIME beside the store, N the old version) is written with SQLite's online backup "
      "and fsynced before any change; the upgrade is one transaction. A store already up to date is left alone. "
      "Read-only commands (status, report, logs, ...) never upgrade; `repro run` and `repro cancel` upgrade on open "
      "the same way, backup first (docs/database.md, \"Schema version and migrations\").");
  cmd->add_option("--project", a->project, "project directory")->capture_default_str();
  cmd->add_option("--db", a->db, "store file (default: PROJECT/repro.db)");
  cmd->callback([a, &out, exit_code] { *exit_code = migrate(*a, out); });
}

}  // namespace repro::cli

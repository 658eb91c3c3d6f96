#include "store/migrate.h"

#include <SQLiteCpp/Backup.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <sqlite3.h>

#include <cmath>
#include <filesystem>

#include "base/util/errors.h"
#include "base/util/file_io.h"

namespace repro::runner {
namespace {

namespace fs = std::filesystem;

// Copies the committed state of the store at `path` to a new backup file and returns its path.
// The caller holds the write lock, so a second, read-only connection sees exactly the state the
// caller's transaction started from (WAL readers do not wait on the writer). The backup API
// copies pages, so the copy is the same database, not a dump.
std::string write_backup(const std::string& path, int version, double now) {
  std::string target = backup_file_name(path, version, now);
  const std::string temp = atomic_temp_path(target);
  try {
    SQLite::Database source(path, SQLite::OPEN_READONLY);
    SQLite::Database copy(temp, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    SQLite::Backup backup(copy, source);
    const int rc = backup.executeStep();  // all pages in one step
    if (rc != SQLITE_DONE) throw SQLite::Exception(std::string("backup step returned ") + sqlite3_errstr(rc), rc);
  } catch (const SQLite::Exception& e) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    throw IoError(path + ": cannot write the backup " + target +
                  " before upgrading the schema (nothing changed): " + e.what());
  }
  commit_temp_file(temp, target);  // fsync, rename, fsync of the directory
  return target;
}

// The version recorded in the file, creating the schema_version table in a new, empty file.
int current_version(SQLite::Database& db, const std::string& path) {
  if (!db.tableExists("schema_version")) {
    const int others = db.execAndGet("SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").getInt();
    if (others > 0) {
      throw IoError(path + ": an SQLite database, but not a repro store (it has no schema_version table)");
    }
    db.exec(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
        "applied REAL NOT NULL)");
  }
  return db.execAndGet("SELECT ifnull(max(version), 0) FROM schema_version").getInt();
}

}  // namespace

std::string backup_file_name(const std::string& path, int version, double now) {
  const std::string base =
      path + ".v" + std::to_string(version) + "-backup-" + std::to_string(static_cast<int64_t>(std::floor(now)));
  std::string name = base;
  for (int n = 2; fs::exists(name); ++n) name = base + "-" + std::to_string(n);
  return name;
}

void check_not_newer(const std::string& path, int version, int known) {
  if (version <= known) return;
  throw IoError(path + ": schema version " + std::to_string(version) + " is newer than this repro knows (" +
                std::to_string(known) + "); open it with the newer repro that wrote it, or use another --db");
}

MigrationReport migrate_with_backup(SQLite::Database& db, const std::string& path, const std::vector<Migration>& steps,
                                    double now) {
  for (size_t i = 0; i < steps.size(); ++i) {
    REPRO_CHECK(steps[i].version == static_cast<int>(i) + 1, "schema migrations must be numbered 1, 2, ...");
  }
  const int known = steps.empty() ? 0 : steps.back().version;
  SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
  MigrationReport report;
  report.from_version = current_version(db, path);
  report.to_version = std::max(report.from_version, known);
  check_not_newer(path, report.from_version, known);
  if (report.from_version >= 1 && report.from_version < known)
    report.backup_path = write_backup(path, report.from_version, now);
  SQLite::Statement record(db, "INSERT INTO schema_version (version, description, applied) VALUES (?, ?, ?)");
  for (const Migration& step : steps) {
    if (step.version <= report.from_version) continue;
    try {
      db.exec(step.sql);
    } catch (const SQLite::Exception& e) {
      throw IoError(path + ": migration to schema version " + std::to_string(step.version) + " (" + step.description +
                    ") failed: " + e.what() +
                    (report.backup_path.empty() ? "" : " (nothing changed; backup " + report.backup_path + ")"));
    }
    record.bind(1, step.version);
    record.bind(2, step.description);
    record.bind(3, now);
    record.exec();
    record.reset();
    report.applied.push_back(step.version);
  }
  tx.commit();
  return report;
}

}  // namespace repro::runner

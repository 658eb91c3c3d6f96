#include "store/store.h"

#include <SQLiteCpp/Transaction.h>

#include <chrono>

#include "base/util/errors.h"

namespace repro::runner {
namespace {

// Brings the schema up to the newest step of `steps` in one IMMEDIATE transaction, so that two
// processes opening a fresh file at once migrate it once. Returns the versions applied.
std::vector<int> migrate(SQLite::Database& db, const std::string& path, const std::vector<Migration>& steps, double now,
                         int* version) {
  for (size_t i = 0; i < steps.size(); ++i) {
    REPRO_CHECK(steps[i].version == static_cast<int>(i) + 1, "schema migrations must be numbered 1, 2, ...");
  }
  const int known = steps.empty() ? 0 : steps.back().version;
  SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
  if (!db.tableExists("schema_version")) {
    const int others = db.execAndGet("SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").getInt();
    if (others > 0) {
      throw IoError(path + ": an SQLite database, but not a repro store (it has no schema_version table)");
    }
    db.exec(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
        "applied REAL NOT NULL)");
  }
  const int current = db.execAndGet("SELECT ifnull(max(version), 0) FROM schema_version").getInt();
  if (current > known) {
    throw IoError(path + ": schema version " + std::to_string(current) + " is newer than this repro knows (" +
                  std::to_string(known) + "); open it with the newer repro that wrote it, or use another --db");
  }
  std::vector<int> applied;
  SQLite::Statement record(db, "INSERT INTO schema_version (version, description, applied) VALUES (?, ?, ?)");
  for (const Migration& step : steps) {
    if (step.version <= current) continue;
    try {
      db.exec(step.sql);
    } catch (const SQLite::Exception& e) {
      throw IoError(path + ": migration to schema version " + std::to_string(step.version) + " (" + step.description +
                    ") failed: " + e.what());
    }
    record.bind(1, step.version);
    record.bind(2, step.description);
    record.bind(3, now);
    record.exec();
    record.reset();
    applied.push_back(step.version);
  }
  tx.commit();
  *version = std::max(current, known);
  return applied;
}

}  // namespace

Store::Store(const std::string& path, StoreOptions options) : Store(path, std::move(options), schema_migrations()) {}

Store::Store(const std::string& path, StoreOptions options, const std::vector<Migration>& migrations) try
    : path_(path),
      options_(std::move(options)),
      db_(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, options_.busy_timeout_ms) {
  const std::string mode = db_.execAndGet("PRAGMA journal_mode=WAL").getString();
  if (mode != "wal" && mode != "memory") {
    throw IoError(path + ": cannot use write-ahead logging (journal_mode is '" + mode +
                  "'); is the file on a network file system?");
  }
  db_.exec("PRAGMA foreign_keys=ON");
  db_.exec("PRAGMA synchronous=NORMAL");
  if (db_.execAndGet("PRAGMA foreign_keys").getInt() != 1) {
    throw IoError(path + ": this SQLite was built without foreign key support");
  }
  applied_ = migrate(db_, path_, migrations, now(), &schema_version_);
} catch (const SQLite::Exception& e) {
  throw IoError(path + ": cannot open the repro store: " + e.what());
}

double Store::now() const {
  if (options_.clock) return options_.clock();
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace repro::runner

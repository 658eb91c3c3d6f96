#pragma once
// The results store: one SQLite database per project directory (default `repro.db`), written by
// the orchestrator and read by `repro status` / `repro report` at the same time. Schema and the
// meaning of every column: docs/database.md.
#include <SQLiteCpp/Database.h>

#include <functional>
#include <string>
#include <vector>

#include "store/schema.h"

namespace repro::runner {

// The database file a project directory uses unless `--db` says otherwise.
inline constexpr const char* kDefaultDatabaseName = "repro.db";

struct StoreOptions {
  // Milliseconds a statement waits for another connection's write lock before it fails with
  // SQLITE_BUSY. Ingest of a long file holds the lock for up to a few seconds (bench_store), and
  // `repro status` ingests before it reads, so a reader must be able to outwait a writer.
  int busy_timeout_ms = 10000;
  // Seconds since the Unix epoch for the created/updated/... columns. Empty: the system clock.
  // Tests inject a fake.
  std::function<double()> clock;
};

// An open connection. Opening creates the file when it does not exist and migrates it forward to
// the newest schema this code knows, in one transaction. The connection uses WAL (readers never
// block the writer nor the writer the readers), foreign_keys=ON and synchronous=NORMAL (a power
// loss may lose the last transactions, never corrupt the file; the run directories are the
// source of truth and ingest is idempotent).
//
// Thread safety: one Store per thread. Any number of Stores, in one process or several, may
// have the same file open; writers take turns (WriteTransaction waits up to busy_timeout_ms).
class Store {
 public:
  // Throws IoError naming `path` when the file cannot be opened or created, is not an SQLite
  // database, is an SQLite database without a schema_version table (not a repro store), has a
  // schema version newer than this code knows, cannot switch to WAL, or a migration fails.
  explicit Store(const std::string& path, StoreOptions options = {});

  // As above, migrating along `migrations` instead of schema_migrations(). For tests that write
  // a database of an older version.
  Store(const std::string& path, StoreOptions options, const std::vector<Migration>& migrations);

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& path() const { return path_; }
  // The schema version after opening (and migrating).
  int schema_version() const { return schema_version_; }
  // The versions this open applied, oldest first (empty when the file was up to date).
  const std::vector<int>& applied_migrations() const { return applied_; }

  // The connection, for the store's own functions and for ad-hoc SQL.
  SQLite::Database& db() { return db_; }

  // Now, from StoreOptions::clock.
  double now() const;

 private:
  std::string path_;
  StoreOptions options_;
  SQLite::Database db_;
  int schema_version_ = 0;
  std::vector<int> applied_;
};

}  // namespace repro::runner

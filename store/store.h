#pragma once
// The results store: one SQLite database per project directory (default `repro.db`), written by
// the orchestrator and read by `repro status` / `repro report` at the same time. Schema and the
// meaning of every column: docs/database.md.
#include <SQLiteCpp/Database.h>

#include <functional>
#include <string>
#include <vector>

#include "store/migrate.h"
#include "store/schema.h"

namespace repro::runner {

// The database file a project directory uses unless `--db` says otherwise.
inline constexpr const char* kDefaultDatabaseName = "repro.db";

// The oldest schema read-only commands read as it is (callers check Store::schema_version() where a
// feature needs a newer table); an older file needs `repro db migrate`. 3: `repro status` reads
// through the version-3 indexes and the figures through version 2's task_events.
inline constexpr int kOldestReadableSchemaVersion = 3;

struct StoreOptions {
  // Milliseconds a writer waits for another connection's write lock before it fails with
  // SQLITE_BUSY: ingest of a long file holds the lock for up to a few seconds (bench_store).
  // A read-only Store uses at most 1000 ms: WAL readers take no lock a writer holds, and wait only
  // in the rare moments SQLite recovers or resets the WAL index.
  int busy_timeout_ms = 10000;
  // Seconds since the Unix epoch for the created/updated/... columns. Empty: the system clock.
  // Tests inject a fake.
  std::function<double()> clock;
  // Open for reading only (repro report, status, logs, show, results, diff, export): no write
  // lock, no waiting on a writer, no schema upgrade; works on a read-only file or directory.
  bool read_only = false;
};

// StoreOptions with read_only set, for the read-only commands.
inline StoreOptions read_only_options() {
  StoreOptions options;
  options.read_only = true;
  return options;
}

// An open connection, read-write (the default) or read-only.
//
// Read-write (repro run, repro cancel, repro db migrate): opening creates the file when it does not
// exist and brings it to the newest schema this code knows, in one transaction; a store of an
// older version is first copied to a backup file (store/migrate.h; migration().backup_path says
// where; the library prints nothing). The connection uses WAL (readers never block the writer nor
// the writer the readers), foreign_keys=ON and synchronous=NORMAL (a power loss may lose the last
// transactions, never corrupt the file; the run directories are the source of truth and ingest is
// idempotent).
//
// Read-only: SQLITE_OPEN_READONLY, nothing written to the file, its schema read as it is. In WAL
// mode SQLite reads through the -wal and -shm files beside the database, creating them when they
// are missing. Where this process cannot write the database and no -wal exists (so no writer has
// it open), or the directory refuses the -shm, the file is opened `immutable=1` instead: SQLite then
// creates nothing and takes no locks, which is safe because nobody is writing it; such a
// connection does not see later writes (a `repro logs -f` there sees the store as it was).
//
// Thread safety: one Store per thread. Any number of Stores, in one process or several, may
// have the same file open; writers take turns (WriteTransaction waits up to busy_timeout_ms).
class Store {
 public:
  // Throws IoError naming `path` when the file cannot be opened or created, is not an SQLite
  // database, is an SQLite database without a schema_version table (not a repro store), has a
  // schema version newer than this code knows, cannot switch to WAL, its backup cannot be written
  // or a migration fails. Read-only, also when the file does not exist (nothing is created) or its
  // schema is older than kOldestReadableSchemaVersion (the message says to run `repro db migrate`).
  explicit Store(const std::string& path, const StoreOptions& options = {});

  // As above, migrating along `migrations` instead of schema_migrations() (read-only: refusing
  // versions newer than their last). For tests that write a database of an older version.
  Store(const std::string& path, const StoreOptions& options, const std::vector<Migration>& migrations);

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& path() const { return path_; }
  bool read_only() const { return options_.read_only; }
  // The schema version after opening (and migrating): for a read-only Store, the file's own.
  int schema_version() const { return schema_version_; }
  // What opening changed: the versions applied and the backup written (nothing when read-only or
  // up to date).
  const MigrationReport& migration() const { return migration_; }
  // The versions this open applied, oldest first (empty when the file was up to date).
  const std::vector<int>& applied_migrations() const { return migration_.applied; }

  // The connection, for the store's own functions and for ad-hoc SQL.
  SQLite::Database& db() { return db_; }

  // Now, from StoreOptions::clock.
  double now() const;

 private:
  std::string path_;
  StoreOptions options_;
  SQLite::Database db_;
  int schema_version_ = 0;
  MigrationReport migration_;
};

}  // namespace repro::runner

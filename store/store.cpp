#include "store/store.h"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "base/util/errors.h"

namespace repro::runner {
namespace {

namespace fs = std::filesystem;

// WAL readers wait only while SQLite recovers or resets the WAL index (milliseconds).
constexpr int kReaderBusyTimeoutMs = 1000;

// `path` as an SQLite URI filename: absolute, with the characters a URI gives meaning to escaped.
std::string uri_filename(const std::string& path) {
  std::string uri = "file://";
  for (const char c : fs::absolute(path).string()) {
    if (c == '%' || c == '?' || c == '#') {
      char escaped[4];
      std::snprintf(escaped, sizeof escaped, "%%%02X", static_cast<unsigned char>(c));
      uri += escaped;
    } else {
      uri += c;
    }
  }
  return uri;
}

// Read-only without -shm/-wal files and without locks. Only where nobody writes the file: SQLite
// trusts it not to change while open.
SQLite::Database open_immutable(const std::string& path, int busy_ms) {
  return SQLite::Database(uri_filename(path) + "?mode=ro&immutable=1", SQLite::OPEN_READONLY | SQLite::OPEN_URI,
                          busy_ms);
}

// A read-only connection that creates no file beside the database where that could be avoided and
// would lock out its owner: a -shm made by a user who cannot write the database stays read-only for
// the database's writers too (SQLite 3.40: "attempt to write a readonly database").
SQLite::Database open_read_only(const std::string& path, int busy_ms) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    throw IoError(path +
                  ": no repro store here (the file does not exist; `repro run` creates it, or pass --project "
                  "or --db)");
  }
  // A writer in WAL mode keeps PATH-wal while it has the file open.
  const bool writer_files = fs::exists(path + "-wal", ec);
  if (!writer_files && ::access(path.c_str(), W_OK) != 0) return open_immutable(path, busy_ms);
  try {
    SQLite::Database db(path, SQLite::OPEN_READONLY, busy_ms);
    db.execAndGet("SELECT count(*) FROM sqlite_master");  // the first read opens the -wal and -shm
    return db;
  } catch (const SQLite::Exception& e) {
    // The directory refuses the -shm (SQLITE_READONLY_DIRECTORY, or CANTOPEN in older SQLites).
    // With a -wal present its committed transactions would be skipped: no fallback then.
    const int code = e.getExtendedErrorCode();
    if (writer_files || (code != SQLITE_READONLY_DIRECTORY && (code & 0xff) != SQLITE_CANTOPEN)) throw;
  }
  return open_immutable(path, busy_ms);
}

SQLite::Database open_connection(const std::string& path, const StoreOptions& options) {
  if (options.read_only) return open_read_only(path, std::min(options.busy_timeout_ms, kReaderBusyTimeoutMs));
  return SQLite::Database(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, options.busy_timeout_ms);
}

// The schema version of a file opened read-only, which must be readable as it is.
int readable_version(SQLite::Database& db, const std::string& path, int known) {
  const std::string migrate = "run `repro db migrate --db " + path + "` (it writes a backup first)";
  if (!db.tableExists("schema_version")) {
    const int others = db.execAndGet("SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").getInt();
    if (others > 0)
      throw IoError(path + ": an SQLite database, but not a repro store (it has no schema_version table)");
    throw IoError(path + ": an empty database without a repro schema (version 0); " + migrate);
  }
  const int version = db.execAndGet("SELECT ifnull(max(version), 0) FROM schema_version").getInt();
  check_not_newer(path, version, known);
  if (version < kOldestReadableSchemaVersion) {
    throw IoError(path + ": schema version " + std::to_string(version) + " is too old to read (" +
                  std::to_string(kOldestReadableSchemaVersion) + " at least); " + migrate);
  }
  return version;
}

}  // namespace

Store::Store(const std::string& path, const StoreOptions& options) : Store(path, options, schema_migrations()) {}

Store::Store(const std::string& path, const StoreOptions& options, const std::vector<Migration>& migrations) try
    : path_(path), options_(options), db_(open_connection(path_, options_)) {
  if (options_.read_only) {
    schema_version_ = readable_version(db_, path_, migrations.empty() ? 0 : migrations.back().version);
    migration_.from_version = migration_.to_version = schema_version_;
    return;
  }
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
  migration_ = migrate_with_backup(db_, path_, migrations, now());
  schema_version_ = migration_.to_version;
} catch (const SQLite::Exception& e) {
  // Members are gone here: `options` (copied, not moved, into options_) says how it was opened.
  throw IoError(path + ": cannot open the repro store" + (options.read_only ? " read-only" : "") + ": " + e.what());
}

double Store::now() const {
  if (options_.clock) return options_.clock();
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace repro::runner

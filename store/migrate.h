#pragma once
// Schema upgrades: the only code that changes a store's schema, and it first copies the file as it
// was. Writers (repro run, repro cancel) upgrade on open through Store; `repro db migrate` does it
// on request; read-only commands never do (docs/database.md, "Schema version and migrations").
#include <SQLiteCpp/Database.h>

#include <string>
#include <vector>

#include "store/schema.h"

namespace repro::runner {

// What one upgrade did. Library code prints nothing: the caller says what it needs to.
struct MigrationReport {
  int from_version = 0;      // before: 0 for a new, empty file
  int to_version = 0;        // after: the newest step's version
  std::vector<int> applied;  // the versions applied, oldest first; empty when it was up to date
  // The copy of the file as it was before the steps: written only when an existing store (version
  // >= 1) was older than the steps; empty otherwise.
  std::string backup_path;
};

// Brings `db`, open read-write on the file `path`, up to the newest of `steps` in one IMMEDIATE
// transaction (all steps or none; two processes opening an old file at once upgrade it once).
// When the file is a store older than `steps`, first writes backup_file_name(path, from, now),
// while holding the write lock so that the copy is exactly the state the steps start from: SQLite's
// online backup into a temp file, fsynced, renamed into place, directory fsynced.
// REQUIRES: steps numbered 1, 2, ... without gaps; `db` in WAL mode (or a new file).
// Throws IoError naming `path`: an SQLite file without a schema_version table (not a repro store),
// a version newer than `steps` knows, a backup that cannot be written (nothing applied), a step
// that fails (nothing applied; the backup stays).
MigrationReport migrate_with_backup(SQLite::Database& db, const std::string& path, const std::vector<Migration>& steps,
                                    double now);

// Throws IoError when the store `path` has a schema `version` newer than `known`: its tables may
// mean something this code does not know.
void check_not_newer(const std::string& path, int version, int known);

// Where the backup of the store `path` at schema `version` taken at Unix time `now` goes:
// "PATH.vVERSION-backup-SECONDS", with "-2", "-3", ... appended when that file exists.
std::string backup_file_name(const std::string& path, int version, double now);

}  // namespace repro::runner

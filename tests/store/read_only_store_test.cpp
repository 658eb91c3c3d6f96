// Read-only stores and explicit upgrades: a reader beside an open write transaction, an old schema
// read as it is without a byte changed, a missing file, and the backup written before an upgrade.
#include <SQLiteCpp/Statement.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "base/util/errors.h"
#include "base/util/sha256.h"
#include "store/migrate.h"
#include "store/schema.h"
#include "store/store.h"
#include "tests/store/store_fixture.h"

namespace repro::test {
namespace {

namespace fs = std::filesystem;
using runner::Store;

// The first `n` schema steps: a database as an older repro wrote it.
std::vector<runner::Migration> first_steps(size_t n) {
  const auto& all = runner::schema_migrations();
  return {all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n)};
}

// Every row of `table` as text, in primary-key order: what "the same rows" means below.
std::string rows(SQLite::Database& db, const std::string& table) {
  SQLite::Statement st(db, "SELECT * FROM " + table + " ORDER BY 1, 2");
  std::string text;
  while (st.executeStep()) {
    for (int i = 0; i < st.getColumnCount(); ++i) text += st.getColumn(i).getString() + "|";
    text += "\n";
  }
  return text;
}

const char* const kVersion3Tables[] = {"experiments", "runs",        "experiment_runs", "tasks",
                                       "attempts",    "metrics",     "results",         "artifacts",
                                       "provenance",  "task_events", "ingest_progress", "ingest_errors"};

// A version-3 store with one experiment, run and task and one attempt, closed (WAL checkpointed).
void write_version3_store(const std::string& path) {
  FakeClock clock;
  Store old(path, options_with(&clock), first_steps(3));
  ASSERT_EQ(old.schema_version(), 3);
  put_train_task(old, "run1", "task1");
  runner::begin_attempt(old, {"task1", runner::ExecutorKind::kLocal, "", "host", "", "task1.log", 1000.0});
}

TEST(ReadOnlyStore, ReadsCommittedRowsWhileAnotherConnectionHoldsTheWriteLock) {
  TempDir dir;
  const std::string path = dir.file("repro.db");
  {
    Store writer(path);
    put_train_task(writer, "run1", "task1");
  }
  SQLite::Database holder(path, SQLite::OPEN_READWRITE);
  holder.exec("BEGIN IMMEDIATE");
  holder.exec(
      "INSERT INTO experiments (name, file, file_sha256, created, updated) VALUES ('other', 'o.yaml', 'x', 1, 1)");
  // No waiting allowed: any SQLITE_BUSY would throw at once instead of after a timeout.
  runner::StoreOptions impatient = runner::read_only_options();
  impatient.busy_timeout_ms = 0;
  Store reader(path, impatient);
  EXPECT_TRUE(reader.read_only());
  EXPECT_EQ(reader.schema_version(), runner::latest_schema_version());
  EXPECT_TRUE(reader.applied_migrations().empty());
  EXPECT_EQ(count_rows(reader, "SELECT count(*) FROM experiments"), 1);  // the committed state only
  EXPECT_EQ(count_rows(reader, "SELECT count(*) FROM tasks WHERE task_id = 'task1' AND run_id = 'run1'"), 1);
  // It cannot write, whatever it is asked.
  try {
    reader.db().exec("DELETE FROM tasks");
    ADD_FAILURE() << "a read-only store wrote";
  } catch (const SQLite::Exception& e) {
    EXPECT_EQ(e.getErrorCode(), SQLITE_READONLY) << e.what();
  }
  holder.exec("COMMIT");
  EXPECT_EQ(count_rows(reader, "SELECT count(*) FROM experiments"), 2);  // and sees later commits
}

TEST(ReadOnlyStore, ReadsAnOlderSchemaAsItIsWithoutChangingAByte) {
  TempDir dir;
  const std::string path = dir.file("repro.db");
  write_version3_store(path);
  const std::string before = sha256_file_hex(path);
  {
    Store reader(path, runner::read_only_options());
    EXPECT_EQ(reader.schema_version(), 3);
    EXPECT_TRUE(reader.applied_migrations().empty());
    EXPECT_TRUE(reader.migration().backup_path.empty());
    EXPECT_FALSE(reader.db().tableExists("cancel_requests"));  // version 4's table: not added
    EXPECT_EQ(count_rows(reader, "SELECT count(*) FROM attempts WHERE task_id = 'task1'"), 1);
  }
  EXPECT_EQ(sha256_file_hex(path), before);
  for (const auto& e : fs::directory_iterator(dir.path()))
    EXPECT_EQ(e.path().string().find(".v3-backup-"), std::string::npos) << e.path();
}

TEST(ReadOnlyStore, AMissingFileIsAnErrorAndNothingIsCreated) {
  TempDir dir;
  const std::string path = dir.file("absent.db");
  const std::string message = error_message([&] { Store reader(path, runner::read_only_options()); });
  EXPECT_NE(message.find(path + ": no repro store here (the file does not exist"), std::string::npos) << message;
  EXPECT_THROW(Store(path, runner::read_only_options()), IoError);
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(ReadOnlyStore, AFileWithoutASchemaSaysToRunDbMigrate) {
  TempDir dir;
  const std::string empty = dir.write("empty.db", "");  // SQLite reads a 0-byte file as an empty database
  std::string message = error_message([&] { Store reader(empty, runner::read_only_options()); });
  EXPECT_NE(message.find("repro db migrate --db " + empty), std::string::npos) << message;
  EXPECT_EQ(fs::file_size(empty), 0u);

  const std::string versionless = dir.file("versionless.db");
  {
    SQLite::Database db(versionless, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied REAL)");
  }
  message = error_message([&] { Store reader(versionless, runner::read_only_options()); });
  EXPECT_NE(message.find("schema version 0 is too old to read"), std::string::npos) << message;
  EXPECT_NE(message.find("repro db migrate"), std::string::npos) << message;

  const std::string foreign = dir.file("foreign.db");
  { SQLite::Database(foreign, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE).exec("CREATE TABLE t (x)"); }
  message = error_message([&] { Store reader(foreign, runner::read_only_options()); });
  EXPECT_NE(message.find("not a repro store"), std::string::npos) << message;
}

TEST(ReadOnlyStore, RefusesASchemaNewerThanItKnows) {
  TempDir dir;
  const std::string path = dir.file("repro.db");
  { Store store(path, {}, first_steps(3)); }
  const std::string message = error_message([&] { Store reader(path, runner::read_only_options(), first_steps(2)); });
  EXPECT_NE(message.find("schema version 3 is newer than this repro knows (2)"), std::string::npos) << message;
}

TEST(MigrateWithBackup, CopiesTheOldFileThenUpgradesIt) {
  TempDir dir;
  const std::string path = dir.file("repro.db");
  write_version3_store(path);
  std::map<std::string, std::string> old_rows;
  {
    Store reader(path, runner::read_only_options());
    for (const char* t : kVersion3Tables) old_rows[t] = rows(reader.db(), t);
  }
  ASSERT_NE(old_rows["attempts"], "");

  FakeClock clock;  // 1.7e9: the backup's name carries that second
  Store store(path, options_with(&clock));
  const runner::MigrationReport& m = store.migration();
  EXPECT_EQ(m.from_version, 3);
  EXPECT_EQ(m.to_version, runner::latest_schema_version());
  EXPECT_EQ(store.schema_version(), runner::latest_schema_version());
  std::vector<int> newer;  // 4, 5, ... up to the latest
  for (int v = 4; v <= runner::latest_schema_version(); ++v) newer.push_back(v);
  EXPECT_EQ(m.applied, newer);
  EXPECT_EQ(m.backup_path, path + ".v3-backup-1700000000");
  EXPECT_TRUE(store.db().tableExists("cancel_requests"));
  for (const char* t : kVersion3Tables) EXPECT_EQ(rows(store.db(), t), old_rows[t]) << t;

  ASSERT_TRUE(fs::is_regular_file(m.backup_path));
  Store backup(m.backup_path, runner::read_only_options());
  EXPECT_EQ(backup.schema_version(), 3);
  EXPECT_FALSE(backup.db().tableExists("cancel_requests"));
  for (const char* t : kVersion3Tables) EXPECT_EQ(rows(backup.db(), t), old_rows[t]) << t;
  EXPECT_EQ(rows(backup.db(), "schema_version"), rows(store.db(), "schema_version WHERE version <= 3"));
}

TEST(MigrateWithBackup, NewAndUpToDateFilesGetNoBackup) {
  TempDir dir;
  const std::string path = dir.file("repro.db");
  {
    Store fresh(path);
    EXPECT_EQ(fresh.migration().from_version, 0);
    EXPECT_EQ(fresh.migration().applied.size(), static_cast<size_t>(runner::latest_schema_version()));
    EXPECT_TRUE(fresh.migration().backup_path.empty());
  }
  Store again(path);
  EXPECT_TRUE(again.migration().applied.empty());
  EXPECT_TRUE(again.migration().backup_path.empty());
  for (const auto& e : fs::directory_iterator(dir.path()))
    EXPECT_EQ(e.path().filename().string().find("backup"), std::string::npos) << e.path();
}

TEST(MigrateWithBackup, ABackupNameInUseGetsASuffix) {
  TempDir dir;
  const std::string path = dir.file("repro.db");
  EXPECT_EQ(runner::backup_file_name(path, 4, 1700000000.7), path + ".v4-backup-1700000000");
  dir.write("repro.db.v4-backup-1700000000", "taken");
  EXPECT_EQ(runner::backup_file_name(path, 4, 1700000000.7), path + ".v4-backup-1700000000-2");
}

}  // namespace
}  // namespace repro::test

// The store's file: schema creation and version, forward migrations, refusal of newer or foreign
// files, WAL readers beside a writer, foreign keys, nested transactions.
#include "store/store.h"

#include <gtest/gtest.h>

#include <SQLiteCpp/Statement.h>

#include <chrono>

#include "base/util/errors.h"
#include "store/schema.h"
#include "store/transaction.h"
#include "tests/store/store_fixture.h"

namespace repro::test {
namespace {

using runner::Store;

const char* const kTables[] = {"experiments",     "runs",          "experiment_runs", "tasks",         "attempts",
                               "metrics",         "results",       "artifacts",       "provenance",    "task_events",
                               "ingest_progress", "ingest_errors", "cancel_requests", "schema_version"};

TEST(Store, CreatesEveryTableAtTheLatestVersion) {
  TempDir dir;
  FakeClock clock;
  Store store(dir.file("repro.db"), options_with(&clock));
  EXPECT_EQ(store.schema_version(), runner::latest_schema_version());
  EXPECT_EQ(store.schema_version(), 6);
  EXPECT_EQ(store.applied_migrations(), (std::vector<int>{1, 2, 3, 4, 5, 6}));
  for (const char* table : kTables) EXPECT_TRUE(store.db().tableExists(table)) << table;
  EXPECT_TRUE(store.db().tableExists("current_expansion"));
  EXPECT_EQ(count_rows(store, "SELECT count(*) FROM schema_version"), 6);
  EXPECT_EQ(count_rows(store, "SELECT max(version) FROM schema_version"), 6);
  EXPECT_EQ(store.db().execAndGet("SELECT applied FROM schema_version WHERE version = 1").getDouble(), clock.now);
  EXPECT_EQ(store.db().execAndGet("PRAGMA journal_mode").getString(), "wal");
  EXPECT_EQ(store.db().execAndGet("PRAGMA foreign_keys").getInt(), 1);
  EXPECT_GT(store.db().execAndGet("PRAGMA busy_timeout").getInt(), 0);
}

TEST(Store, ReopeningAnUpToDateFileAppliesNothing) {
  TempDir dir;
  { Store store(dir.file("repro.db")); }
  Store again(dir.file("repro.db"));
  EXPECT_TRUE(again.applied_migrations().empty());
  EXPECT_EQ(again.schema_version(), 6);
  EXPECT_EQ(count_rows(again, "SELECT count(*) FROM schema_version"), 6);
}

TEST(Store, MigratesAVersion1FileOnOpenAndKeepsItsRows) {
  TempDir dir;
  const std::string path = dir.file("old.db");
  {
    // A database as the first release wrote it: only the version-1 step.
    Store old(path, {}, {runner::schema_migrations().front()});
    ASSERT_EQ(old.schema_version(), 1);
    ASSERT_FALSE(old.db().tableExists("task_events"));
    put_train_task(old, "run1", "task1");
  }
  Store store(path);
  EXPECT_EQ(store.applied_migrations(), (std::vector<int>{2, 3, 4, 5, 6}));
  EXPECT_EQ(store.schema_version(), 6);
  EXPECT_TRUE(store.db().tableExists("task_events"));
  EXPECT_TRUE(store.db().tableExists("ingest_progress"));
  EXPECT_EQ(count_rows(store, "SELECT count(*) FROM tasks WHERE task_id = 'task1' AND run_id = 'run1'"), 1);
  EXPECT_EQ(store.db().execAndGet("SELECT description FROM schema_version WHERE version = 2").getString(),
            runner::schema_migrations()[1].description);
}

TEST(Store, AFailingMigrationLeavesTheFileAtItsOldVersion) {
  TempDir dir;
  const std::string path = dir.file("repro.db");
  const auto v1 = runner::schema_migrations().front();
  { Store old(path, {}, {v1}); }
  const runner::Migration broken{2, "broken", "CREATE TABLE fresh (a INTEGER); CREATE TABLE runs (b INTEGER);"};
  const std::string message = error_message([&] { Store store(path, {}, {v1, broken}); });
  EXPECT_NE(message.find("migration to schema version 2 (broken) failed"), std::string::npos) << message;
  EXPECT_NE(message.find(path), std::string::npos) << message;
  Store reopened(path, {}, {v1});
  EXPECT_EQ(reopened.schema_version(), 1);
  EXPECT_FALSE(reopened.db().tableExists("fresh"));
}

TEST(Store, RefusesASchemaNewerThanItKnows) {
  TempDir dir;
  const std::string path = dir.file("repro.db");
  {
    Store store(path);
    store.db().exec("INSERT INTO schema_version (version, description, applied) VALUES (7, 'from the future', 0)");
  }
  try {
    Store store(path);
    FAIL() << "opened a version-7 database";
  } catch (const IoError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find("schema version 7 is newer than this repro knows (6)"), std::string::npos) << message;
  }
}

TEST(Store, RefusesFilesThatAreNotReproStores) {
  TempDir dir;
  { std::ofstream(dir.file("text.db")) << "this is not a database, it is a long enough line of text to be read\n"; }
  const std::string not_sqlite = error_message([&] { Store store(dir.file("text.db")); });
  EXPECT_NE(not_sqlite.find(dir.file("text.db")), std::string::npos) << not_sqlite;
  EXPECT_NE(not_sqlite.find("not a database"), std::string::npos) << not_sqlite;

  {
    SQLite::Database other(dir.file("other.db"), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    other.exec("CREATE TABLE photos (id INTEGER)");
  }
  const std::string foreign = error_message([&] { Store store(dir.file("other.db")); });
  EXPECT_NE(foreign.find("not a repro store"), std::string::npos) << foreign;
}

TEST(Store, EnforcesForeignKeys) {
  TempDir dir;
  Store store(dir.file("repro.db"));
  const std::string task_without_run = error_message([&] {
    runner::put_task(store, {"t", "no-such-run", runner::TaskKind::kTrain, "{}"});
  });
  EXPECT_NE(task_without_run.find("FOREIGN KEY constraint failed"), std::string::npos) << task_without_run;
  const std::string metric_without_task = error_message([&] {
    store.db().exec("INSERT INTO metrics (task_id, name, step, value, seq) VALUES ('x', 'loss', 1, 0.5, 0)");
  });
  EXPECT_NE(metric_without_task.find("FOREIGN KEY constraint failed"), std::string::npos) << metric_without_task;
  EXPECT_EQ(count_rows(store, "SELECT count(*) FROM tasks") + count_rows(store, "SELECT count(*) FROM metrics"), 0);

  // Deleting a run removes its tasks and their rows (ON DELETE CASCADE).
  put_train_task(store, "run1", "task1");
  store.db().exec("INSERT INTO metrics (task_id, name, step, value, seq) VALUES ('task1', 'loss', 1, 0.5, 0)");
  store.db().exec("DELETE FROM runs WHERE run_id = 'run1'");
  EXPECT_EQ(count_rows(store, "SELECT count(*) FROM metrics"), 0);
}

TEST(Store, CheckConstraintsRejectUnknownWords) {
  TempDir dir;
  Store store(dir.file("repro.db"));
  put_train_task(store, "run1", "task1");
  EXPECT_THROW(store.db().exec("UPDATE tasks SET state = 'finished'"), SQLite::Exception);
  EXPECT_THROW(store.db().exec("UPDATE runs SET config = 'not json'"), SQLite::Exception);
}

TEST(Store, AReaderReadsWhileAWriterTransactionIsOpen) {
  TempDir dir;
  const std::string path = dir.file("repro.db");
  Store writer(path);
  put_train_task(writer, "run1", "task1");

  runner::StoreOptions impatient;
  impatient.busy_timeout_ms = 200;
  Store reader(path, impatient);
  {
    runner::WriteTransaction tx(writer);
    runner::put_task(writer, {"task2", "run1", runner::TaskKind::kSample, "{}"});
    const auto t0 = std::chrono::steady_clock::now();
    // The reader sees the last committed state, at once.
    EXPECT_EQ(count_rows(reader, "SELECT count(*) FROM tasks"), 1);
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 0.15);
    tx.commit();
  }
  EXPECT_EQ(count_rows(reader, "SELECT count(*) FROM tasks"), 2);

  // And the writer commits while a reader holds a snapshot (rollback journals would block here).
  reader.db().exec("BEGIN");
  EXPECT_EQ(count_rows(reader, "SELECT count(*) FROM tasks"), 2);
  runner::put_task(writer, {"task3", "run1", runner::TaskKind::kEval, "{}"});
  EXPECT_EQ(count_rows(reader, "SELECT count(*) FROM tasks"), 2);  // its snapshot
  reader.db().exec("COMMIT");
  EXPECT_EQ(count_rows(reader, "SELECT count(*) FROM tasks"), 3);
}

TEST(Store, ASecondWriterWaitsForTheFirst) {
  TempDir dir;
  const std::string path = dir.file("repro.db");
  Store first(path);
  runner::StoreOptions impatient;
  impatient.busy_timeout_ms = 100;
  Store second(path, impatient);
  runner::WriteTransaction tx(first);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW({ runner::WriteTransaction busy(second); }, SQLite::Exception);  // SQLITE_BUSY after its timeout
  EXPECT_GE(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 0.09);
}

TEST(Store, NestedTransactionsRollBackOnlyTheirOwnPart) {
  TempDir dir;
  Store store(dir.file("repro.db"));
  put_train_task(store, "run1", "task1");
  {
    runner::WriteTransaction outer(store);
    runner::put_task(store, {"kept", "run1", runner::TaskKind::kSample, "{}"});
    {
      runner::WriteTransaction inner(store);
      runner::put_task(store, {"dropped", "run1", runner::TaskKind::kSample, "{}"});
    }  // not committed: rolled back to the savepoint
    outer.commit();
  }
  EXPECT_EQ(count_rows(store, "SELECT count(*) FROM tasks WHERE task_id = 'kept'"), 1);
  EXPECT_EQ(count_rows(store, "SELECT count(*) FROM tasks WHERE task_id = 'dropped'"), 0);
  {
    runner::WriteTransaction outer(store);
    runner::put_task(store, {"gone", "run1", runner::TaskKind::kSample, "{}"});
  }
  EXPECT_EQ(count_rows(store, "SELECT count(*) FROM tasks WHERE task_id = 'gone'"), 0);
}

}  // namespace
}  // namespace repro::test

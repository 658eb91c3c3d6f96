// The read-only commands (repro status, report, logs) on a store another user cannot write: a
// read-only file, and a read-only directory, run as user `nobody` (root ignores permissions);
// `repro db migrate` on an old store, writing a backup first; `repro report` on an old store
// leaves its bytes alone. The store comes from one tiny `repro run` shared by the tests.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <memory>

#include "tests/support/test_support.h"
#include "tests/support/tiny_project.h"

using namespace repro;
namespace fs = std::filesystem;

namespace {

using test::repro_cli;

// The unprivileged user the commands run as, and how to become it.
constexpr const char* kAsNobody = "setpriv --reuid=65534 --regid=65534 --clear-groups ";

// The SHA-256 of a file, by Python's hashlib.
std::string sha256_by_python(const std::string& path) {
  std::string out;
  test::run_command(test::python_interpreter() +
                        " -c \"import hashlib,sys; print(hashlib.sha256(open(sys.argv[1], "
                        "'rb').read().hexdigest())\" " +
                        path,
                    &out);
  return out;
}

// A project with a finished tiny experiment (one run: train, sample, eval with an FID), made once.
class ReadOnlyCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<test::TempDir>();
    fs::permissions(dir_->path(), fs::perms(0755));  // traversable by nobody
    std::string out;
    ASSERT_EQ(test::run_tiny_project(*dir_, project(), &out), 0) << out;
    ASSERT_NE(out.find("done 3, already done 0, failed 0"), std::string::npos) << out;
    // The run id through a read-write connection that, closing last, removes the -wal and -shm:
    // the tests start from the store as `repro run` leaves it.
    ASSERT_EQ(
        test::run_python("import sqlite3\ndb = sqlite3.connect('" + db() +
                             "')\nopen('run_id', 'w').write(db.execute('SELECT run_id FROM runs').fetchone()[0])\n"
                             "db.close()\n",
                         dir_->path()),
        0);
    run_id_ = test::read_text(dir_->file("run_id"));
    ASSERT_FALSE(fs::exists(db() + "-wal"));
  }
  static void TearDownTestSuite() { dir_.reset(); }

  void SetUp() override {
    if (!dir_) GTEST_SKIP() << "the tiny experiment did not run";
    std::string ignored;
    if (::geteuid() != 0 || test::run_command("command -v setpriv", &ignored) != 0)
      GTEST_SKIP() << "needs root and util-linux's setpriv to run the commands as user nobody";
  }

  static std::string project() { return dir_->file("proj"); }
  static std::string db() { return dir_->file("proj/repro.db"); }

  // status, report --format json and logs as nobody; each must exit 0.
  static void read_as_nobody() {
    const std::string p = " --project " + project();
    std::string out;
    EXPECT_EQ(test::run_command(kAsNobody + test::repro_binary() + " status" + p, &out), 0) << out;
    EXPECT_NE(out.find("tiny: 1 runs"), std::string::npos) << out;
    EXPECT_EQ(test::run_command(kAsNobody + test::repro_binary() + " report tiny --format json" + p, &out), 0) << out;
    EXPECT_NE(out.find("\"fid\""), std::string::npos) << out;
    EXPECT_EQ(test::run_command(kAsNobody + test::repro_binary() + " logs " + run_id_ + p, &out), 0) << out;
  }

  static std::unique_ptr<test::TempDir> dir_;
  static std::string run_id_;
};

std::unique_ptr<test::TempDir> ReadOnlyCli::dir_;
std::string ReadOnlyCli::run_id_;

// Puts the project directory and its store back to root's usual modes when a test ends.
struct RestoreModes {
  ~RestoreModes() {
    fs::permissions(dir, fs::perms(0755));
    fs::permissions(file, fs::perms(0644));
  }
  std::string dir, file;
};

TEST_F(ReadOnlyCli, ReadsAStoreFileItCannotWrite) {
  RestoreModes restore{project(), db()};
  fs::permissions(project(), fs::perms(0777));  // nobody could create files beside the store
  fs::permissions(db(), fs::perms(0444));
  const std::string before = sha256_by_python(db());
  read_as_nobody();
  EXPECT_EQ(sha256_by_python(db()), before);
  // Nothing left beside it that would lock its owner out later (a -shm nobody made is read-only).
  EXPECT_FALSE(fs::exists(db() + "-shm"));
  EXPECT_FALSE(fs::exists(db() + "-wal"));
  for (const auto& e : fs::directory_iterator(project())) {
    struct stat st {};
    ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
    EXPECT_NE(st.st_uid, 65534u) << e.path() << " was created by nobody";
  }
}

TEST_F(ReadOnlyCli, ReadsAStoreInADirectoryItCannotWrite) {
  RestoreModes restore{project(), db()};
  fs::permissions(db(), fs::perms(0666));  // SQLite itself meets the directory: no -shm possible
  fs::permissions(project(), fs::perms(0555));
  const std::string before = sha256_by_python(db());
  read_as_nobody();
  EXPECT_EQ(sha256_by_python(db()), before);
}

TEST_F(ReadOnlyCli, DbMigrateUpgradesAnOldStoreAfterABackupAndReportLeavesItAlone) {
  test::TempDir old_dir;
  const std::string old = old_dir.file("old.db");
  fs::copy_file(db(), old);
  // Version 4 as an older repro wrote it: without what later versions added (tables checked).
  ASSERT_EQ(test::run_python("import sqlite3\ndb = sqlite3.connect('" + old +
                                 "')\n"
                                 "latest = db.execute('SELECT max(version) FROM schema_version').fetchone()[0]\n"
                                 "open('latest', 'w').write(str(latest))\n"
                                 "for (v,) in db.execute(\"SELECT name FROM sqlite_master WHERE type = 'view'\")"
                                 ".fetchall():\n  db.execute('DROP VIEW ' + v)\n"
                                 "db.execute('DROP TABLE current_expansion')\n"
                                 "db.execute('DELETE FROM schema_version WHERE version > 4')\n"
                                 "db.commit()\n"
                                 "tables = {r[0] for r in db.execute(\"SELECT name FROM sqlite_master WHERE type = "
                                 "'table'\")}\n"
                                 "assert tables == {'experiments', 'runs', 'experiment_runs', 'tasks', 'attempts', "
                                 "'metrics', 'results', 'artifacts', 'provenance', 'task_events', 'ingest_progress', "
                                 "'ingest_errors', 'cancel_requests', 'schema_version'}, tables\n"
                                 "db.close()\n",
                             old_dir.path()),
            0);
  const std::string latest = test::read_text(old_dir.file("latest"));
  const std::string v4 = sha256_by_python(old);

  std::string out;
  EXPECT_EQ(repro_cli("report tiny --format json --db " + old, &out), 0) << out;
  EXPECT_NE(out.find("\"fid\""), std::string::npos) << out;
  EXPECT_EQ(sha256_by_python(old), v4);

  ASSERT_EQ(repro_cli("db migrate --db " + old, &out), 0) << out;
  const std::string marker = "backup of schema version 4: ";
  const auto at = out.find(marker);
  ASSERT_NE(at, std::string::npos) << out;
  const std::string backup = out.substr(at + marker.size(), out.find('\n', at) - at - marker.size());
  EXPECT_EQ(backup.rfind(old + ".v4-backup-", 0), 0u) << backup;
  EXPECT_NE(out.find(old + ": schema version 4 -> " + latest), std::string::npos) << out;
  ASSERT_TRUE(fs::is_regular_file(backup)) << out;
  EXPECT_EQ(
      test::run_python("import sqlite3\n"
                       "def rows(path, table):\n"
                       "  return sorted(sqlite3.connect(path).execute('SELECT * FROM ' + table).fetchall(), key=repr)\n"
                       "assert rows('" +
                           backup +
                           "', 'schema_version')[-1][0] == 4\n"
                           "assert rows('" +
                           old + "', 'schema_version')[-1][0] == " + latest +
                           "\n"
                           "for t in ['runs', 'tasks', 'attempts', 'results', 'metrics']:\n"
                           "  assert rows('" +
                           backup + "', t) == rows('" + old +
                           "', t), t\n"
                           "  assert rows('" +
                           backup + "', t) == rows('" + db() + "', t), t\n",
                       old_dir.path()),
      0);
  // Up to date now: said so, no second backup.
  ASSERT_EQ(repro_cli("db migrate --db " + old, &out), 0) << out;
  EXPECT_NE(out.find("is up to date; nothing to do, no backup written"), std::string::npos) << out;
  int backups = 0;
  for (const auto& e : fs::directory_iterator(old_dir.path()))
    backups += e.path().filename().string().find("-backup-") != std::string::npos;
  EXPECT_EQ(backups, 1);
}

}  // namespace

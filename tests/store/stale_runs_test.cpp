// Stale runs (docs/database.md): set_current_expansion replaces an experiment's list of current
// run ids; every read for status and reports flags the linked runs that the list leaves out; an
// experiment without a list, and every run of a store older than schema version 5, is current.
#include <gtest/gtest.h>

#include <SQLiteCpp/Statement.h>

#include <map>
#include <set>

#include "store/queries.h"
#include "store/records.h"
#include "store/report_queries.h"
#include "store/schema.h"
#include "tests/store/store_fixture.h"

namespace repro::test {
namespace {

using runner::Store;

std::set<std::string> current_rows(Store& store, const std::string& experiment) {
  SQLite::Statement q(store.db(), "SELECT run_id FROM current_expansion WHERE experiment = ?1");
  q.bind(1, experiment);
  std::set<std::string> ids;
  while (q.executeStep()) ids.insert(q.getColumn(0).getString());
  return ids;
}

// Run id -> stale, as each read reports it; all four reads must agree.
std::map<std::string, bool> stale_by_run(Store& store, const std::string& experiment) {
  std::map<std::string, bool> from_runs, from_status, from_report, from_results;
  for (const auto& r : runner::runs_of_experiment(store, experiment)) from_runs[r.run_id] = r.stale;
  for (const auto& s : runner::status_of_experiment(store, experiment)) from_status[s.run.run_id] = s.run.stale;
  for (const auto& r : runner::report_runs(store, experiment)) from_report[r.run_id] = r.stale;
  for (const auto& r : runner::results_of_experiment(store, experiment)) from_results[r.run_id] = r.stale;
  EXPECT_EQ(from_runs, from_status);
  EXPECT_EQ(from_runs, from_report);
  for (const auto& [run, stale] : from_results) EXPECT_EQ(stale, from_runs.at(run)) << run;
  return from_runs;
}

// Run `run_id` of `experiment` with train task and one fid result of value `fid`.
void put_evaluated_run(Store& store, const std::string& run_id, double fid, const std::string& experiment = "exp") {
  put_train_task(store, run_id, run_id + "-train", 0, experiment);
  runner::put_result(store, {run_id + "-r", run_id, run_id + "-train", "fid", fid, "{}"});
}

TEST(StaleRuns, SetCurrentExpansionReplacesOnlyThatExperimentsList) {
  TempDir dir;
  Store store(dir.file("repro.db"));
  put_train_task(store, "a", "a-train", 0, "exp");
  put_train_task(store, "b", "b-train", 0, "other");
  runner::set_current_expansion(store, "exp", {"a", "later", "a"});  // "later": not put yet (--only)
  runner::set_current_expansion(store, "other", {"b"});
  EXPECT_EQ(current_rows(store, "exp"), (std::set<std::string>{"a", "later"}));
  runner::set_current_expansion(store, "exp", {"c"});
  EXPECT_EQ(current_rows(store, "exp"), (std::set<std::string>{"c"}));
  EXPECT_EQ(current_rows(store, "other"), (std::set<std::string>{"b"}));
  runner::set_current_expansion(store, "exp", {});
  EXPECT_TRUE(current_rows(store, "exp").empty());
  // The experiment must exist (foreign key).
  EXPECT_THROW(runner::set_current_expansion(store, "nope", {"a"}), SQLite::Exception);
  EXPECT_TRUE(current_rows(store, "nope").empty());
}

TEST(StaleRuns, RunsLeftOutOfTheCurrentExpansionAreStaleInEveryRead) {
  TempDir dir;
  Store store(dir.file("repro.db"));
  // First expansion: lr 10 gave run r10; the file changed, the second gave r20 at the same cell.
  put_evaluated_run(store, "r10", 10);
  runner::set_current_expansion(store, "exp", {"r10"});
  put_evaluated_run(store, "r20", 20);
  runner::set_current_expansion(store, "exp", {"r20"});
  EXPECT_EQ(stale_by_run(store, "exp"), (std::map<std::string, bool>{{"r10", true}, {"r20", false}}));
  ASSERT_EQ(runner::results_of_experiment(store, "exp").size(), 2u);

  // The same run linked to another experiment whose expansion lists it is current there.
  put_evaluated_run(store, "r10", 10, "other");
  runner::set_current_expansion(store, "other", {"r10"});
  EXPECT_EQ(stale_by_run(store, "other"), (std::map<std::string, bool>{{"r10", false}}));
  EXPECT_TRUE(stale_by_run(store, "exp").at("r10"));

  // Back to the first config: r10 is current again, r20 stale.
  runner::set_current_expansion(store, "exp", {"r10"});
  EXPECT_EQ(stale_by_run(store, "exp"), (std::map<std::string, bool>{{"r10", false}, {"r20", true}}));
}

TEST(StaleRuns, AnExperimentWithoutAListHasEveryRunCurrent) {
  TempDir dir;
  Store store(dir.file("repro.db"));
  put_evaluated_run(store, "r1", 1);
  put_evaluated_run(store, "r2", 2);
  EXPECT_EQ(stale_by_run(store, "exp"), (std::map<std::string, bool>{{"r1", false}, {"r2", false}}));
}

TEST(StaleRuns, MigrationToVersion5MakesEveryLinkedRunCurrent) {
  TempDir dir;
  const std::string path = dir.file("old.db");
  const auto& all = runner::schema_migrations();
  {
    Store old(path, {}, {all.begin(), all.begin() + 4});
    ASSERT_EQ(old.schema_version(), 4);
    put_evaluated_run(old, "r1", 1);
    put_evaluated_run(old, "r2", 2);
  }
  Store store(path);
  ASSERT_GE(store.schema_version(), 5);
  EXPECT_EQ(current_rows(store, "exp"), (std::set<std::string>{"r1", "r2"}));
  put_evaluated_run(store, "r3", 3);
  runner::set_current_expansion(store, "exp", {"r3"});
  EXPECT_EQ(stale_by_run(store, "exp"), (std::map<std::string, bool>{{"r1", true}, {"r2", true}, {"r3", false}}));
}

TEST(StaleRuns, AStoreOlderThanVersion5HasEveryRunCurrent) {
  TempDir dir;
  const std::string path = dir.file("old.db");
  const auto& all = runner::schema_migrations();
  // Opened at version 4 without migrating further (as a read-only open of an old file would).
  Store old(path, {}, {all.begin(), all.begin() + 4});
  ASSERT_EQ(old.schema_version(), 4);
  ASSERT_FALSE(old.db().tableExists("current_expansion"));
  put_evaluated_run(old, "r1", 1);
  put_evaluated_run(old, "r2", 2);
  EXPECT_EQ(stale_by_run(old, "exp"), (std::map<std::string, bool>{{"r1", false}, {"r2", false}}));
  EXPECT_EQ(runner::results_of_experiment(old, "exp").size(), 2u);
}

TEST(StaleRuns, ReportRunsCarryTheConfigAndWhenTheRunWasPut) {
  TempDir dir;
  FakeClock clock;
  Store store(dir.file("repro.db"), options_with(&clock));
  put_train_task(store, "r1", "r1-train");
  clock.now += 60;
  put_train_task(store, "r2", "r2-train", 1);
  const auto runs = runner::report_runs(store, "exp");
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].config, R"({"lr":0.0001})");  // as store_fixture.h puts it
  EXPECT_EQ(runs[0].created, 1.7e9);
  EXPECT_EQ(runs[1].created, 1.7e9 + 60);
}

}  // namespace
}  // namespace repro::test

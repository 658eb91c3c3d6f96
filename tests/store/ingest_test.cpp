// Ingest of events.jsonl: what lands where, idempotency by (task, seq), the byte offset, lines
// still being written, malformed lines, resumed runs, and crashes mid-ingest.
#include "store/ingest.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include "base/util/errors.h"
#include "base/util/process.h"
#include "store/queries.h"
#include "tests/store/store_fixture.h"

namespace repro::test {
namespace {

using runner::ingest_events;
using runner::Store;
using runner::TaskState;

class Ingest : public ::testing::Test {
 protected:
  Ingest()
      : store_(std::make_unique<Store>(dir_.file("repro.db"), options_with(&clock_))),
        events_(dir_.file("events.jsonl")) {
    put_train_task(*store_, "run1", "task1");
  }
  Store& store() { return *store_; }
  runner::IngestResult ingest() { return ingest_events(store(), "task1", events_.path()); }
  int64_t metrics() { return count_rows(store(), "SELECT count(*) FROM metrics"); }
  double metric(const std::string& name, int64_t step) {
    SQLite::Statement st(store().db(), "SELECT value FROM metrics WHERE task_id = 'task1' AND name = ?1 AND step = ?2");
    st.bind(1, name);
    st.bind(2, step);
    if (!st.executeStep()) return -1;
    return st.getColumn(0).getDouble();
  }
  std::string state() { return store().db().execAndGet("SELECT state FROM tasks WHERE task_id = 'task1'").getString(); }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Store> store_;
  EventsWriter events_;
};

TEST_F(Ingest, AMissingFileIsNotAnError) {
  const auto r = ingest();
  EXPECT_FALSE(r.file_found);
  EXPECT_EQ(r.lines, 0);
  EXPECT_EQ(count_rows(store(), "SELECT count(*) FROM ingest_progress"), 0);
}

TEST_F(Ingest, PutsLogRecordsInMetricsAndTheRestInTaskEvents) {
  events_.start();
  events_.log(10);
  events_.log(20);
  events_.write({{"type", "checkpoint"}, {"step", 20}, {"files", {{"model000020.pt", std::string(64, 'f')}}}});
  events_.write({{"type", "warning"}, {"message", "corrupt checkpoint skipped"}});
  events_.end("completed", 20);
  const auto r = ingest();
  EXPECT_TRUE(r.file_found);
  EXPECT_EQ(r.lines, 6);
  EXPECT_EQ(r.records, 6);
  EXPECT_EQ(r.malformed, 0);
  EXPECT_FALSE(r.partial_line);
  EXPECT_EQ(r.byte_offset, static_cast<int64_t>(std::filesystem::file_size(events_.path())));
  ASSERT_TRUE(r.state.has_value());
  EXPECT_EQ(*r.state, TaskState::kDone);
  EXPECT_EQ(state(), "done");

  // loss, mse, lr, time per log record: numbers only, and not v/seq/step.
  EXPECT_EQ(r.metric_rows, 8);
  EXPECT_EQ(metrics(), 8);
  EXPECT_DOUBLE_EQ(metric("loss", 20), 0.02);
  EXPECT_DOUBLE_EQ(metric("mse", 10), 0.005);
  EXPECT_DOUBLE_EQ(metric("time", 10), 1.7e9 + 1);
  EXPECT_EQ(count_rows(store(), "SELECT count(*) FROM metrics WHERE name IN ('v', 'seq', 'step', 'note', 'type')"), 0);

  const auto events = runner::events_of_task(store(), "task1");
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].type, "start");
  EXPECT_EQ(events[1].type, "checkpoint");
  EXPECT_EQ(events[1].seq, 3);
  EXPECT_EQ(*events[1].step, 20);
  EXPECT_FALSE(events[2].step.has_value());
  EXPECT_EQ(nlohmann::json::parse(events[2].record)["message"], "corrupt checkpoint skipped");
  EXPECT_EQ(events[3].type, "end");
  EXPECT_DOUBLE_EQ(*events[3].time, 1.7e9 + 5);

  EXPECT_EQ(count_rows(store(),
                       "SELECT count(*) FROM artifacts WHERE task_id = 'task1' AND path = "
                       "'checkpoints/model000020.pt' AND length(sha256) = 64 AND bytes IS NULL"),
            1);
}

TEST_F(Ingest, CheckpointArtifactsGetTheirSizeWhenTheFileIsThere) {
  std::filesystem::create_directories(dir_.path() / "checkpoints");
  std::ofstream(dir_.path() / "checkpoints" / "ema_0.9999_000010.pt") << "12345";
  events_.write({{"type", "checkpoint"}, {"step", 10}, {"files", {{"ema_0.9999_000010.pt", "ab"}}}});
  ingest();
  EXPECT_EQ(store().db().execAndGet("SELECT bytes FROM artifacts").getInt64(), 5);
}

// A sample task's files (npz, grid PNG) become artifacts rows; paths out of the run directory do not.
TEST_F(Ingest, ArtifactRecordsInsideTheRunDirectoryBecomeRows) {
  std::filesystem::create_directories(dir_.path() / "samples");
  std::ofstream(dir_.path() / "samples" / "s1.png") << "1234567";
  events_.write({{"type", "artifact"}, {"path", "samples/s1.png"}, {"sha256", "cd"}});
  events_.write({{"type", "artifact"}, {"path", "samples/s1.npz"}});
  events_.write({{"type", "artifact"}, {"path", "../other/x.png"}});
  events_.write({{"type", "artifact"}, {"path", "samples/../../x.png"}});
  events_.write({{"type", "artifact"}, {"path", "/etc/passwd"}});
  events_.write({{"type", "artifact"}, {"path", 7}});
  ingest();
  EXPECT_EQ(count_rows(store(), "SELECT count(*) FROM artifacts"), 2);
  EXPECT_EQ(count_rows(store(),
                       "SELECT count(*) FROM artifacts WHERE path = 'samples/s1.png' AND sha256 = 'cd' "
                       "AND bytes = 7"),
            1);
  EXPECT_EQ(count_rows(store(),
                       "SELECT count(*) FROM artifacts WHERE path = 'samples/s1.npz' AND sha256 IS NULL "
                       "AND bytes IS NULL"),
            1);
  EXPECT_EQ(count_rows(store(), "SELECT count(*) FROM task_events WHERE type = 'artifact'"), 6);
}

TEST_F(Ingest, AStartRecordsProvenanceBecomesRowsAndAResumeReplacesThem) {
  events_.write({{"type", "start"}, {"provenance", {{"git_commit", "abc123"}, {"host", "node1"}, {"world_size", 2}}}});
  ingest();
  auto value = [&](const std::string& key) {
    SQLite::Statement st(store().db(),
                         "SELECT run_id || '|' || task_id || '|' || value FROM provenance WHERE key = ?1");
    st.bind(1, key);
    return st.executeStep() ? st.getColumn(0).getString() : std::string("absent");
  };
  EXPECT_EQ(value("git_commit"), "run1|task1|abc123");
  EXPECT_EQ(value("world_size"), "run1|task1|2");  // a number is kept as its JSON text
  // The resumed attempt ran elsewhere: one row per key, holding the latest value.
  events_.write({{"type", "start"}, {"provenance", {{"host", "node2"}}}});
  ingest();
  EXPECT_EQ(value("host"), "run1|task1|node2");
  EXPECT_EQ(count_rows(store(), "SELECT count(*) FROM provenance"), 3);
}

TEST_F(Ingest, TwiceIsTheSameAsOnce) {
  events_.start();
  for (int step = 1; step <= 50; ++step) events_.log(step);
  events_.end("completed", 50);
  const auto first = ingest();
  const auto snapshot = [&] {
    return std::make_tuple(metrics(), count_rows(store(), "SELECT count(*) FROM task_events"),
                           count_rows(store(), "SELECT count(*) FROM artifacts"),
                           store().db().execAndGet("SELECT total(value) FROM metrics").getDouble());
  };
  const auto before = snapshot();
  EXPECT_EQ(std::get<0>(before), 200);
  const auto second = ingest();
  EXPECT_EQ(second.lines, 0);
  EXPECT_EQ(second.records, 0);
  EXPECT_EQ(second.metric_rows, 0);
  EXPECT_FALSE(second.state.has_value());
  EXPECT_EQ(second.byte_offset, first.byte_offset);
  EXPECT_EQ(snapshot(), before);

  // Even a store that lost its offset (ingest_progress deleted) adds nothing: seq decides.
  store().db().exec("DELETE FROM ingest_progress");
  const auto third = ingest();
  EXPECT_EQ(third.lines, 52);
  EXPECT_EQ(third.metric_rows, 0);
  EXPECT_EQ(snapshot(), before);
}

TEST_F(Ingest, AHalfWrittenLastLineWaitsUntilItIsComplete) {
  events_.start();
  events_.log(10);
  const std::string last = events_.line({{"type", "log"}, {"step", 20}, {"loss", 0.5}});
  events_.append(last.substr(0, last.size() / 2));
  const auto first = ingest();
  EXPECT_EQ(first.lines, 2);
  EXPECT_TRUE(first.partial_line);
  EXPECT_EQ(metric("loss", 20), -1);
  EXPECT_EQ(count_rows(store(), "SELECT count(*) FROM ingest_errors"), 0);

  const auto again = ingest();  // still incomplete: nothing new
  EXPECT_EQ(again.lines, 0);
  EXPECT_TRUE(again.partial_line);

  events_.append(last.substr(last.size() / 2));  // the rest, still without its newline
  EXPECT_EQ(ingest().lines, 0);
  EXPECT_EQ(metric("loss", 20), -1);

  events_.append("\n");
  const auto done = ingest();
  EXPECT_EQ(done.lines, 1);
  EXPECT_FALSE(done.partial_line);
  EXPECT_EQ(done.malformed, 0);
  EXPECT_DOUBLE_EQ(metric("loss", 20), 0.5);
  EXPECT_EQ(done.byte_offset, static_cast<int64_t>(std::filesystem::file_size(events_.path())));
}

TEST_F(Ingest, ContinuesFromTheStoredOffsetAfterMoreRecords) {
  events_.start();
  for (int step = 1; step <= 10; ++step) events_.log(step);
  const auto first = ingest();
  EXPECT_EQ(first.lines, 11);
  EXPECT_EQ(state(), "running");
  for (int step = 11; step <= 15; ++step) events_.log(step);
  events_.end("completed", 15);
  const auto second = ingest();
  EXPECT_EQ(second.lines, 6);
  EXPECT_EQ(second.records, 6);
  EXPECT_EQ(second.metric_rows, 5 * 4);
  EXPECT_EQ(metrics(), 15 * 4);
  EXPECT_EQ(state(), "done");
  EXPECT_EQ(store().db().execAndGet("SELECT last_seq FROM ingest_progress").getInt64(), 16);
  EXPECT_EQ(store().db().execAndGet("SELECT lines FROM ingest_progress").getInt64(), 17);
}

TEST_F(Ingest, AResumedRunsRepeatedStepsKeepTheHighestSeq) {
  events_.start();
  for (int step = 1; step <= 4; ++step) events_.log(step);
  ingest();
  // Killed after step 4, resumed from the checkpoint at step 2: steps 3 and 4 are logged again.
  events_.start(2);
  events_.write({{"type", "log"}, {"step", 3}, {"loss", 9.0}});
  events_.write({{"type", "log"}, {"step", 4}, {"loss", 8.0}});
  events_.end("completed", 4);
  const auto r = ingest();
  EXPECT_DOUBLE_EQ(metric("loss", 3), 9.0);
  EXPECT_DOUBLE_EQ(metric("loss", 4), 8.0);
  EXPECT_DOUBLE_EQ(metric("mse", 4), 0.002);  // not logged again: the first value stays
  EXPECT_EQ(r.metric_rows, 4);                // loss and time at steps 3 and 4
  auto latest = runner::latest_metrics(store(), "task1");
  ASSERT_FALSE(latest.empty());
  EXPECT_EQ(latest[0].name, "loss");
  EXPECT_EQ(latest[0].step, 4);
  EXPECT_DOUBLE_EQ(latest[0].value, 8.0);
}

TEST_F(Ingest, TaskStateFollowsEndAndDivergedRecords) {
  const auto end_state = [&](const std::string& status) {
    store().db().exec("DELETE FROM ingest_progress");
    std::filesystem::remove(events_.path());
    events_ = EventsWriter(events_.path());
    events_.start();
    events_.end(status, 1);
    ingest();
    return state();
  };
  EXPECT_EQ(end_state("completed"), "done");
  EXPECT_EQ(end_state("interrupted"), "cancelled");
  EXPECT_EQ(end_state("error"), "failed");
  EXPECT_EQ(end_state("diverged"), "failed");

  store().db().exec("DELETE FROM ingest_progress; UPDATE tasks SET state = 'running'");
  std::filesystem::remove(events_.path());
  events_ = EventsWriter(events_.path());
  events_.write({{"type", "diverged"}, {"step", 7}, {"loss", nullptr}, {"grad_norm", nullptr}});
  const auto r = ingest();
  EXPECT_EQ(state(), "failed");
  ASSERT_TRUE(r.state.has_value());
  EXPECT_EQ(*r.state, TaskState::kFailed);
}

TEST_F(Ingest, MalformedLinesAreSkippedAndRecordedWithFileAndLine) {
  events_.start();
  events_.append("{\"type\": \"log\", \"step\": 1, \"loss\": \n");  // line 2: broken JSON
  events_.append("[1, 2, 3]\n");                                    // line 3: not an object
  events_.append("{\"type\": \"log\"}\n");                          // line 4: no seq
  events_.write({{"type", "log"}, {"loss", 1.0}});                  // line 5: log without step
  events_.log(2);                                                   // line 6: fine
  const auto r = ingest();
  EXPECT_EQ(r.lines, 6);
  EXPECT_EQ(r.malformed, 4);
  EXPECT_EQ(r.records, 2);
  EXPECT_DOUBLE_EQ(metric("loss", 2), 0.002);
  const auto errors = runner::ingest_errors_of_task(store(), "task1");
  ASSERT_EQ(errors.size(), 4u);
  EXPECT_EQ(errors[0].rfind(events_.path() + ":2: not JSON", 0), 0u) << errors[0];
  EXPECT_EQ(errors[1], events_.path() + ":3: not a JSON object");
  EXPECT_EQ(errors[2], events_.path() + ":4: no integer \"seq\"");
  EXPECT_EQ(errors[3], events_.path() + ":5: a log record without an integer \"step\"");
  EXPECT_EQ(ingest().malformed, 0);  // skipped once, not again
}

TEST_F(Ingest, AFileThatShrankIsReadAgainFromTheStart) {
  events_.start();
  events_.log(1);
  events_.log(2);
  ingest();
  std::filesystem::remove(events_.path());
  events_ = EventsWriter(events_.path());
  events_.start();
  const auto r = ingest();
  EXPECT_EQ(r.lines, 1);
  EXPECT_EQ(r.malformed, 1);
  const auto errors = runner::ingest_errors_of_task(store(), "task1");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find(":0: the file shrank"), std::string::npos) << errors[0];
  EXPECT_EQ(metrics(), 2 * 4);  // nothing lost, nothing doubled
}

TEST_F(Ingest, AnUnknownTaskIsAClearError) {
  events_.start();
  const std::string message = error_message([&] { ingest_events(store(), "nope", events_.path()); });
  EXPECT_NE(message.find("no task 'nope'"), std::string::npos) << message;
  EXPECT_NE(message.find(events_.path()), std::string::npos) << message;
}

TEST_F(Ingest, AnExceptionMidIngestKeepsNothingAndTheNextCallGetsEverythingOnce) {
  events_.start();
  for (int step = 1; step <= 20; ++step) events_.log(step);
  events_.end("completed", 20);
  runner::IngestOptions crash;
  crash.before_record = [](int64_t line) {
    if (line == 12) throw std::runtime_error("simulated crash");
  };
  EXPECT_THROW(ingest_events(store(), "task1", events_.path(), crash), std::runtime_error);
  EXPECT_EQ(metrics(), 0);
  EXPECT_EQ(count_rows(store(), "SELECT count(*) FROM task_events"), 0);
  EXPECT_EQ(count_rows(store(), "SELECT count(*) FROM ingest_progress"), 0);
  EXPECT_EQ(state(), "pending");
  const auto r = ingest();
  EXPECT_EQ(r.lines, 22);
  EXPECT_EQ(metrics(), 80);
  EXPECT_EQ(state(), "done");
}

TEST_F(Ingest, AProcessKilledMidIngestLosesNothingAndDuplicatesNothing) {
  for (int step = 1; step <= 200; ++step) events_.log(step);
  store_.reset();  // no connection crosses the fork
  const ExitStatus end = run_in_child(
      [this] {
        Store store(dir_.file("repro.db"));
        runner::IngestOptions die;
        die.before_record = [](int64_t line) {
          if (line == 150) _exit(42);  // as kill -9 would: no rollback, no destructors
        };
        ingest_events(store, "task1", events_.path(), die);
        return 0;
      },
      "ingest");
  ASSERT_EQ(end.exit_code, 42);

  store_ = std::make_unique<Store>(dir_.file("repro.db"));
  EXPECT_EQ(metrics(), 0);
  const auto r = ingest();
  EXPECT_EQ(r.lines, 200);
  EXPECT_EQ(metrics(), 800);
  EXPECT_EQ(ingest().lines, 0);
  EXPECT_EQ(metrics(), 800);
}

// Hostile events files: every bad line is a skipped line with a reason, never a crash,
// an exception or unbounded memory.

TEST_F(Ingest, ALineLongerThanOneMebibyteIsSkippedWithItsLength) {
  events_.start();
  const std::string huge = "{\"seq\": 99, \"type\": \"warning\", \"message\": \"" + std::string(3 << 20, 'x') + "\"}";
  events_.append(huge + "\n");
  events_.log(5);
  const auto r = ingest();
  EXPECT_EQ(r.lines, 3);
  EXPECT_EQ(r.malformed, 1);
  EXPECT_FALSE(r.partial_line);
  EXPECT_EQ(r.byte_offset, static_cast<int64_t>(std::filesystem::file_size(events_.path())));
  EXPECT_DOUBLE_EQ(metric("loss", 5), 0.005);  // the line after it is read
  const auto errors = runner::ingest_errors_of_task(store(), "task1");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], events_.path() + ":2: a line of " + std::to_string(huge.size()) +
                           " bytes, longer than the limit of 1048576: skipped");
}

TEST_F(Ingest, ALongLineStillBeingWrittenWaitsForItsNewline) {
  events_.start();
  const auto start_of_long_line = static_cast<int64_t>(std::filesystem::file_size(events_.path()));
  events_.append(std::string(2 << 20, 'x'));  // no newline yet
  const auto first = ingest();
  EXPECT_TRUE(first.partial_line);
  EXPECT_EQ(first.malformed, 0);
  EXPECT_EQ(first.byte_offset, start_of_long_line);
  events_.append("\n");
  events_.log(7);
  const auto second = ingest();
  EXPECT_EQ(second.lines, 2);
  EXPECT_EQ(second.malformed, 1);
  EXPECT_FALSE(second.partial_line);
  EXPECT_DOUBLE_EQ(metric("loss", 7), 0.007);
}

TEST_F(Ingest, DeeplyNestedJsonIsSkippedBeforeItIsParsed) {
  events_.append("{\"seq\": 0, \"type\": \"x\", \"deep\": " + std::string(100000, '[') + std::string(100000, ']') +
                 "}\n");
  events_.append("{\"seq\": 1, \"type\": \"x\", \"text\": \"" + std::string(500, '[') + "\"}\n");  // in a string: fine
  const auto r = ingest();
  EXPECT_EQ(r.malformed, 1);
  EXPECT_EQ(r.records, 1);
  const auto errors = runner::ingest_errors_of_task(store(), "task1");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], events_.path() + ":1: nested deeper than 100 levels (REPRO_MAX_NESTING raises it)");
}

TEST_F(Ingest, WrongTypesAndNumbersOutOfRangeAreSkippedLines) {
  events_.append("{\"seq\": 18446744073709551615, \"type\": \"start\", \"step\": 0}\n");  // above int64
  events_.append("{\"seq\": 1, \"type\": \"log\", \"step\": 1, \"loss\": 1e400}\n");      // overflows double
  events_.append("{\"seq\": 2, \"type\": \"log\", \"step\": 18446744073709551615, \"loss\": 1}\n");
  events_.append("{\"seq\": 3, \"type\": \"end\", \"status\": 5}\n");  // a status that is not a string
  const auto r = ingest();
  EXPECT_EQ(r.lines, 4);
  EXPECT_EQ(r.malformed, 3);
  EXPECT_EQ(metrics(), 0);
  EXPECT_EQ(state(), "failed");  // an end whose status this code cannot read
  const auto errors = runner::ingest_errors_of_task(store(), "task1");
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0], events_.path() + ":1: \"seq\" is past the 64-bit range");
  EXPECT_EQ(errors[1].rfind(events_.path() + ":2: not JSON", 0), 0u) << errors[1];
  EXPECT_EQ(errors[2], events_.path() + ":3: a log record without an integer \"step\"");
}

TEST_F(Ingest, InvalidUtf8IsASkippedLineWhoseMessageIsPlainAscii) {
  events_.append("{\"seq\": 0, \"type\": \"warning\", \"message\": \"\xff\xfe\xc3\"}\n");
  events_.append(std::string("\x00\x01\x80garbage", 10) + "\n");
  const auto r = ingest();
  EXPECT_EQ(r.malformed, 2);
  for (const auto& e : runner::ingest_errors_of_task(store(), "task1")) {
    EXPECT_NE(e.find("not JSON"), std::string::npos) << e;
    for (const unsigned char c : e) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << e;
    EXPECT_LT(e.size(), 500u + events_.path().size());
  }
}

}  // namespace
}  // namespace repro::test

#include "runner/store/ingest.h"

#include <SQLiteCpp/Statement.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string_view>

#include "core/util/errors.h"
#include "runner/store/transaction.h"

namespace repro::runner {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string read_range(const std::string& path, int64_t offset, int64_t size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot read " + path);
  std::string text(static_cast<size_t>(size - offset), '\0');
  in.seekg(offset);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  // The writer may have truncated the file between the size and the read: keep what was read.
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

// The task state a record implies, if any.
std::optional<TaskState> state_from_record(const std::string& type, const json& record) {
  if (type == "start") return TaskState::kRunning;
  if (type == "diverged") return TaskState::kFailed;
  if (type == "end") {
    const std::string status = record.value("status", std::string());
    if (status == "completed") return TaskState::kDone;
    if (status == "interrupted") return TaskState::kCancelled;
    return TaskState::kFailed;  // diverged, error, or a status this code does not know
  }
  return std::nullopt;
}

class Ingester {
 public:
  Ingester(Store& store, const std::string& task_id, const std::string& path)
      : store_(store),
        task_id_(task_id),
        path_(path),
        run_dir_(fs::path(path).parent_path()),
        metric_(store.db(),
                "INSERT INTO metrics (task_id, name, step, value, seq) VALUES (?1, ?2, ?3, ?4, ?5) "
                "ON CONFLICT (task_id, name, step) DO UPDATE SET value = excluded.value, seq = excluded.seq "
                "WHERE excluded.seq > metrics.seq"),
        event_(store.db(),
               "INSERT OR IGNORE INTO task_events (task_id, seq, type, step, time, record) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
        artifact_(store.db(),
                  "INSERT OR REPLACE INTO artifacts (task_id, path, sha256, bytes, created) VALUES (?1, ?2, ?3, ?4, ?5)"),
        result_(store.db(),
                "INSERT OR REPLACE INTO results (result_id, run_id, task_id, metric, value, recipe, created) "
                "SELECT ?1, run_id, task_id, ?2, ?3, ?4, ?5 FROM tasks WHERE task_id = ?6"),
        provenance_(store.db(),
                    "INSERT INTO provenance (run_id, task_id, key, value, recorded) "
                    "SELECT run_id, task_id, ?2, ?3, ?4 FROM tasks WHERE task_id = ?1 "
                    "ON CONFLICT (run_id, ifnull(task_id, ''), key) DO UPDATE SET value = excluded.value, "
                    "recorded = excluded.recorded"),
        error_(store.db(),
               "INSERT OR REPLACE INTO ingest_errors (task_id, file, line, message, created) VALUES (?1, ?2, ?3, ?4, ?5)") {
    metric_.bindNoCopy(1, task_id_);
    event_.bindNoCopy(1, task_id_);
    artifact_.bindNoCopy(1, task_id_);
    provenance_.bindNoCopy(1, task_id_);
    error_.bindNoCopy(1, task_id_);
    error_.bindNoCopy(2, path_);
    now_ = store.now();
  }

  // Consumes one complete line (without its newline), the `line_number`-th of the file.
  void line(std::string_view text, int64_t line_number, int64_t previous_last_seq, IngestResult& result,
            int64_t& last_seq, const IngestOptions& options) {
    if (text.empty()) return;
    json record;
    try {
      record = json::parse(text.begin(), text.end());
    } catch (const json::parse_error& e) {
      malformed(line_number, std::string("not JSON: ") + e.what(), result);
      return;
    }
    if (!record.is_object()) return malformed(line_number, "not a JSON object", result);
    const auto seq_it = record.find("seq");
    if (seq_it == record.end() || !seq_it->is_number_integer()) {
      return malformed(line_number, "no integer \"seq\"", result);
    }
    const auto type_it = record.find("type");
    if (type_it == record.end() || !type_it->is_string()) {
      return malformed(line_number, "no string \"type\"", result);
    }
    const int64_t seq = seq_it->get<int64_t>();
    const std::string type = type_it->get<std::string>();
    const auto step_it = record.find("step");
    const bool has_step = step_it != record.end() && step_it->is_number_integer();
    if (type == "log" && !has_step) return malformed(line_number, "a log record without an integer \"step\"", result);

    if (options.before_record) options.before_record(line_number);
    if (seq > previous_last_seq) ++result.records;
    last_seq = std::max(last_seq, seq);

    if (type == "log") {
      const int64_t step = step_it->get<int64_t>();
      for (const auto& [key, value] : record.items()) {
        if (!value.is_number() || key == "v" || key == "seq" || key == "step") continue;
        metric_.bind(2, key);
        metric_.bind(3, step);
        metric_.bind(4, value.get<double>());
        metric_.bind(5, seq);
        result.metric_rows += metric_.exec();
        metric_.reset();
      }
      return;
    }

    event_.bind(2, seq);
    event_.bind(3, type);
    if (has_step) {
      event_.bind(4, step_it->get<int64_t>());
    } else {
      event_.bind(4);
    }
    const auto time_it = record.find("time");
    if (time_it != record.end() && time_it->is_number()) {
      event_.bind(5, time_it->get<double>());
    } else {
      event_.bind(5);
    }
    event_.bind(6, std::string(text));
    event_.exec();
    event_.reset();

    if (type == "checkpoint") checkpoint_artifacts(record);
    if (type == "result") results(record, line_number, result);
    if (type == "start") provenance(record);
    if (auto state = state_from_record(type, record)) state_ = state;
  }

  std::optional<TaskState> state() const { return state_; }

  // An eval task's numbers: {"type": "result", "result_id", "metrics": {name: value}, "recipe"}.
  void results(const json& record, int64_t line_number, IngestResult& result) {
    const auto metrics = record.find("metrics");
    if (!record.contains("result_id") || !record["result_id"].is_string() || metrics == record.end() ||
        !metrics->is_object())
      return malformed(line_number, "a result record needs a string \"result_id\" and an object \"metrics\"", result);
    for (const auto& [name, value] : metrics->items()) {
      if (!value.is_number()) continue;
      result_.bind(1, record["result_id"].get<std::string>());
      result_.bind(2, name);
      result_.bind(3, value.get<double>());
      result_.bind(4, record.value("recipe", json::object()).dump());
      result_.bind(5, now_);
      result_.bind(6, task_id_);
      result_.exec();
      result_.reset();
    }
  }

  // A start record's `provenance` object (docs/events.md): one row per key for this task; a
  // resumed attempt's start replaces the values (a task may move to another machine).
  void provenance(const json& record) {
    const auto p = record.find("provenance");
    if (p == record.end() || !p->is_object()) return;
    for (const auto& [key, value] : p->items()) {
      provenance_.bind(2, key);
      provenance_.bind(3, value.is_string() ? value.get<std::string>() : value.dump());
      provenance_.bind(4, now_);
      provenance_.exec();
      provenance_.reset();
    }
  }

  void malformed(int64_t line_number, const std::string& what, IngestResult& result) {
    ++result.malformed;
    error_.bind(3, line_number);
    error_.bind(4, path_ + ":" + std::to_string(line_number) + ": " + what);
    error_.bind(5, now_);
    error_.exec();
    error_.reset();
  }

 private:
  void checkpoint_artifacts(const json& record) {
    const auto files = record.find("files");
    if (files == record.end() || !files->is_object()) return;
    for (const auto& [name, sha] : files->items()) {
      const std::string relative = "checkpoints/" + name;
      std::error_code ec;
      const auto bytes = fs::file_size(run_dir_ / relative, ec);
      artifact_.bind(2, relative);
      if (sha.is_string()) {
        artifact_.bind(3, sha.get<std::string>());
      } else {
        artifact_.bind(3);
      }
      if (ec) {
        artifact_.bind(4);
      } else {
        artifact_.bind(4, static_cast<int64_t>(bytes));
      }
      artifact_.bind(5, now_);
      artifact_.exec();
      artifact_.reset();
    }
  }

  Store& store_;
  std::string task_id_;
  std::string path_;
  fs::path run_dir_;
  SQLite::Statement metric_;
  SQLite::Statement event_;
  SQLite::Statement artifact_;
  SQLite::Statement result_;
  SQLite::Statement provenance_;
  SQLite::Statement error_;
  double now_ = 0;
  std::optional<TaskState> state_;
};

}  // namespace

IngestResult ingest_events(Store& store, const std::string& task_id, const std::string& events_path,
                           const IngestOptions& options) {
  IngestResult result;
  WriteTransaction tx(store);
  SQLite::Database& db = store.db();

  SQLite::Statement task(db, "SELECT state FROM tasks WHERE task_id = ?1");
  task.bind(1, task_id);
  if (!task.executeStep()) throw IoError("cannot ingest " + events_path + ": no task '" + task_id + "' in " + store.path());
  const std::string old_state = task.getColumn(0).getString();
  task.reset();

  int64_t offset = 0;
  int64_t lines = 0;
  int64_t last_seq = -1;
  SQLite::Statement progress(db,
                             "SELECT byte_offset, lines, last_seq FROM ingest_progress WHERE task_id = ?1 AND file = ?2");
  progress.bind(1, task_id);
  progress.bind(2, events_path);
  if (progress.executeStep()) {
    offset = progress.getColumn(0).getInt64();
    lines = progress.getColumn(1).getInt64();
    last_seq = progress.getColumn(2).getInt64();
  }
  progress.reset();

  std::error_code ec;
  const auto size_or_error = fs::file_size(events_path, ec);
  if (ec) {
    if (!fs::exists(events_path)) {
      result.byte_offset = offset;
      return result;  // the task has not written anything yet
    }
    throw IoError("cannot read " + events_path + ": " + ec.message());
  }
  result.file_found = true;
  const auto size = static_cast<int64_t>(size_or_error);

  Ingester ingester(store, task_id, events_path);
  if (size < offset) {
    ingester.malformed(0,
                       "the file shrank from " + std::to_string(offset) + " to " + std::to_string(size) +
                           " bytes (replaced?): read again from the start",
                       result);
    offset = 0;
    lines = 0;
  }
  const std::string text = size > offset ? read_range(events_path, offset, size) : std::string();

  const int64_t previous_last_seq = last_seq;
  size_t begin = 0;
  while (begin < text.size()) {
    const size_t end = text.find('\n', begin);
    if (end == std::string::npos) {
      result.partial_line = true;
      break;
    }
    ++lines;
    ++result.lines;
    ingester.line(std::string_view(text).substr(begin, end - begin), lines, previous_last_seq, result, last_seq,
                  options);
    begin = end + 1;
  }
  offset += static_cast<int64_t>(begin);
  result.byte_offset = offset;

  SQLite::Statement save(db,
                         "INSERT OR REPLACE INTO ingest_progress (task_id, file, byte_offset, lines, last_seq, updated) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  save.bind(1, task_id);
  save.bind(2, events_path);
  save.bind(3, offset);
  save.bind(4, lines);
  save.bind(5, last_seq);
  save.bind(6, store.now());
  save.exec();

  if (auto state = ingester.state(); state && to_string(*state) != old_state) {
    SQLite::Statement update(db, "UPDATE tasks SET state = ?1, updated = ?2 WHERE task_id = ?3");
    update.bind(1, to_string(*state));
    update.bind(2, store.now());
    update.bind(3, task_id);
    update.exec();
    result.state = state;
  }
  tx.commit();
  return result;
}

}  // namespace repro::runner

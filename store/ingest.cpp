#include "store/ingest.h"

#include <SQLiteCpp/Statement.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string_view>

#include "base/util/errors.h"
#include "base/util/limits.h"
#include "store/transaction.h"

namespace repro::runner {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The longest events line ingest reads. The trainer's longest record (a checkpoint's) is under
// 2 KB; a longer line is skipped, unread, with an ingest_errors row, so a hostile file costs at
// most this much memory per line.
constexpr int64_t kMaxLineBytes = 1 << 20;
// How much one read takes: ingest reads a file of any size in about kMaxLineBytes + this.
constexpr int64_t kReadBlock = 1 << 20;

// The complete lines of [offset, end) of a file, one at a time, in bounded memory.
class LineReader {
 public:
  struct Line {
    std::string_view text;  // without its newline; empty when too_long
    int64_t bytes = 0;      // its length
    bool too_long = false;  // longer than kMaxLineBytes: skipped, not kept
  };

  LineReader(const std::string& path, int64_t offset, int64_t end)
      : in_(path, std::ios::binary), read_at_(offset), end_(end), consumed_(offset) {
    if (!in_) throw IoError("cannot read " + path);
    in_.seekg(offset);
  }

  // The next complete line; false at the end, where partial() says whether a line without its
  // newline (a write in progress) was left for the next call.
  bool next(Line& line) {
    buffer_.erase(0, start_);
    start_ = 0;
    size_t scanned = 0;
    while (true) {
      const size_t newline = buffer_.find('\n', scanned);
      if (newline != std::string::npos) {
        const bool too_long = static_cast<int64_t>(newline) > kMaxLineBytes;
        line = {too_long ? std::string_view() : std::string_view(buffer_).substr(0, newline),
                static_cast<int64_t>(newline), too_long};
        return take(newline + 1);
      }
      if (static_cast<int64_t>(buffer_.size()) > kMaxLineBytes) return skip_long_line(line);
      scanned = buffer_.size();
      if (!read_block()) return false;
    }
  }

  bool partial() const { return consumed_ < end_; }
  int64_t consumed() const { return consumed_; }

 private:
  // The first `bytes` of buffer_ (a line and its newline) are consumed.
  bool take(size_t bytes) {
    start_ = bytes;
    consumed_ += static_cast<int64_t>(bytes);
    return true;
  }

  // Appends up to kReadBlock more bytes of the range; false when there are none (the end, or a
  // file truncated under us).
  bool read_block() {
    const int64_t want = std::min(kReadBlock, end_ - read_at_);
    if (want <= 0) return false;
    const size_t old = buffer_.size();
    buffer_.resize(old + static_cast<size_t>(want));
    in_.read(buffer_.data() + old, want);
    const auto got = std::max<std::streamsize>(in_.gcount(), 0);
    buffer_.resize(old + static_cast<size_t>(got));
    read_at_ += got;
    return got > 0;
  }

  // The line in buffer_ has no newline within kMaxLineBytes: looks for its end block by block,
  // keeping only what follows it.
  bool skip_long_line(Line& line) {
    int64_t bytes = static_cast<int64_t>(buffer_.size());
    buffer_.clear();
    while (read_block()) {
      const size_t newline = buffer_.find('\n');
      if (newline != std::string::npos) {
        bytes += static_cast<int64_t>(newline);
        line = {std::string_view(), bytes, true};
        consumed_ += bytes - static_cast<int64_t>(newline);  // the part before this block
        return take(newline + 1);
      }
      bytes += static_cast<int64_t>(buffer_.size());
      buffer_.clear();
    }
    return false;  // still being written: left for the next call, from its start
  }

  std::ifstream in_;
  int64_t read_at_;     // file offset of the next read
  int64_t end_;         // file offset where the range ends
  int64_t consumed_;    // file offset after the last complete line returned
  std::string buffer_;  // bytes read, from the start of the line returned last
  size_t start_ = 0;    // buffer_[0, start_) is the line returned last, with its newline
};

// How deep `text`'s arrays and objects nest, counted up to `limit + 1` (brackets in strings do
// not count). Checked before parsing: nlohmann's parser is iterative, but dump() and the
// destructor of what it builds recurse once per level.
int json_depth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

// `text` fit for a message that later readers print and dump as JSON: bytes outside printable
// ASCII as \xNN (a parse error quotes the bad bytes, which may not be UTF-8), at most 300 bytes.
std::string printable(const std::string& text) {
  std::string out;
  for (const unsigned char c : text) {
    if (out.size() >= 300) return out + "...";
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", c);
      out += hex;
    }
  }
  return out;
}

// An integer that fits int64 (nlohmann keeps integers above INT64_MAX as unsigned).
bool is_int64(const json& value) {
  return value.is_number_integer() &&
         (!value.is_number_unsigned() || value.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX));
}

// What every record has: a sequence number and a type; a step where it has an integer one.
struct RecordHead {
  int64_t seq = 0;
  std::string type;
  std::optional<int64_t> step;
};

// The task state a record implies, if any.
std::optional<TaskState> state_from_record(const std::string& type, const json& record) {
  if (type == "start") return TaskState::kRunning;
  if (type == "diverged") return TaskState::kFailed;
  if (type == "end") {
    const auto it = record.find("status");
    const std::string status = it != record.end() && it->is_string() ? it->get<std::string>() : "";
    if (status == "completed") return TaskState::kDone;
    if (status == "interrupted") return TaskState::kCancelled;
    return TaskState::kFailed;  // diverged, error, or a status this code does not know
  }
  return std::nullopt;
}

class Ingester {
 public:
  Ingester(Store& store, const std::string& task_id, const std::string& path)
      : task_id_(task_id),
        path_(path),
        run_dir_(fs::path(path).parent_path()),
        metric_(store.db(),
                "INSERT INTO metrics (task_id, name, step, value, seq) VALUES (?1, ?2, ?3, ?4, ?5) "
                "ON CONFLICT (task_id, name, step) DO UPDATE SET value = excluded.value, seq = excluded.seq "
                "WHERE excluded.seq > metrics.seq"),
        event_(store.db(),
               "INSERT OR IGNORE INTO task_events (task_id, seq, type, step, time, record) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
        artifact_(
            store.db(),
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
               "INSERT OR REPLACE INTO ingest_errors (task_id, file, line, message, created) VALUES (?1, ?2, ?3, ?4, "
               "?5)") {
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
    const std::optional<json> record = parse_record(text, line_number, result);
    if (!record) return;
    const std::optional<RecordHead> head = record_head(*record, line_number, result);
    if (!head) return;

    if (options.before_record) options.before_record(line_number);
    if (head->seq > previous_last_seq) ++result.records;
    last_seq = std::max(last_seq, head->seq);

    if (head->type == "log") return log_metrics(*record, *head, result);
    task_event(*record, *head, text);
    if (head->type == "checkpoint") checkpoint_artifacts(*record);
    if (head->type == "artifact") file_artifact(*record);
    if (head->type == "result") results(*record, line_number, result);
    if (head->type == "start") provenance(*record);
    if (auto state = state_from_record(head->type, *record)) state_ = state;
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
  // The line as a JSON object; nullopt, with an ingest_errors row, when it is not one.
  std::optional<json> parse_record(std::string_view text, int64_t line_number, IngestResult& result) {
    const int max_depth = resource_limits().max_nesting;
    if (json_depth(text, max_depth) > max_depth) {
      malformed(line_number,
                "nested deeper than " + std::to_string(max_depth) + " levels (REPRO_MAX_NESTING raises it)", result);
      return std::nullopt;
    }
    json record;
    try {
      record = json::parse(text.begin(), text.end());
    } catch (const json::exception& e) {  // parse_error, and out_of_range for a number like 1e400
      malformed(line_number, "not JSON: " + printable(e.what()), result);
      return std::nullopt;
    }
    if (!record.is_object()) {
      malformed(line_number, "not a JSON object", result);
      return std::nullopt;
    }
    return record;
  }

  // The fields every record has (docs/events.md); nullopt, with an ingest_errors row, when one is
  // missing or out of range.
  std::optional<RecordHead> record_head(const json& record, int64_t line_number, IngestResult& result) {
    const auto seq_it = record.find("seq");
    if (seq_it == record.end() || !seq_it->is_number_integer()) {
      malformed(line_number, "no integer \"seq\"", result);
      return std::nullopt;
    }
    if (!is_int64(*seq_it)) {
      malformed(line_number, "\"seq\" is past the 64-bit range", result);
      return std::nullopt;
    }
    const auto type_it = record.find("type");
    if (type_it == record.end() || !type_it->is_string()) {
      malformed(line_number, "no string \"type\"", result);
      return std::nullopt;
    }
    RecordHead head{seq_it->get<int64_t>(), type_it->get<std::string>(), std::nullopt};
    const auto step_it = record.find("step");
    if (step_it != record.end() && is_int64(*step_it)) head.step = step_it->get<int64_t>();
    if (head.type == "log" && !head.step) {
      malformed(line_number, "a log record without an integer \"step\"", result);
      return std::nullopt;
    }
    return head;
  }

  // A log record's numbers, one metrics row each at its step.
  void log_metrics(const json& record, const RecordHead& head, IngestResult& result) {
    for (const auto& [key, value] : record.items()) {
      if (!value.is_number() || key == "v" || key == "seq" || key == "step") continue;
      metric_.bind(2, key);
      metric_.bind(3, *head.step);
      metric_.bind(4, value.get<double>());
      metric_.bind(5, head.seq);
      result.metric_rows += metric_.exec();
      metric_.reset();
    }
  }

  // Every record but a log is kept whole in task_events.
  void task_event(const json& record, const RecordHead& head, std::string_view text) {
    event_.bind(2, head.seq);
    event_.bind(3, head.type);
    if (head.step) {
      event_.bind(4, *head.step);
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
  }

  void checkpoint_artifacts(const json& record) {
    const auto files = record.find("files");
    if (files == record.end() || !files->is_object()) return;
    for (const auto& [name, sha] : files->items()) put_artifact_row("checkpoints/" + name, sha);
  }

  // {"type": "artifact", "path": P, "sha256": H}: a file the task wrote (samples npz, grid PNG),
  // P relative to the run directory. The record is untrusted: a path that is absolute or climbs
  // out with ".." is not recorded (the event stays in task_events).
  void file_artifact(const json& record) {
    const auto path = record.find("path");
    if (path == record.end() || !path->is_string()) return;
    const fs::path relative = fs::path(path->get<std::string>()).lexically_normal();
    if (relative.empty() || relative.is_absolute() || *relative.begin() == "..") return;
    put_artifact_row(relative.generic_string(), record.value("sha256", json()));
  }

  // One artifacts row; its size is read from the file (absent: NULL).
  void put_artifact_row(const std::string& relative, const json& sha) {
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
  if (!task.executeStep())
    throw IoError("cannot ingest " + events_path + ": no task '" + task_id + "' in " + store.path());
  const std::string old_state = task.getColumn(0).getString();
  task.reset();

  int64_t offset = 0;
  int64_t lines = 0;
  int64_t last_seq = -1;
  SQLite::Statement progress(
      db, "SELECT byte_offset, lines, last_seq FROM ingest_progress WHERE task_id = ?1 AND file = ?2");
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
  const int64_t previous_last_seq = last_seq;
  LineReader reader(events_path, offset, size);
  LineReader::Line line;
  while (reader.next(line)) {
    ++lines;
    ++result.lines;
    if (line.too_long) {
      ingester.malformed(lines,
                         "a line of " + std::to_string(line.bytes) + " bytes, longer than the limit of " +
                             std::to_string(kMaxLineBytes) + ": skipped",
                         result);
    } else {
      ingester.line(line.text, lines, previous_last_seq, result, last_seq, options);
    }
  }
  result.partial_line = reader.partial();
  offset = reader.consumed();
  result.byte_offset = offset;

  SQLite::Statement save(
      db,
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

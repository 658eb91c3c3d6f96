#pragma once
// Ingest of a task's events.jsonl (docs/events.md) into the store: idempotent by (task, seq) and
// incremental by byte offset, so the orchestrator can call it at every poll and after any crash.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "store/store.h"
#include "store/task_state.h"

namespace repro::runner {

struct IngestOptions {
  // Test hook, called before each record of this call is written, with its line number in the
  // file (1-based). A hook that throws aborts the ingest as a crash would: nothing of this call is
  // kept. Empty: no hook.
  std::function<void(int64_t line)> before_record;
};

// What one call did.
struct IngestResult {
  bool file_found = false;         // false: no events file yet; nothing was done
  int64_t lines = 0;               // complete lines consumed by this call
  int64_t records = 0;             // records with a seq above every seq seen before in this file
  int64_t metric_rows = 0;         // metrics rows inserted or updated
  int64_t malformed = 0;           // lines skipped and recorded in ingest_errors
  bool partial_line = false;       // the file ends in a line without its newline (left for next time)
  int64_t byte_offset = 0;         // where the next call starts reading
  std::optional<TaskState> state;  // the task's new state, when this call's records changed it
};

// Reads the complete lines of `events_path` past the offset stored for (task_id, file) and, in
// one write transaction that also advances that offset:
//   - `log` records: every numeric key but v, seq and step becomes a metrics row
//     (task_id, key, step, value); for a (task, name, step) logged twice (a resumed run) the
//     record with the higher seq wins;
//   - every other record (start, checkpoint, warning, diverged, end, and types this code does not
//     know) is kept whole in task_events, keyed by (task_id, seq);
//   - `checkpoint` records add artifacts rows (checkpoints/NAME, SHA-256, size when the file is
//     there);
//   - the task's state follows the last start (running), end (completed: done, interrupted:
//     cancelled, diverged or error: failed) or diverged (failed) record of the call.
// So ingesting twice adds nothing, and a crash mid-ingest loses nothing (the transaction rolls
// back and the offset stays where it was).
//
// A line without its trailing newline is a write in progress: it is left for the next call.
// A complete line that is not a JSON object with an integer `seq` and a string `type` (or a `log`
// record without an integer `step`) is skipped, counted in `malformed` and recorded in
// ingest_errors as "FILE:LINE: what is wrong"; ingest goes on, so one bad line cannot stall a
// run's curves. A file shorter than the stored offset (replaced, not appended) is read again from
// the start, with an ingest_errors row at line 0 saying so; seq keeps that idempotent.
//
// Throws IoError when the task is not in the store or the file cannot be read.
IngestResult ingest_events(Store& store, const std::string& task_id, const std::string& events_path,
                           const IngestOptions& options = {});

}  // namespace repro::runner

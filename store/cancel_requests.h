#pragma once
// The cancel_requests table (schema version 4, docs/database.md): how `repro cancel` reaches the
// `repro run` working in a project. `repro cancel` puts one request per run; the orchestrator
// takes the waiting ones once per loop and marks them handled; a request no orchestrator took is
// carried out by `repro cancel` itself, or expired by the next orchestrator to start (a request
// must never cancel a later `repro run`). Policy: runner/orchestrate/cancel.h.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace repro::runner {

// Who carried out a request: `handled_by` in the table.
inline constexpr const char* kHandledByRun = "repro run";        // the orchestrator
inline constexpr const char* kHandledByCancel = "repro cancel";  // repro cancel itself: no orchestrator was alive
inline constexpr const char* kHandledExpired = "expired";        // waiting when an orchestrator started

struct CancelRequest {
  int64_t request_id = 0;
  std::string run_id;
  bool force = false;             // kill instead of a graceful stop
  double requested = 0;           // unix seconds
  std::optional<double> handled;  // empty while waiting
  std::string handled_by;         // kHandledBy...; "" while waiting
  int cancelled_tasks = 0;        // tasks that had not started (pending), now cancelled
  int stopped_tasks = 0;          // running tasks stopped (the orchestrator: asked to stop)
};

// Adds a waiting request for the run; returns its id. Throws SQLite::Exception (foreign key)
// when the run does not exist.
int64_t put_cancel_request(Store& store, const std::string& run_id, bool force);

// The waiting requests (handled is NULL), oldest first. One read of the partial index.
std::vector<CancelRequest> waiting_cancel_requests(Store& store);

// The request, or nullopt when there is none with this id.
std::optional<CancelRequest> cancel_request(Store& store, int64_t request_id);

// Marks a waiting request handled now, with what was done. False when it was already handled
// (someone else took it first): the caller's counts are not recorded.
bool mark_cancel_request(Store& store, int64_t request_id, const std::string& handled_by, int cancelled_tasks,
                         int stopped_tasks);

// Expires every waiting request (handled_by "expired"); returns how many. Called by an
// orchestrator right after it took the project lock: such a request was made for an orchestrator
// that ended before it took it, or by a `repro cancel` that was killed.
int expire_cancel_requests(Store& store);

}  // namespace repro::runner

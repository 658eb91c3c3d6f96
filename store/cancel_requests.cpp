#include "store/cancel_requests.h"

#include <SQLiteCpp/Statement.h>

namespace repro::runner {
namespace {

constexpr const char* kColumns =
    "SELECT request_id, run_id, force, requested, handled, handled_by, cancelled_tasks, stopped_tasks "
    "FROM cancel_requests ";

CancelRequest read_request(SQLite::Statement& st) {
  CancelRequest r;
  r.request_id = st.getColumn(0).getInt64();
  r.run_id = st.getColumn(1).getString();
  r.force = st.getColumn(2).getInt() != 0;
  r.requested = st.getColumn(3).getDouble();
  if (!st.getColumn(4).isNull()) r.handled = st.getColumn(4).getDouble();
  if (!st.getColumn(5).isNull()) r.handled_by = st.getColumn(5).getString();
  r.cancelled_tasks = st.getColumn(6).getInt();
  r.stopped_tasks = st.getColumn(7).getInt();
  return r;
}

}  // namespace

int64_t put_cancel_request(Store& store, const std::string& run_id, bool force) {
  SQLite::Statement st(store.db(), "INSERT INTO cancel_requests (run_id, force, requested) VALUES (?1, ?2, ?3)");
  st.bind(1, run_id);
  st.bind(2, force ? 1 : 0);
  st.bind(3, store.now());
  st.exec();
  return store.db().getLastInsertRowid();
}

std::vector<CancelRequest> waiting_cancel_requests(Store& store) {
  SQLite::Statement st(store.db(), std::string(kColumns) + "WHERE handled IS NULL ORDER BY request_id");
  std::vector<CancelRequest> out;
  while (st.executeStep()) out.push_back(read_request(st));
  return out;
}

std::optional<CancelRequest> cancel_request(Store& store, int64_t request_id) {
  SQLite::Statement st(store.db(), std::string(kColumns) + "WHERE request_id = ?1");
  st.bind(1, request_id);
  if (!st.executeStep()) return std::nullopt;
  return read_request(st);
}

bool mark_cancel_request(Store& store, int64_t request_id, const std::string& handled_by, int cancelled_tasks,
                         int stopped_tasks) {
  SQLite::Statement st(
      store.db(),
      "UPDATE cancel_requests SET handled = ?1, handled_by = ?2, cancelled_tasks = ?3, stopped_tasks = ?4 "
      "WHERE request_id = ?5 AND handled IS NULL");
  st.bind(1, store.now());
  st.bind(2, handled_by);
  st.bind(3, cancelled_tasks);
  st.bind(4, stopped_tasks);
  st.bind(5, request_id);
  return st.exec() > 0;
}

int expire_cancel_requests(Store& store) {
  SQLite::Statement st(store.db(), "UPDATE cancel_requests SET handled = ?1, handled_by = ?2 WHERE handled IS NULL");
  st.bind(1, store.now());
  st.bind(2, kHandledExpired);
  return st.exec();
}

}  // namespace repro::runner

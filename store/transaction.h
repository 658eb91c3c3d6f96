#pragma once
// Write transactions on a Store.
#include <SQLiteCpp/Database.h>

namespace repro::runner {

class Store;

// A write transaction that nests. The outermost is `BEGIN IMMEDIATE`: it takes the write lock
// at once, so a second writer waits (busy_timeout) instead of failing when it would upgrade a
// read to a write. Inner ones, opened while a transaction is active on the connection, are
// SAVEPOINTs, so a function that needs atomicity composes with callers that batch.
// Rolls back on destruction unless commit() was called. Same thread rules as the Store.
class WriteTransaction {
 public:
  explicit WriteTransaction(Store& store);
  ~WriteTransaction();
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;

  // Precondition: not committed yet.
  void commit();

 private:
  SQLite::Database& db_;
  bool outermost_ = false;
  bool done_ = false;
};

}  // namespace repro::runner

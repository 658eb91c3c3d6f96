#include "store/transaction.h"

#include <sqlite3.h>

#include "base/util/errors.h"
#include "store/store.h"

namespace repro::runner {

WriteTransaction::WriteTransaction(Store& store) : db_(store.db()) {
  outermost_ = sqlite3_get_autocommit(db_.getHandle()) != 0;
  db_.exec(outermost_ ? "BEGIN IMMEDIATE" : "SAVEPOINT repro_nested");
}

WriteTransaction::~WriteTransaction() {
  if (done_) return;
  // Errors here are ignored: the destructor runs while an exception unwinds, and SQLite rolls
  // back an unfinished transaction when the connection closes anyway.
  if (outermost_) {
    db_.tryExec("ROLLBACK");
  } else {
    db_.tryExec("ROLLBACK TO repro_nested");
    db_.tryExec("RELEASE repro_nested");
  }
}

void WriteTransaction::commit() {
  REPRO_CHECK(!done_, "WriteTransaction committed twice");
  db_.exec(outermost_ ? "COMMIT" : "RELEASE repro_nested");
  done_ = true;
}

}  // namespace repro::runner

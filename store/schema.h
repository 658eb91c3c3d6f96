#pragma once
// The store's schema as a list of forward migrations (docs/database.md documents every column).
#include <string>
#include <vector>

namespace repro::runner {

// One step of the schema's history: SQL that takes a database from version `version - 1` to
// `version`. Steps are applied in order, each inside the opening transaction. A released step is
// never edited: a change to the schema is a new step appended to the list.
struct Migration {
  int version = 0;          // 1, 2, ... without gaps
  std::string description;  // one line, stored in schema_version
  std::string sql;          // one or more statements separated by ';'
};

// Every step from version 1 up to the newest this code knows, in order.
const std::vector<Migration>& schema_migrations();

// The newest version this code knows: schema_migrations().back().version.
int latest_schema_version();

}  // namespace repro::runner

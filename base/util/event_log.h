#pragma once
// An append-only JSON-lines event file (events.jsonl, format: docs/events.md): every record gets
// "v" (format version), "seq" (its number in the file, so an ingester is idempotent by seq) and
// "time". Opening a file a killed process left with half a line cuts that line off first, and
// numbering continues after the records already there. Torch-free; not thread-safe.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <fstream>
#include <string>

namespace repro {

class EventLog {
 public:
  // Creates the file when missing. Throws IoError when it cannot be opened for appending.
  explicit EventLog(const std::string& path);
  // Appends `record` with v, seq and time set; flush makes it visible to readers now.
  void write(nlohmann::json record, bool flush);
  int64_t next_seq() const { return seq_; }

 private:
  std::string path_;
  std::ofstream out_;
  int64_t seq_ = 0;
};

}  // namespace repro

#include "base/util/event_log.h"

#include <chrono>
#include <filesystem>

#include "base/util/errors.h"
#include "base/util/file_io.h"

namespace repro {

namespace fs = std::filesystem;

EventLog::EventLog(const std::string& path) : path_(path) {
  if (fs::exists(path)) {
    const std::string text = read_file(path);
    const auto end = text.find_last_of('\n');
    const size_t keep = end == std::string::npos ? 0 : end + 1;
    if (keep != text.size()) fs::resize_file(path, keep);
    for (size_t i = 0; i < keep; ++i) seq_ += text[i] == '\n';
  }
  out_.open(path, std::ios::app);
  if (!out_) throw IoError("cannot append to " + path);
}

void EventLog::write(nlohmann::json record, bool flush) {
  record["v"] = 1;
  record["seq"] = seq_++;
  record["time"] = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  out_ << record.dump() << "\n";
  if (flush) out_.flush();
  if (!out_) throw IoError("cannot write to " + path_);
}

}  // namespace repro

#pragma once
// Paths the store records relative to a run directory come from the tasks' events (events.jsonl)
// and are not trusted: reading or linking one must not reach outside the run directory.
#include <string>

namespace repro::reports {

// `path` normalised ("a/./b" -> "a/b") when it stays inside the run directory; "" when it is
// empty, absolute, or climbs out with "..".
std::string path_inside_run(const std::string& path);

}  // namespace repro::reports

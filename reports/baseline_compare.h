#pragma once
// `repro compare`: the current values of an experiment against a stored baseline (a report JSON,
// render.h), value by value: within tolerance, improved, regressed, or missing.
#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "reports/report_spec.h"

namespace repro::reports {

struct CompareTolerance {
  std::map<std::string, Tolerance> by_metric;
  Tolerance fallback{Tolerance::Kind::kRelative, 0.05};
  const Tolerance& for_metric(const std::string& metric) const;
};

// Each spec is "[METRIC=]KIND:AMOUNT" with KIND abs or rel, or a bare number (relative for all):
// "0.05", "rel:0.1", "fid=abs:0.5", several comma-separated. Throws ConfigError (key --tolerance).
CompareTolerance parse_compare_tolerance(const std::vector<std::string>& specs);

enum class Movement { kWithin, kImproved, kRegressed, kMissing };
std::string to_string(Movement m);

struct ComparedValue {
  std::string table;
  std::string metric;
  std::string cell;  // "dataset=cifar10, method=adm"
  double baseline = 0;
  std::optional<double> current;  // empty: missing now
  Movement movement = Movement::kWithin;
  std::string message;  // one line: what moved and by how much
};

struct Comparison {
  std::string experiment;
  std::vector<ComparedValue> values;  // one per baseline value that had ours, in baseline order
  int new_values = 0;                 // current values the baseline did not have (not failures)
  int count(Movement m) const;
  bool ok() const { return count(Movement::kRegressed) == 0 && count(Movement::kMissing) == 0; }
};

// Throws ConfigError (key --baseline, naming `name`) when the baseline is not a repro report JSON,
// has another format version, belongs to another experiment, is a placeholder, or holds no values.
void check_baseline(const nlohmann::json& baseline, const std::string& experiment, const std::string& name);

// Precondition: check_baseline passed; `current` is report_json() of the current report.
Comparison compare_reports(const nlohmann::json& baseline, const nlohmann::json& current,
                           const CompareTolerance& tolerance);

// What moved, one line per value that is not within tolerance, then a summary line.
std::string comparison_text(const Comparison& c);

// JUnit XML: one <testcase> per compared value (classname table.metric, name the cell); a
// <failure> for a regression or a missing value.
std::string junit_xml(const Comparison& c);

}  // namespace repro::reports

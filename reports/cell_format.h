#pragma once
// The text of a report's values, shared by the renderers (each escapes it for its format).
#include <optional>
#include <string>
#include <vector>

#include "reports/report.h"

namespace repro::reports {

// v with `decimals` digits after the point ("2.76"); "nan"/"inf" as such.
std::string format_fixed(double v, int decimals);
// With a sign: "+0.04", "-0.10", "+0.00".
std::string format_signed(double v, int decimals);

// The pieces of one cell, unescaped.
struct CellText {
  std::string ours;        // "2.80"; "" when missing
  std::string spread;      // "± 0.03 (n=3)" when there are several seeds, else ""
  std::string published;   // "2.76"; "" when none
  std::string difference;  // "+0.04"; "" unless both
  std::string verdict;     // "reproduced", ...; "" when neither value
  std::string marks;       // the banner marks of the cell ("‡§"), written right after ours; "" when none
};
CellText cell_text(const CellResult& cell, int decimals);

// Display labels of a row's or column's key (labels: of the table).
std::vector<std::string> key_labels(const TableSpec& spec, const std::vector<std::string>& dims,
                                    const std::vector<std::string>& key);

// "1 h 02 min", "3 min 05 s", "42 s"; "" when unknown.
std::string format_duration(const std::optional<double>& seconds);
// "0.52"; "" when unknown.
std::string format_gpu_hours(const std::optional<double>& hours);

// The provenance appendix's columns: header and the value of a run (commit shortened to 12).
const std::vector<std::pair<std::string, std::string>>& provenance_columns();  // (key, header)
std::string provenance_value(const RunProvenance& run, const std::string& key);

// How a table's tolerance reads: "fid: absolute 0.3; default: relative 0.05".
std::string describe_tolerances(const TableSpec& spec);

}  // namespace repro::reports

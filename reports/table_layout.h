#pragma once
// A table's shape before any value: which results it shows, which cells exist (the combinations
// of its row and column dimensions that some result or published value has) and the keys of its
// rows and columns in display order (docs/reports.md, Tables).
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "reports/observations.h"
#include "reports/report_spec.h"

namespace repro::reports {

using Dims = std::map<std::string, std::string>;  // dimension -> value

// Whether `have` holds every dimension of `want` with an equal value (dim_equal).
bool dims_match(const Dims& have, const Dims& want);

// Whether a published entry agrees with the table's where: on the dimensions it names.
bool agrees_with_where(const TableSpec& spec, const PublishedValue& published);

// Whether the table names dimension `d` in its rows, columns or where:.
bool names_dimension(const TableSpec& spec, const std::string& d);
// Whether `dims` hold the neutral value (neutral_dimensions()) of every such dimension the table
// does not name (a dimension that is absent counts as neutral).
bool at_neutral_values(const TableSpec& spec, const Dims& dims);

// The results of the table's metrics whose dimensions agree with its where: and are at the
// neutral values of the dimensions it does not name, in their order.
std::vector<const Observation*> select_observations(const TableSpec& spec, const std::vector<Observation>& all);

struct TableLayout {
  std::vector<std::vector<std::string>> row_keys;     // [row][i]: value of spec.rows[i]
  std::vector<std::vector<std::string>> column_keys;  // [column][i]: value of spec.columns[i]
};

// Values of a dimension are shown in the axis's declared order (`axes`: names and labels as the
// experiment file declares them), then the published values' order, then the rest ascending
// (dim_less); metrics in spec.metrics' order.
TableLayout table_layout(const TableSpec& spec, const std::vector<const Observation*>& selected,
                         const std::vector<std::pair<std::string, std::vector<std::string>>>& axes);

// Marks the key of a row of stale runs' results (docs/reports.md, Stale runs): the display label
// of its last row dimension that is not the metric (else of its last) gets " (stale)".
// REQUIRES: spec.rows is not empty; key holds one value per row dimension.
std::vector<std::string> stale_row_key(const TableSpec& spec, std::vector<std::string> key);

}  // namespace repro::reports

#pragma once
// A table's cells: ours over the seeds of the picked results beside the published value, the
// verdict, and which of ours are bold (docs/reports.md, Cells and Verdicts).
#include <string>
#include <vector>

#include "reports/observations.h"
#include "reports/provenance.h"
#include "reports/report.h"
#include "reports/report_spec.h"

namespace repro::reports {

// The cell at a row and column key (table_layout): among `selected`, the results of its metric and
// dimensions, grouped by the dimensions the table does not name and one group picked (spec.pick),
// one result per run, their mean over seeds judged against the published value. The runs must
// differ in the seed alone: when their configs (`configs`) differ in more, only the runs of the
// newest config (the latest put) are averaged. Such a difference, and a provenance difference
// among the cell's runs, is in the cell's warnings and, with the cell named, appended to
// `warnings`.
CellResult build_cell(const TableSpec& spec, const std::vector<std::string>& row_key,
                      const std::vector<std::string>& column_key, const std::vector<const Observation*>& selected,
                      const RunConfigs& configs, const ProvenanceIndex& provenance, std::vector<std::string>& warnings);

// Bold: per column (or row, spec.best) and metric, the best of ours where at least two values
// differ.
void mark_best(TableResult& table);

}  // namespace repro::reports

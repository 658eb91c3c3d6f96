#pragma once
// The figures of a report (HTML): FID against training iterations, training loss curves, and a
// sample grid per run.
#include <string>
#include <vector>

#include "reports/observations.h"
#include "reports/provenance.h"
#include "reports/svg_plot.h"
#include "store/store.h"

namespace repro::reports {

struct SampleGrid {
  std::string run_id;
  std::string label;  // the run's axis labels
  std::string file;   // the PNG's path
  std::string png_base64;
};

// FID against training iterations: one plot per dataset, one curve per combination of the other
// dimensions that vary (method, steps, ...), mean over seeds; only plots where some curve has two
// or more iterations.
std::vector<Plot> fid_curves(const std::vector<Observation>& obs);

// The `loss` metric of each run's train tasks, one plot per dataset; at most ~300 points a curve.
std::vector<Plot> loss_curves(runner::Store& store, const std::vector<RunProvenance>& runs);

// The first <run_dir>/samples/*.png by name of each run that has one (at most 4 MiB), as base64.
std::vector<SampleGrid> sample_grids(runner::Store& store, const std::vector<RunProvenance>& runs);

}  // namespace repro::reports

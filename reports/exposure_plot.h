#pragma once
// Exposure-bias curves as plots (docs/exposure.md): per quantity, the sampling chain's curve
// against the training (forward-process) curve over the respaced step t, one pair per labelled
// measurement (ADM vs ADM-IP side by side). Used by `repro exposure --plot` and the reports.
#include <string>
#include <vector>

#include "base/diffusion/exposure_record.h"
#include "reports/svg_plot.h"

namespace repro::reports {

struct LabelledExposure {
  std::string label;  // "ADM", "ADM-IP, lambda 1.017", or "" for a single measurement
  core::ExposureCurves curves;
};

// The plots of `measurements` (same steps and mode expected; others are drawn as given), x = the
// respaced step t of each record, `title` prefixing each plot's title ("TITLE: eps L2 norm"):
// - eps L2 norm: per measurement "<label> sampling" (eps_norm_sample) and "<label> training"
//   (eps_norm_train), ADM-ES's epsilon L2-norm figure;
// - variance ratio (log y): per measurement "<label>" (var_ratio = var_sample / var_train), then
//   the line "1 = no exposure bias";
// - variance of x_t (log y): "<label> sampling" (var_sample) per measurement, then the forward
//   process's var_train as one "training (1 - abar_t)" line when all measurements have the same,
//   else "<label> training" each.
// An empty label gives "sampling", "training" and "sampling / training". Records whose value is
// not finite are left out of that series. No measurements: no plots.
std::vector<Plot> exposure_plots(const std::vector<LabelledExposure>& measurements, const std::string& title);

}  // namespace repro::reports

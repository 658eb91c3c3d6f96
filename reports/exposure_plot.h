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

// The plots of `measurements` (same steps and mode expected; others are drawn as given): the eps
// L2 norm against t (sampling and training curves per label), and the variance ratio
// var_sample / var_train against t (1 = no exposure bias). `title` prefixes each plot's title.
std::vector<Plot> exposure_plots(const std::vector<LabelledExposure>& measurements, const std::string& title);

}  // namespace repro::reports

#include "reports/exposure_plot.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace repro::reports {
namespace {

using Points = std::vector<std::pair<double, double>>;

// "ADM-IP sampling", or "sampling" for an unlabelled measurement.
std::string series_name(const std::string& label, const std::string& what) {
  return label.empty() ? what : label + " " + what;
}

// (t, value) of each record whose value is finite: a step the measurement could not compute (a
// NaN from a diverged chain) is left out, as svg_line_plot would.
template <typename Field>
Points points_of(const core::ExposureCurves& curves, Field field) {
  Points out;
  for (const auto& r : curves.records)
    if (const double v = field(r); std::isfinite(v)) out.emplace_back(static_cast<double>(r.index), v);
  return out;
}

std::string titled(const std::string& title, const std::string& what) {
  return title.empty() ? what : title + ": " + what;
}

Plot plot_of(const std::string& title, const std::string& what, const std::string& y_label) {
  Plot p;
  p.title = titled(title, what);
  p.x_label = "step t (respaced index; sampling runs from high t to 0)";
  p.y_label = y_label;
  return p;
}

// ADM-ES's epsilon L2-norm figure: per label, the network's eps on the sampling chain's x̂_t
// against its eps on q(x_t | x0), the input training sees.
Plot eps_norm_plot(const std::vector<LabelledExposure>& measurements, const std::string& title) {
  Plot p = plot_of(title, "eps L2 norm", "mean L2 norm of eps_theta(x_t, t)");
  for (const auto& m : measurements) {
    p.series.push_back({series_name(m.label, "sampling"),
                        points_of(m.curves, [](const core::ExposureStep& r) { return r.eps_norm_sample; }),
                        {}});
    p.series.push_back({series_name(m.label, "training"),
                        points_of(m.curves, [](const core::ExposureStep& r) { return r.eps_norm_train; }),
                        {}});
  }
  return p;
}

// var_sample / var_train per label, and the line at 1 (no exposure bias) over the steps drawn. Log
// y: near t = 0, 1 - abar_t is tiny and a chain's ratio spans decades.
Plot variance_ratio_plot(const std::vector<LabelledExposure>& measurements, const std::string& title) {
  Plot p = plot_of(title, "variance ratio", "var(x_t - sqrt(abar_t) x0) / (1 - abar_t)");
  p.log_y = true;
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& m : measurements) {
    Series s{m.label.empty() ? "sampling / training" : m.label,
             points_of(m.curves, [](const core::ExposureStep& r) { return r.var_ratio; }),
             {}};
    for (const auto& [t, v] : s.points) lo = std::min(lo, t), hi = std::max(hi, t);
    p.series.push_back(std::move(s));
  }
  if (lo <= hi) p.series.push_back({"1 = no exposure bias", {{lo, 1.0}, {hi, 1.0}}, {}});
  return p;
}

// The variances themselves (log y: 1 - abar_t spans decades). The forward process's curve is one
// line when every measurement has the same one (same schedule and steps), else one per label.
Plot variance_plot(const std::vector<LabelledExposure>& measurements, const std::string& title) {
  Plot p = plot_of(title, "variance of x_t", "mean (x_t - sqrt(abar_t) x0)^2");
  p.log_y = true;
  auto train = [](const core::ExposureStep& r) { return r.var_train; };
  bool one_train = true;
  for (const auto& m : measurements)
    one_train = one_train && points_of(m.curves, train) == points_of(measurements.front().curves, train);
  for (const auto& m : measurements)
    p.series.push_back({series_name(m.label, "sampling"),
                        points_of(m.curves, [](const core::ExposureStep& r) { return r.var_sample; }),
                        {}});
  if (!measurements.empty() && one_train)
    p.series.push_back({"training (1 - abar_t)", points_of(measurements.front().curves, train), {}});
  for (const auto& m : measurements)
    if (!one_train) p.series.push_back({series_name(m.label, "training"), points_of(m.curves, train), {}});
  return p;
}

}  // namespace

std::vector<Plot> exposure_plots(const std::vector<LabelledExposure>& measurements, const std::string& title) {
  if (measurements.empty()) return {};
  return {eps_norm_plot(measurements, title), variance_ratio_plot(measurements, title),
          variance_plot(measurements, title)};
}

}  // namespace repro::reports

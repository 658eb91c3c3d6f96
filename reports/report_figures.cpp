#include "reports/report_figures.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "base/util/file_io.h"
#include "base/util/strings.h"
#include "reports/base64.h"
#include "reports/seed_stats.h"
#include "store/lookups.h"
#include "store/report_queries.h"

namespace repro::reports {
namespace {

namespace fs = std::filesystem;
using Dims = std::map<std::string, std::string>;

std::string labels_of(const std::map<std::string, std::string>& axes) {
  std::string s;
  for (const auto& [k, v] : axes) s += (s.empty() ? "" : ", ") + k + "=" + v;
  return s;
}

std::string cell_label(const Dims& d, const std::vector<std::string>& skip) {
  std::string s;
  for (const auto& [k, v] : d)
    if (!contains(skip, k)) s += (s.empty() ? "" : ", ") + k + "=" + v;
  return s.empty() ? "all" : s;
}

}  // namespace

// FID against training iterations: one plot per dataset, one curve per combination of the other
// dimensions (method, steps, ...) that vary, mean over seeds.
std::vector<Plot> fid_curves(const std::vector<Observation>& obs) {
  std::map<std::string, std::vector<const Observation*>> by_dataset;
  for (const auto& o : obs)
    if (o.metric == "fid" && o.dims.count("iteration"))
      by_dataset[o.dims.count("dataset") ? o.dims.at("dataset") : ""].push_back(&o);
  std::vector<Plot> plots;
  for (const auto& [dataset, list] : by_dataset) {
    std::map<std::string, std::set<std::string>> values;
    for (const auto* o : list)
      for (const auto& [d, v] : o->dims) values[d].insert(v);
    std::vector<std::string> skip = {"iteration", "dataset"};
    for (const auto& [d, vs] : values)
      if (vs.size() < 2) skip.push_back(d);
    std::map<std::string, std::map<double, std::vector<double>>> series;
    for (const auto* o : list)
      series[cell_label(o->dims, skip)][std::stod(o->dims.at("iteration"))].push_back(o->value);
    Plot p;
    p.title = "FID vs training iterations" + (dataset.empty() ? "" : " (" + dataset + ")");
    p.x_label = "training iterations";
    p.y_label = "FID";
    bool curve = false;
    for (const auto& [name, points] : series) {
      Series s{name, {}};
      for (const auto& [x, ys] : points) s.points.emplace_back(x, seed_stats(ys).mean);
      curve = curve || s.points.size() >= 2;
      p.series.push_back(std::move(s));
    }
    if (curve) plots.push_back(std::move(p));
  }
  return plots;
}

// Training loss of each run's train tasks, one plot per dataset; at most ~300 points per curve.
std::vector<Plot> loss_curves(runner::Store& store, const std::vector<RunProvenance>& runs) {
  std::map<std::string, Plot> plots;
  std::vector<std::string> order;
  for (const auto& r : runs) {
    std::map<double, double> points;  // a step of several train tasks: the last in (step, seq) order
    for (const auto& loss : runner::train_loss_of_run(store, r.run_id))
      points[static_cast<double>(loss.step)] = loss.value;
    if (points.empty()) continue;
    const std::string dataset = r.axes.count("dataset") ? r.axes.at("dataset") : "";
    if (!plots.count(dataset)) {
      order.push_back(dataset);
      auto& p = plots[dataset];
      p.title = "Training loss" + (dataset.empty() ? "" : " (" + dataset + ")");
      p.x_label = "training iterations";
      p.y_label = "loss";
    }
    auto axes = r.axes;
    axes.erase("dataset");
    Series s{labels_of(axes).empty() ? r.run_id : labels_of(axes), {}};
    const size_t stride = std::max<size_t>(1, points.size() / 300);
    size_t i = 0;
    for (const auto& [x, y] : points)
      if (i++ % stride == 0 || i == points.size()) s.points.emplace_back(x, y);
    plots[dataset].series.push_back(std::move(s));
  }
  std::vector<Plot> out;
  for (const auto& d : order) out.push_back(std::move(plots[d]));
  return out;
}

// One PNG per run from <run_dir>/samples/ (the first by name), when there is one.
std::vector<SampleGrid> sample_grids(runner::Store& store, const std::vector<RunProvenance>& runs) {
  constexpr uintmax_t kMaxBytes = 4u << 20;  // keeps the HTML file openable
  std::vector<SampleGrid> out;
  for (const auto& r : runs) {
    const auto run_dir = runner::stored_run_dir(store, r.run_id);
    if (!run_dir) continue;
    const fs::path dir = fs::path(*run_dir) / "samples";
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    std::vector<fs::path> pngs;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.is_regular_file() && e.path().extension() == ".png" && e.file_size() <= kMaxBytes) pngs.push_back(e.path());
    if (pngs.empty()) continue;
    std::sort(pngs.begin(), pngs.end());
    out.push_back(
        {r.run_id, labels_of(r.axes), pngs.front().string(), base64_encode(read_file(pngs.front().string()))});
  }
  return out;
}

}  // namespace repro::reports

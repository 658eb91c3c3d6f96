#include "reports/report_figures.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <tuple>

#include "base/diffusion/eps_scale.h"
#include "base/diffusion/exposure_record.h"
#include "base/util/errors.h"
#include "base/util/file_io.h"
#include "base/util/sha256.h"
#include "base/util/strings.h"
#include "reports/base64.h"
#include "reports/exposure_plot.h"
#include "reports/json_text.h"
#include "reports/run_paths.h"
#include "reports/table_layout.h"
#include "runner/plan/task_spec.h"
#include "store/figure_queries.h"

namespace repro::reports {
namespace {

namespace fs = std::filesystem;
using Dims = std::map<std::string, std::string>;

std::string dataset_of(const Dims& d) { return d.count("dataset") ? d.at("dataset") : ""; }

std::string in_dataset(const std::string& title, const std::string& dataset) {
  return title + (dataset.empty() ? "" : " (" + dataset + ")");
}

// The dimensions but `skip`, as "k=v, ..."; "all" when none is left.
std::string label_without(const Dims& d, const std::vector<std::string>& skip) {
  std::string s;
  for (const auto& [k, v] : d)
    if (!contains(skip, k)) s += (s.empty() ? "" : ", ") + k + "=" + v;
  return s.empty() ? "all" : s;
}

// A dimension value as a number; false when it does not read fully as one.
bool as_number(const std::string& text, double& value) {
  char* end = nullptr;
  value = std::strtod(text.c_str(), &end);
  return !text.empty() && end == text.c_str() + text.size();
}

// The mean of each x's values, and a min-max band when some x has values of several seeds.
Series mean_with_band(const std::string& name, const std::map<double, std::vector<double>>& values,
                      size_t max_points = 0) {
  Series s{name, {}, {}};
  bool spread = false;
  for (const auto& [x, ys] : values) spread = spread || ys.size() > 1;
  const size_t stride = max_points ? std::max<size_t>(1, values.size() / max_points) : 1;
  size_t i = 0;
  for (const auto& [x, ys] : values) {
    if (i++ % stride != 0 && i != values.size()) continue;
    double sum = 0;
    for (double y : ys) sum += y;
    s.points.emplace_back(x, sum / static_cast<double>(ys.size()));
    if (spread) s.band.push_back({x, *std::min_element(ys.begin(), ys.end()), *std::max_element(ys.begin(), ys.end())});
  }
  return s;
}

// One metric of one dataset against x_dim; curves named by the other dimensions that vary.
Plot metric_plot(const std::string& metric, const std::string& dataset, const std::vector<const Observation*>& list,
                 const std::string& x_dim) {
  std::map<std::string, std::set<std::string>> values;
  for (const auto* o : list)
    for (const auto& [d, v] : o->dims) values[d].insert(v);
  std::vector<std::string> skip = {x_dim, "dataset"};
  for (const auto& [d, vs] : values)
    if (vs.size() < 2) skip.push_back(d);
  std::map<std::string, std::map<double, std::vector<double>>> series;
  for (const auto* o : list)
    if (double x = 0; as_number(o->dims.at(x_dim), x)) series[label_without(o->dims, skip)][x].push_back(o->value);
  const std::string name = TableSpec{}.label(kMetricDimension, metric);
  const bool steps = x_dim == "steps";
  Plot p;
  p.title = in_dataset(name + (steps ? " vs sampling steps" : " vs training iterations"), dataset);
  p.x_label = steps ? "sampling steps" : "training iterations";
  p.y_label = name;
  p.log_x = steps;
  p.log_y = metric == "fid" || metric == "sfid";
  for (const auto& [label, points] : series) p.series.push_back(mean_with_band(label, points));
  return p;
}

bool has_curve(const Plot& p) {
  return std::any_of(p.series.begin(), p.series.end(), [](const Series& s) { return s.points.size() >= 2; });
}

// Characters a file name keeps in every format (LaTeX's \includegraphics included).
std::string file_word(const std::string& text) {
  std::string s;
  for (char c : text) {
    const bool keep = std::isalnum(static_cast<unsigned char>(c)) != 0;
    if (keep) s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!keep && !s.empty() && s.back() != '-') s += '-';
  }
  while (!s.empty() && s.back() == '-') s.pop_back();
  return s;
}

// The dimension whose values stand side by side in a table's figure rows: `method` when the
// results have it, else the first row (then column) dimension that is a matrix axis or source
// (trained and released weights side by side); "" = none.
std::string side_dimension(const TableSpec& spec, const std::vector<const Observation*>& selected) {
  auto present = [&](const std::string& d) {
    return std::any_of(selected.begin(), selected.end(), [&](const Observation* o) { return o->dims.count(d) > 0; });
  };
  if (present("method")) return "method";
  for (const auto* dims : {&spec.rows, &spec.columns})
    for (const auto& d : *dims)
      if (d != kMetricDimension && (d == kSourceDimension || !contains(eval_dimensions(), d)) && present(d)) return d;
  return "";
}

std::string dim_or_empty(const Observation& o, const std::string& d) { return o.dims.count(d) ? o.dims.at(d) : ""; }

// The grid shown for a (steps, side) place: the latest iteration, then the first seed, then the
// first run in the matrix.
bool shown_before(const Observation& a, const Observation& b) {
  const std::string ia = dim_or_empty(a, "iteration"), ib = dim_or_empty(b, "iteration");
  if (!dim_equal(ia, ib)) return dim_less(ib, ia);
  if (!dim_equal(a.seed, b.seed)) return dim_less(a.seed, b.seed);
  return a.position < b.position;
}

struct GridPlace {
  std::string steps;  // the sample task's steps, value as stored
  std::string sampler;
  std::string side;  // value of the side dimension (the run id when there is none)
  bool operator<(const GridPlace& o) const {
    if (!dim_equal(steps, o.steps)) return dim_less(steps, o.steps);
    return std::tie(sampler, side) < std::tie(o.sampler, o.side);
  }
};

// The observation whose sample task's grid each place of the table shows, places ordered by
// steps, then by the sides' first appearance in the matrix.
std::vector<std::pair<GridPlace, const Observation*>> grid_places(const std::vector<const Observation*>& selected,
                                                                  const std::string& side_dim,
                                                                  const std::set<std::string>& with_png) {
  std::map<GridPlace, const Observation*> best;
  std::vector<std::string> sides;
  for (const auto* o : selected) {
    if (!with_png.count(o->sample_task)) continue;
    const GridPlace place{dim_or_empty(*o, "steps"), dim_or_empty(*o, "sampler"),
                          side_dim.empty() ? o->run_id : dim_or_empty(*o, side_dim)};
    if (!contains(sides, place.side)) sides.push_back(place.side);
    auto& b = best[place];
    if (!b || shown_before(*o, *b)) b = o;
  }
  std::vector<std::pair<GridPlace, const Observation*>> out(best.begin(), best.end());
  auto rank = [&](const std::string& side) { return std::find(sides.begin(), sides.end(), side) - sides.begin(); };
  std::stable_sort(out.begin(), out.end(), [&](const auto& a, const auto& b) {
    if (!dim_equal(a.first.steps, b.first.steps) || a.first.sampler != b.first.sampler) return a.first < b.first;
    return rank(a.first.side) < rank(b.first.side);
  });
  return out;
}

// The file's bytes, or nothing with a warning: missing, over `limit`, or not what the task
// recorded. `kind` names the file in the warning ("sample grid").
std::optional<std::string> read_recorded(const runner::SampleArtifact& a, const std::string& kind, uintmax_t limit,
                                         std::vector<std::string>& warnings) {
  const fs::path path = fs::path(a.run_dir) / a.path;
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  const std::string what = kind + " " + path.string() + " of task " + a.task_id;
  if (ec) {
    warnings.push_back(what + " cannot be read (" + ec.message() + "): left out of the figures");
    return std::nullopt;
  }
  if (size > limit) {
    warnings.push_back(what + " is " + std::to_string(size) + " bytes, over the " + std::to_string(limit) +
                       "-byte limit: left out of the figures");
    return std::nullopt;
  }
  std::string bytes = read_file(path.string());
  if (!a.sha256.empty() && sha256_hex(bytes) != a.sha256) {
    warnings.push_back(what + " changed since the task recorded it (SHA-256 differs): left out of the figures");
    return std::nullopt;
  }
  return bytes;
}

// ---- exposure curves ----

// What one group of exposure plots compares its runs at: everything of the task's spec but the run.
struct ExposurePlace {
  std::string dataset;
  int64_t iteration = 0;
  int steps = 0;
  std::string sampler;
  double eta = 0;
  core::EpsScale eps_scale;
  int start_t = 0;
  std::string mode;
  std::string ema;
  auto key() const {
    return std::tie(dataset, iteration, steps, sampler, eta, eps_scale.b, eps_scale.k, start_t, mode, ema);
  }
  bool operator<(const ExposurePlace& o) const { return key() < o.key(); }
};

// One exposure task's curves with the run they measure.
struct Measured {
  ExposurePlace place;
  Dims axes;  // the run's axes but seed
  std::string seed;
  int64_t position = 0;
  core::ExposureCurves curves;
};

// The display name of an axis value: the label of the first table that has one.
std::string display_label(const std::vector<TableSpec>& tables, const std::string& dim, const std::string& value) {
  for (const auto& t : tables)
    if (t.labels.count(dim) && t.labels.at(dim).count(value)) return t.labels.at(dim).at(value);
  return value;
}

// The task's place and run, or nothing with a warning when its spec or axes do not read.
std::optional<Measured> measured_of(const runner::ExposureArtifact& a, std::vector<std::string>& warnings) {
  Measured m;
  try {
    const auto spec = runner::parse_sample_spec(nlohmann::json::parse(a.file.spec), "task " + a.file.task_id);
    m.place = {"",
               spec.checkpoint_step,
               spec.steps,
               spec.sampler,
               spec.sampler == "ddim" ? spec.eta : 0.0,
               core::EpsScale{spec.eps_scale_b, spec.eps_scale_k},
               spec.start_t,
               spec.exposure_mode,
               spec.ema};
    const nlohmann::json axes = nlohmann::json::parse(a.axes);
    for (const auto& [axis, label] : axes.items()) (axis == "seed" ? m.seed : m.axes[axis]) = scalar_text(label);
  } catch (const std::exception& e) {
    warnings.push_back("exposure task " + a.file.task_id + " of run " + a.file.run_id +
                       ": its spec or axes do not read (" + e.what() + "): left out of the figures");
    return std::nullopt;
  }
  m.place.dataset = dataset_of(m.axes);
  m.position = a.position;
  return m;
}

// The curves of each exposure task's JSON file that passes the checks, in matrix order.
std::vector<Measured> read_exposures(runner::Store& store, const std::string& experiment, bool include_stale,
                                     std::vector<std::string>& warnings) {
  std::vector<Measured> out;
  for (auto& a : runner::exposure_artifacts_of_experiment(store, experiment)) {
    if ((a.stale && !include_stale) || fs::path(a.file.path).extension() != ".json") continue;
    const std::string inside = path_inside_run(a.file.path);
    if (inside.empty()) {
      warnings.push_back("exposure curves '" + a.file.path + "' of task " + a.file.task_id +
                         " is not a path inside the run directory: left out of the figures");
      continue;
    }
    a.file.path = inside;
    auto m = measured_of(a, warnings);
    if (!m) continue;
    const auto bytes = read_recorded(a.file, "exposure curves", kMaxReportedExposureBytes, warnings);
    if (!bytes) continue;
    const std::string path = (fs::path(a.file.run_dir) / a.file.path).string();
    try {
      m->curves = core::parse_exposure_json(*bytes, path);  // the bytes whose SHA-256 was checked
    } catch (const std::exception& e) {
      warnings.push_back("exposure curves " + path + " of task " + a.file.task_id + " do not read (" + e.what() +
                         "): left out of the figures");
      continue;
    }
    out.push_back(std::move(*m));
  }
  return out;
}

// The dimension whose values label the runs of an exposure plot: `method` when the runs have it,
// else the first axis (declared order, then by name) whose value varies; "" = none.
std::string exposure_side(const std::vector<Measured>& ms, const std::vector<std::string>& axes) {
  std::map<std::string, std::set<std::string>> values;
  for (const auto& m : ms)
    for (const auto& [d, v] : m.axes) values[d].insert(v);
  if (values.count("method")) return "method";
  std::vector<std::string> order = axes;
  for (const auto& [d, vs] : values)
    if (!contains(order, d)) order.push_back(d);
  for (const auto& d : order)
    if (d != "dataset" && values.count(d) && values.at(d).size() > 1) return d;
  return "";
}

// The run's label in its group: the side value's display label, then the other varying axes.
std::string exposure_label(const Measured& m, const std::string& side, const std::set<std::string>& varying,
                           const std::vector<TableSpec>& tables) {
  std::string label = m.axes.count(side) ? display_label(tables, side, m.axes.at(side)) : "";
  for (const auto& [d, v] : m.axes)
    if (d != side && d != "dataset" && varying.count(d)) label += (label.empty() ? "" : ", ") + d + "=" + v;
  return label;
}

// "Exposure bias (cifar10), 100 steps, iteration 1000", then what differs from the ordinary
// sampler: DDIM's eta, lambda, the start, the one-step mode, the EMA when the groups differ in it.
std::string exposure_title(const ExposurePlace& p, bool name_ema) {
  std::string t = in_dataset("Exposure bias", p.dataset) + ", " + std::to_string(p.steps) + " steps";
  if (p.sampler == "ddim") t += " DDIM eta " + format_number(p.eta);
  t += ", iteration " + std::to_string(p.iteration);
  if (!p.eps_scale.is_identity()) t += ", lambda " + core::eps_scale_text(p.eps_scale);
  if (p.start_t > 0) t += ", chain from t=" + std::to_string(p.start_t);
  if (p.mode == "step") t += ", one step from q(x_t+1|x0)";
  if (name_ema) t += ", EMA " + p.ema;
  return t;
}

}  // namespace

std::vector<Plot> metric_curves(const std::vector<Observation>& obs, const std::string& x_dim) {
  std::vector<Plot> plots;
  for (const auto& metric : known_metrics()) {
    std::map<std::string, std::vector<const Observation*>> by_dataset;
    for (const auto& o : obs)
      if (o.metric == metric && o.dims.count(x_dim)) by_dataset[dataset_of(o.dims)].push_back(&o);
    for (const auto& [dataset, list] : by_dataset)
      if (Plot p = metric_plot(metric, dataset, list, x_dim); has_curve(p)) plots.push_back(std::move(p));
  }
  return plots;
}

std::vector<Plot> loss_curves(runner::Store& store, const std::vector<RunProvenance>& runs) {
  struct Kind {
    const char* metric;
    const char* title;
    const char* y_label;
  };
  const Kind kinds[] = {{"loss", "Training loss", "loss"},
                        {"grad_norm", "Gradient norm", "gradient norm (before clipping)"}};
  std::vector<Plot> out;
  for (const auto& kind : kinds) {
    // dataset -> curve label -> step -> one value per run (a step several train tasks recorded:
    // the last in (step, seq) order)
    std::map<std::string, std::map<std::string, std::map<double, std::vector<double>>>> curves;
    std::vector<std::string> datasets;
    for (const auto& r : runs) {
      std::map<double, double> points;
      for (const auto& m : runner::train_metric_of_run(store, r.run_id, kind.metric))
        points[static_cast<double>(m.step)] = m.value;
      if (points.empty()) continue;
      const std::string dataset = dataset_of(r.axes);
      if (!contains(datasets, dataset)) datasets.push_back(dataset);
      auto& curve = curves[dataset][label_without(r.axes, {"dataset", "seed"})];
      for (const auto& [x, y] : points) curve[x].push_back(y);
    }
    for (const auto& dataset : datasets) {
      Plot p;
      p.title = in_dataset(kind.title, dataset);
      p.x_label = "training iterations";
      p.y_label = kind.y_label;
      p.log_y = true;
      for (const auto& [label, points] : curves[dataset]) p.series.push_back(mean_with_band(label, points, 300));
      out.push_back(std::move(p));
    }
  }
  return out;
}

std::vector<SampleGrid> sample_grids(runner::Store& store, const std::string& experiment,
                                     const std::vector<TableSpec>& tables, const std::vector<Observation>& obs,
                                     std::vector<std::string>& warnings) {
  std::map<std::string, runner::SampleArtifact> pngs;  // sample task -> its first PNG by path
  std::set<std::string> with_png;
  for (auto& a : runner::sample_artifacts_of_experiment(store, experiment)) {
    if (fs::path(a.path).extension() != ".png") continue;
    // The path comes from the task's events: one that leaves the run directory is not read.
    const std::string inside = path_inside_run(a.path);
    if (inside.empty()) {
      warnings.push_back("sample grid '" + a.path + "' of task " + a.task_id +
                         " is not a path inside the run directory: left out of the figures");
      continue;
    }
    a.path = inside;
    if (with_png.insert(a.task_id).second) pngs.emplace(a.task_id, std::move(a));
  }
  std::map<std::string, std::optional<std::string>> loaded;  // sample task -> bytes, read once
  std::vector<SampleGrid> out;
  for (const auto& spec : tables) {
    const auto selected = select_observations(spec, obs);
    const std::string side_dim = side_dimension(spec, selected);
    for (const auto& [place, o] : grid_places(selected, side_dim, with_png)) {
      auto it = loaded.find(o->sample_task);
      if (it == loaded.end()) {
        auto png = read_recorded(pngs.at(o->sample_task), "sample grid", kMaxGridBytes, warnings);
        it = loaded.emplace(o->sample_task, std::move(png)).first;
      }
      if (!it->second) continue;
      SampleGrid g;
      g.table_id = spec.id;
      g.steps = (place.sampler == "ddim" ? "ddim" : "") + place.steps;
      g.side_dim = side_dim;
      g.side = side_dim.empty() ? o->run_id : spec.label(side_dim, place.side);
      g.run_id = o->run_id;
      g.sample_task = o->sample_task;
      g.label = label_without(o->dims, eval_dimensions());
      g.file = "grid-" + file_word(o->sample_task) + ".png";
      g.png = *it->second;
      g.png_base64 = base64_encode(g.png);
      out.push_back(std::move(g));
    }
  }
  return out;
}

std::vector<Plot> exposure_curves(runner::Store& store, const std::string& experiment,
                                  const std::vector<TableSpec>& tables, const std::vector<std::string>& axes,
                                  bool include_stale, std::vector<std::string>& warnings) {
  const std::vector<Measured> ms = read_exposures(store, experiment, include_stale, warnings);
  const std::string side = exposure_side(ms, axes);
  std::map<std::string, std::set<std::string>> values;
  std::set<std::string> emas;
  for (const auto& m : ms) {
    emas.insert(m.place.ema);
    for (const auto& [d, v] : m.axes) values[d].insert(v);
  }
  std::set<std::string> varying;
  for (const auto& [d, vs] : values)
    if (vs.size() > 1) varying.insert(d);
  // place -> the labels in matrix order, each with its first seed's measurement
  std::map<ExposurePlace, std::vector<std::pair<std::string, const Measured*>>> groups;
  for (const auto& m : ms) {
    auto& group = groups[m.place];
    const std::string label = exposure_label(m, side, varying, tables);
    auto it = std::find_if(group.begin(), group.end(), [&](const auto& g) { return g.first == label; });
    if (it == group.end())
      group.emplace_back(label, &m);
    else if (dim_less(m.seed, it->second->seed))
      it->second = &m;
  }
  std::vector<Plot> out;
  for (const auto& [place, group] : groups) {
    std::vector<LabelledExposure> labelled;
    for (const auto& [label, m] : group) labelled.push_back({label, m->curves});
    for (auto& p : exposure_plots(labelled, exposure_title(place, emas.size() > 1))) out.push_back(std::move(p));
  }
  return out;
}

std::vector<GridTable> grid_tables(const std::vector<SampleGrid>& grids) {
  std::vector<GridTable> out;
  for (const auto& g : grids) {
    if (out.empty() || out.back().table_id != g.table_id) out.push_back({g.table_id, {}, {}});
    if (!contains(out.back().sides, g.side)) out.back().sides.push_back(g.side);
  }
  size_t t = 0;
  for (const auto& g : grids) {
    while (out[t].table_id != g.table_id) ++t;
    auto& table = out[t];
    if (table.rows.empty() || table.rows.back().first != g.steps)
      table.rows.emplace_back(g.steps, std::vector<const SampleGrid*>(table.sides.size(), nullptr));
    const auto side = std::find(table.sides.begin(), table.sides.end(), g.side) - table.sides.begin();
    table.rows.back().second[static_cast<size_t>(side)] = &g;
  }
  return out;
}

void name_plot_files(const std::vector<std::vector<Plot>*>& plot_lists) {
  size_t n = 0;
  for (auto* plots : plot_lists)
    for (auto& p : *plots) {
      const std::string number = std::to_string(++n);
      p.file = "plot-" + std::string(number.size() < 2 ? 1 : 0, '0') + number + "-" + file_word(p.title) + ".svg";
    }
}

void write_figure_files(const std::string& dir, const std::vector<SampleGrid>& grids,
                        const std::vector<const std::vector<Plot>*>& plot_lists) {
  std::error_code ec;
  if (!fs::create_directories(dir, ec) && ec) throw IoError("cannot create " + dir + ": " + ec.message());
  std::set<std::string> written;  // a grid shown in several tables is one file
  for (const auto& g : grids)
    if (written.insert(g.file).second) write_file_atomic((fs::path(dir) / g.file).string(), g.png);
  for (const auto* plots : plot_lists)
    for (const auto& p : *plots) write_file_atomic((fs::path(dir) / p.file).string(), svg_line_plot(p));
}

}  // namespace repro::reports

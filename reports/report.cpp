#include "reports/report.h"

#include <SQLiteCpp/Statement.h>

#include <algorithm>
#include <set>

#include "core/util/errors.h"
#include "reports/report_figures.h"
#include "reports/observations.h"

namespace repro::reports {
namespace {

using Dims = std::map<std::string, std::string>;

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Values of one dimension in display order: the axis's declared order, then the published
// values' order, then the rest ascending.
class DimOrder {
 public:
  void prefer(const std::string& v) { add(v); }
  void add(const std::string& v) {
    for (const auto& x : values_)
      if (dim_equal(x, v)) return;
    values_.push_back(v);
  }
  void add_sorted(std::vector<std::string> rest) {
    std::sort(rest.begin(), rest.end(), dim_less);
    for (const auto& v : rest) add(v);
  }
  size_t index(const std::string& v) const {
    for (size_t i = 0; i < values_.size(); ++i)
      if (dim_equal(values_[i], v)) return i;
    return values_.size();
  }

 private:
  std::vector<std::string> values_;
};

bool matches(const Dims& have, const Dims& want) {
  for (const auto& [d, v] : want) {
    auto it = have.find(d);
    if (it == have.end() || !dim_equal(it->second, v)) return false;
  }
  return true;
}

// The published entry for a cell: it names every row/column dimension with the cell's value,
// agrees with `where` on the dimensions it names, and has the metric.
const PublishedValue* published_for(const TableSpec& t, const Dims& cell, const std::string& metric) {
  for (const auto& p : t.published) {
    if (!p.metrics.count(metric) || !matches(p.dims, cell)) continue;
    bool ok = true;
    for (const auto& [d, v] : t.where)
      if (auto it = p.dims.find(d); it != p.dims.end() && !dim_equal(it->second, v)) ok = false;
    if (ok) return &p;
  }
  return nullptr;
}

bool better(const std::string& metric, double a, double b) { return lower_is_better(metric) ? a < b : a > b; }

// Chooses among groups of results that differ in dimensions the table does not name.
const std::vector<const Observation*>* pick_group(const TableSpec& t, const std::string& metric,
                                                  const std::map<Dims, std::vector<const Observation*>>& groups) {
  if (groups.empty()) return nullptr;
  bool by_best = false;
  for (const auto& [d, p] : t.pick) by_best = by_best || p == Pick::kBest;
  auto mean = [](const std::vector<const Observation*>& g) {
    double s = 0;
    for (const auto* o : g) s += o->value;
    return s / static_cast<double>(g.size());
  };
  // Order of the other dimensions: iteration first (the usual question), then by name.
  auto less = [&](const Dims& a, const Dims& b) {
    std::vector<std::string> names;
    if (a.count("iteration") || b.count("iteration")) names.push_back("iteration");
    for (const auto* m : {&a, &b})
      for (const auto& [d, v] : *m)
        if (!contains(names, d)) names.push_back(d);
    for (const auto& d : names) {
      const std::string x = a.count(d) ? a.at(d) : "", y = b.count(d) ? b.at(d) : "";
      if (dim_equal(x, y)) continue;
      const bool first = t.pick.count(d) && t.pick.at(d) == Pick::kFirst;
      return first ? dim_less(y, x) : dim_less(x, y);  // "less" = less preferred
    }
    return false;
  };
  const std::vector<const Observation*>* chosen = nullptr;
  const Dims* chosen_key = nullptr;
  for (const auto& [key, g] : groups) {
    bool take = chosen == nullptr;
    if (!take && by_best) {
      const double a = mean(g), b = mean(*chosen);
      take = better(metric, a, b) || (a == b && less(*chosen_key, key));
    } else if (!take) {
      take = less(*chosen_key, key);
    }
    if (take) chosen = &g, chosen_key = &key;
  }
  return chosen;
}

TableResult build_table(const TableSpec& spec, const std::vector<Observation>& all, const ReportInput& input,
                        const ProvenanceIndex& provenance, std::vector<std::string>& warnings) {
  TableResult t;
  t.spec = spec;
  std::vector<const Observation*> obs;
  for (const auto& o : all)
    if (contains(spec.metrics, o.metric) && matches(o.dims, spec.where)) obs.push_back(&o);

  std::vector<std::string> dims;  // row and column dimensions, metric excluded
  for (const auto* list : {&spec.rows, &spec.columns})
    for (const auto& d : *list)
      if (d != kMetricDimension) dims.push_back(d);

  std::map<std::string, DimOrder> order;
  for (const auto& d : dims) {
    for (const auto& [axis, labels] : input.axes)
      if (axis == d)
        for (const auto& l : labels) order[d].prefer(l);
    for (const auto& p : spec.published)
      if (auto it = p.dims.find(d); it != p.dims.end()) order[d].prefer(it->second);
    std::vector<std::string> rest;
    for (const auto* o : obs)
      if (auto it = o->dims.find(d); it != o->dims.end()) rest.push_back(it->second);
    order[d].add_sorted(rest);
  }
  // The cells present: combinations of the non-metric dimensions that some result or some
  // published value has, crossed with the metrics.
  std::vector<Dims> combos;
  auto add_combo = [&](const Dims& source) {
    Dims c;
    for (const auto& d : dims) {
      auto it = source.find(d);
      if (it == source.end()) return;
      c[d] = it->second;
    }
    for (const auto& x : combos)
      if (matches(x, c)) return;
    combos.push_back(c);
  };
  for (const auto* o : obs) add_combo(o->dims);
  for (const auto& p : spec.published) {
    bool ok = true;
    for (const auto& [d, v] : spec.where)
      if (auto it = p.dims.find(d); it != p.dims.end() && !dim_equal(it->second, v)) ok = false;
    bool has_metric = false;
    for (const auto& m : spec.metrics) has_metric = has_metric || p.metrics.count(m);
    if (ok && has_metric) add_combo(p.dims);
  }
  // Keys of one side (rows or columns): the distinct projections of the combinations, in order.
  auto side_keys = [&](const std::vector<std::string>& side) {
    std::vector<std::vector<std::string>> keys;
    for (const auto& c : combos) {
      std::vector<std::vector<std::string>> expanded = {{}};
      for (const auto& d : side) {
        std::vector<std::vector<std::string>> next;
        for (const auto& k : expanded) {
          if (d == kMetricDimension) {
            for (const auto& m : spec.metrics) {
              next.push_back(k);
              next.back().push_back(m);
            }
          } else {
            next.push_back(k);
            next.back().push_back(c.at(d));
          }
        }
        expanded = std::move(next);
      }
      for (const auto& k : expanded) {
        bool seen = false;
        for (const auto& x : keys) {
          bool same = true;
          for (size_t i = 0; i < k.size(); ++i) same = same && dim_equal(x[i], k[i]);
          seen = seen || same;
        }
        if (!seen) keys.push_back(k);
      }
    }
    auto rank = [&](const std::vector<std::string>& k) {
      std::vector<size_t> r;
      for (size_t i = 0; i < side.size(); ++i)
        r.push_back(side[i] == kMetricDimension
                        ? static_cast<size_t>(std::find(spec.metrics.begin(), spec.metrics.end(), k[i]) - spec.metrics.begin())
                        : order[side[i]].index(k[i]));
      return r;
    };
    std::stable_sort(keys.begin(), keys.end(), [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
    return keys;
  };
  t.row_keys = side_keys(spec.rows);
  t.column_keys = side_keys(spec.columns);

  for (const auto& rk : t.row_keys) {
    std::vector<CellResult> row;
    for (const auto& ck : t.column_keys) {
      CellResult cell;
      for (size_t i = 0; i < spec.rows.size(); ++i)
        (spec.rows[i] == kMetricDimension ? cell.metric : cell.dims[spec.rows[i]]) = rk[i];
      for (size_t i = 0; i < spec.columns.size(); ++i)
        (spec.columns[i] == kMetricDimension ? cell.metric : cell.dims[spec.columns[i]]) = ck[i];
      const PublishedValue* pub = published_for(spec, cell.dims, cell.metric);
      Dims fixed = cell.dims;
      if (pub)  // a published value that names more dimensions (iteration, ...) fixes them for ours too
        for (const auto& [d, v] : pub->dims)
          if (!spec.where.count(d)) fixed[d] = v;
      std::map<Dims, std::vector<const Observation*>> groups;
      for (const auto* o : obs) {
        if (o->metric != cell.metric || !matches(o->dims, fixed)) continue;
        Dims other;
        for (const auto& [d, v] : o->dims)
          if (!cell.dims.count(d) && !spec.where.count(d)) other[d] = v;
        groups[other].push_back(o);
      }
      VerdictInput in;
      in.published_num_samples = spec.published_num_samples;
      if (pub) in.published = pub->metrics.at(cell.metric);
      if (const auto* picked = pick_group(spec, cell.metric, groups)) {
        // One value per run: a run evaluated twice in the same cell (an eval task rerun with
        // another spec) is one seed, not two; the last result in result-id order stands.
        std::map<std::string, const Observation*> per_run;
        for (const auto* o : *picked) per_run[o->run_id] = o;
        std::vector<const Observation*> kept;
        for (const auto* o : *picked)
          if (per_run.at(o->run_id) == o) kept.push_back(o);
        const auto* g = &kept;
        std::vector<double> values;
        std::set<std::string> runs;
        for (const auto* o : *g) {
          values.push_back(o->value);
          runs.insert(o->run_id);
          in.comparable = in.comparable && o->comparable;
          if (o->num_samples > 0) in.num_samples = in.num_samples == 0 ? o->num_samples : std::min(in.num_samples, o->num_samples);
        }
        in.ours = seed_stats(values);
        cell.runs.assign(runs.begin(), runs.end());
        for (const auto& [d, v] : g->front()->dims)
          if (!cell.dims.count(d) && !spec.where.count(d)) cell.picked[d] = v;
        cell.warnings = provenance_differences(provenance, *g);
        for (const auto& w : cell.warnings) {
          std::string where;
          for (const auto& [d, v] : cell.dims) where += (where.empty() ? "" : ", ") + d + "=" + v;
          warnings.push_back(spec.id + " [" + where + (where.empty() ? "" : ", ") + "metric=" + cell.metric +
                             "]: the runs of this cell differ: " + w);
        }
      }
      cell.ours = in.ours;
      cell.published = in.published;
      if (in.ours && in.published) cell.difference = in.ours->mean - *in.published;
      const Judgement j = judge(in, cell.metric, spec.tolerance_for(cell.metric));
      cell.verdict = j.verdict;
      cell.note = j.note;
      row.push_back(std::move(cell));
    }
    t.cells.push_back(std::move(row));
  }
  // Bold: the best of ours among the cells of a column (or row) with the same metric.
  if (spec.best != BestIn::kNone) {
    const bool by_column = spec.best == BestIn::kColumn;
    const size_t outer = by_column ? t.column_keys.size() : t.row_keys.size();
    const size_t inner = by_column ? t.row_keys.size() : t.column_keys.size();
    for (size_t a = 0; a < outer; ++a) {
      std::map<std::string, double> best;
      auto at = [&](size_t b) -> CellResult& { return by_column ? t.cells[b][a] : t.cells[a][b]; };
      for (size_t b = 0; b < inner; ++b) {
        const auto& c = at(b);
        if (!c.ours) continue;
        auto it = best.find(c.metric);
        if (it == best.end() || better(c.metric, c.ours->mean, it->second)) best[c.metric] = c.ours->mean;
      }
      // Per metric: a lone value, or values all equal, have no "best".
      std::map<std::string, int> with_value, at_best;
      for (size_t b = 0; b < inner; ++b)
        if (const auto& c = at(b); c.ours) {
          ++with_value[c.metric];
          at_best[c.metric] += c.ours->mean == best[c.metric] ? 1 : 0;
        }
      for (size_t b = 0; b < inner; ++b) {
        auto& c = at(b);
        c.best = c.ours && with_value[c.metric] >= 2 && at_best[c.metric] < with_value[c.metric] &&
                 c.ours->mean == best[c.metric];
      }
    }
  }
  return t;
}

}  // namespace

Report build_report(runner::Store& store, const ReportInput& input) {
  const auto obs = collect_observations(store, input.experiment);
  if (obs.empty() && !input.allow_no_results) {
    SQLite::Statement q(store.db(), "SELECT count(*) FROM experiment_runs WHERE experiment = ?");
    q.bind(1, input.experiment);
    q.executeStep();
    const int64_t runs = q.getColumn(0).getInt64();
    throw ConfigError("repro report", "EXPERIMENT",
                      "experiment '" + input.experiment + "' has no results in " + store.path() + " yet (" +
                          std::to_string(runs) + " runs): run `repro run` until its eval tasks are done (`repro status` shows them)");
  }
  Report r;
  r.experiment = input.experiment;
  r.description = input.description;
  r.file = input.file;
  r.warnings = input.warnings;
  ProvenanceIndex provenance(store, input.experiment);
  r.provenance = provenance.runs();
  ReportSpec spec;
  if (input.spec && !input.spec->tables.empty()) {
    spec = *input.spec;
  } else {
    std::vector<std::string> axes, metrics, varying;
    for (const auto& [a, labels] : input.axes) axes.push_back(a);
    std::map<std::string, std::set<std::string>> values;
    for (const auto& o : obs) {
      for (const auto& [d, v] : o.dims) {
        values[d].insert(v);
        if (!contains(axes, d) && !contains(eval_dimensions(), d)) axes.push_back(d);  // axes of a file not read
      }
      if (!contains(metrics, o.metric) && contains(known_metrics(), o.metric)) metrics.push_back(o.metric);
    }
    for (const auto& d : eval_dimensions())
      if (values[d].size() > 1) varying.push_back(d);
    if (metrics.empty()) metrics.push_back(obs.empty() ? "fid" : obs.front().metric);
    auto rank = [](const std::string& m) {
      const auto& k = known_metrics();
      return std::find(k.begin(), k.end(), m) - k.begin();
    };
    std::stable_sort(metrics.begin(), metrics.end(), [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
    spec.tables.push_back(default_table(axes, varying, metrics));
  }
  for (const auto& t : spec.tables) r.tables.push_back(build_table(t, obs, input, provenance, r.warnings));
  r.fid_curves = fid_curves(obs);
  r.loss_curves = loss_curves(store, r.provenance);
  if (input.sample_grids) r.grids = sample_grids(store, r.provenance);
  return r;
}

}  // namespace repro::reports

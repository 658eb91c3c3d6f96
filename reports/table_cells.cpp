#include "reports/table_cells.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/util/strings.h"
#include "reports/table_layout.h"

namespace repro::reports {
namespace {

using Group = std::vector<const Observation*>;

bool better(const std::string& metric, double a, double b) { return lower_is_better(metric) ? a < b : a > b; }

// The cell's metric and dimensions, read off its row and column keys.
CellResult cell_at(const TableSpec& spec, const std::vector<std::string>& row_key,
                   const std::vector<std::string>& column_key) {
  CellResult cell;
  for (size_t i = 0; i < spec.rows.size(); ++i)
    (spec.rows[i] == kMetricDimension ? cell.metric : cell.dims[spec.rows[i]]) = row_key[i];
  for (size_t i = 0; i < spec.columns.size(); ++i)
    (spec.columns[i] == kMetricDimension ? cell.metric : cell.dims[spec.columns[i]]) = column_key[i];
  return cell;
}

// The published entry for a cell: it names every row/column dimension with the cell's value,
// agrees with `where` on the dimensions it names, and has the metric.
const PublishedValue* published_for(const TableSpec& spec, const CellResult& cell) {
  for (const auto& p : spec.published)
    if (p.metrics.count(cell.metric) && dims_match(p.dims, cell.dims) && agrees_with_where(spec, p)) return &p;
  return nullptr;
}

// The cell's results by their other dimensions (those neither the cell nor where: fixes). A
// published value that names more dimensions (iteration, ...) fixes them for ours too.
std::map<Dims, Group> group_results(const TableSpec& spec, const CellResult& cell, const PublishedValue* published,
                                    const std::vector<const Observation*>& selected) {
  Dims fixed = cell.dims;
  if (published)
    for (const auto& [d, v] : published->dims)
      if (!spec.where.count(d)) fixed[d] = v;
  std::map<Dims, Group> groups;
  for (const auto* o : selected) {
    if (o->metric != cell.metric || !dims_match(o->dims, fixed)) continue;
    Dims other;
    for (const auto& [d, v] : o->dims)
      if (!cell.dims.count(d) && !spec.where.count(d)) other[d] = v;
    groups[other].push_back(o);
  }
  return groups;
}

// Chooses among groups of results that differ in dimensions the table does not name.
const Group* pick_group(const TableSpec& spec, const std::string& metric, const std::map<Dims, Group>& groups) {
  if (groups.empty()) return nullptr;
  bool by_best = false;
  for (const auto& [d, p] : spec.pick) by_best = by_best || p == Pick::kBest;
  auto mean = [](const Group& g) {
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
      const bool first = spec.pick.count(d) && spec.pick.at(d) == Pick::kFirst;
      return first ? dim_less(y, x) : dim_less(x, y);  // "less" = less preferred
    }
    return false;
  };
  const Group* chosen = nullptr;
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

// One value per run: a run evaluated twice in the same cell (an eval task rerun with another spec)
// is one seed, not two; the last result in result-id order stands.
Group one_per_run(const Group& picked) {
  std::map<std::string, const Observation*> per_run;
  for (const auto* o : picked) per_run[o->run_id] = o;
  Group kept;
  for (const auto* o : picked)
    if (per_run.at(o->run_id) == o) kept.push_back(o);
  return kept;
}

// "train.lr" for the JSON pointer "/train/lr".
std::string dotted(const std::string& pointer) {
  std::string out;
  for (size_t i = 0; i < pointer.size(); ++i) {
    if (pointer[i] == '/') {
      if (i > 0) out += '.';
    } else if (pointer[i] == '~' && i + 1 < pointer.size()) {
      out += pointer[++i] == '1' ? '/' : '~';
    } else {
      out += pointer[i];
    }
  }
  return out;
}

// The keys in which two configs differ, dotted, ascending.
std::set<std::string> differing_keys(const nlohmann::json& a, const nlohmann::json& b) {
  std::set<std::string> keys;
  for (const auto& op : nlohmann::json::diff(a, b)) keys.insert(dotted(op.value("path", "")));
  return keys;
}

// Keeps, of runs whose configs differ beyond the seed, those of the newest config (the run put
// last, then the later matrix position): after a changed config they are what the file now
// asks for. Runs with an unknown seed (RunConfig::without_seed null) are kept. Returns the
// difference for the cell's warnings; "" when the configs agree.
std::string keep_newest_config(Group& kept, const RunConfigs& configs) {
  std::map<std::string, const RunConfig*> by_config;  // config text -> one run's config with it
  const RunConfig* newest = nullptr;
  for (const auto* o : kept) {
    auto it = configs.find(o->run_id);
    if (it == configs.end() || it->second.without_seed.is_null()) continue;
    const RunConfig& c = it->second;
    by_config.emplace(c.without_seed.dump(), &c);
    if (!newest || std::make_pair(c.created, c.position) > std::make_pair(newest->created, newest->position))
      newest = &c;
  }
  if (by_config.size() < 2) return "";
  const std::string chosen = newest->without_seed.dump();
  std::set<std::string> keys;
  for (const auto& [text, config] : by_config)
    if (text != chosen) keys.merge(differing_keys(newest->without_seed, config->without_seed));
  Group same;
  for (const auto* o : kept) {
    auto it = configs.find(o->run_id);
    if (it == configs.end() || it->second.without_seed.is_null() || it->second.without_seed.dump() == chosen)
      same.push_back(o);
  }
  const size_t left_out = kept.size() - same.size();
  kept = std::move(same);
  auto runs = [](size_t n) { return std::to_string(n) + (n == 1 ? " run" : " runs"); };
  return "configs differ beyond train.seed in " + join(std::vector<std::string>(keys.begin(), keys.end()), ", ") +
         ": averaged the newest config's " + runs(kept.size()) + " alone, left out " + runs(left_out);
}

// "<table> [d=v, ..., metric=m]: the runs of this cell differ: <difference>"
std::string cell_warning(const TableSpec& spec, const CellResult& cell, const std::string& difference) {
  std::string where;
  for (const auto& [d, v] : cell.dims) where += (where.empty() ? "" : ", ") + d + "=" + v;
  return spec.id + " [" + where + (where.empty() ? "" : ", ") + "metric=" + cell.metric +
         "]: the runs of this cell differ: " + difference;
}

// Ours over the seeds of `kept` into the verdict's input, and the cell's runs, picked dimensions
// and provenance warnings.
void aggregate_seeds(const TableSpec& spec, const Group& kept, const ProvenanceIndex& provenance, CellResult& cell,
                     VerdictInput& in, std::vector<std::string>& warnings) {
  std::vector<double> values;
  std::set<std::string> runs;
  for (const auto* o : kept) {
    values.push_back(o->value);
    runs.insert(o->run_id);
    in.comparable = in.comparable && o->comparable;
    if (o->num_samples > 0)
      in.num_samples = in.num_samples == 0 ? o->num_samples : std::min(in.num_samples, o->num_samples);
  }
  in.ours = seed_stats(values);
  cell.runs.assign(runs.begin(), runs.end());
  for (const auto& [d, v] : kept.front()->dims)
    if (!cell.dims.count(d) && !spec.where.count(d)) cell.picked[d] = v;
  cell.warnings = provenance_differences(provenance, kept);
  for (const auto& w : cell.warnings) warnings.push_back(cell_warning(spec, cell, w));
}

}  // namespace

CellResult build_cell(const TableSpec& spec, const std::vector<std::string>& row_key,
                      const std::vector<std::string>& column_key, const std::vector<const Observation*>& selected,
                      const RunConfigs& configs, const ProvenanceIndex& provenance,
                      std::vector<std::string>& warnings) {
  CellResult cell = cell_at(spec, row_key, column_key);
  const PublishedValue* published = published_for(spec, cell);
  VerdictInput in;
  in.published_num_samples = spec.published_num_samples;
  if (published) in.published = published->metrics.at(cell.metric);
  const auto groups = group_results(spec, cell, published, selected);
  if (const Group* picked = pick_group(spec, cell.metric, groups)) {
    Group kept = one_per_run(*picked);
    const std::string config_difference = keep_newest_config(kept, configs);
    aggregate_seeds(spec, kept, provenance, cell, in, warnings);
    if (!config_difference.empty()) {
      cell.warnings.push_back(config_difference);
      warnings.push_back(cell_warning(spec, cell, config_difference));
    }
  }
  cell.ours = in.ours;
  cell.published = in.published;
  if (in.ours && in.published) cell.difference = in.ours->mean - *in.published;
  const Judgement j = judge(in, cell.metric, spec.tolerance_for(cell.metric));
  cell.verdict = j.verdict;
  cell.note = j.note;
  return cell;
}

void mark_best(TableResult& table) {
  if (table.spec.best == BestIn::kNone) return;
  const bool by_column = table.spec.best == BestIn::kColumn;
  const size_t outer = by_column ? table.column_keys.size() : table.row_keys.size();
  const size_t inner = by_column ? table.row_keys.size() : table.column_keys.size();
  for (size_t a = 0; a < outer; ++a) {
    auto at = [&](size_t b) -> CellResult& { return by_column ? table.cells[b][a] : table.cells[a][b]; };
    std::map<std::string, double> best;
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

}  // namespace repro::reports

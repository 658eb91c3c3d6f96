// repro results: an experiment's results, one row per run x result id, as a text table, CSV or JSON.
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "base/util/errors.h"
#include "base/util/strings.h"
#include "reports/inspect.h"
#include "reports/observations.h"
#include "reports/report_spec.h"
#include "reports/text_escape.h"
#include "store/inspect_queries.h"

namespace repro::reports {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

using Filters = std::map<std::string, std::vector<std::string>>;  // key -> accepted values

Filters parse_filters(const std::vector<std::string>& where, const std::set<std::string>& keys) {
  Filters out;
  for (const auto& w : where) {
    const auto eq = w.find('=');
    if (eq == std::string::npos || eq == 0)
      throw ConfigError("repro results", "--where", "expected KEY=VALUE, got '" + w + "'");
    const std::string key = w.substr(0, eq);
    if (!keys.count(key))
      throw ConfigError("repro results", "--where",
                        "unknown key '" + key + "' (an axis, source or a sampling setting: " +
                            join(std::vector<std::string>(keys.begin(), keys.end()), ", ") + ")");
    out[key].push_back(w.substr(eq + 1));
  }
  return out;
}

bool accepted(const Filters& filters, const std::string& key, const std::string& value) {
  const auto f = filters.find(key);
  if (f == filters.end()) return true;
  return std::any_of(f->second.begin(), f->second.end(), [&](const std::string& v) { return dim_equal(value, v); });
}

bool row_accepted(const Filters& filters, const ResultsTable::Row& row) {
  for (const auto& [axis, label] : row.axes.items())
    if (!accepted(filters, axis, scalar_text(label, ""))) return false;
  if (!row.axes.contains(kSourceDimension) && !accepted(filters, kSourceDimension, source_value(row.released)))
    return false;
  for (size_t i = 0; i < row.settings.size(); ++i)
    if (!accepted(filters, sampling_settings()[i].first, scalar_text(row.settings[i], ""))) return false;
  return true;
}

ResultCell cell_of(const json& v) { return {scalar_text(v, ""), v.is_number()}; }

// 6 significant digits: FID 3.17, IS 9.4615, recall 0.5823; CSV and JSON keep every digit.
std::string short_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// Text is neutralised against spreadsheet formulas; numbers repro wrote stay as they are.
std::string csv_cell(const ResultCell& c) { return c.number ? csv_field(c.text) : csv_text(c.text); }

}  // namespace

ResultsTable results_table(runner::Store& store, const std::string& experiment, const std::vector<std::string>& where,
                           bool include_stale) {
  ResultsTable t;
  t.experiment = experiment;
  t.with_stale = include_stale;
  std::set<std::string> axes;
  for (const auto& a : runner::axes_of_experiment(store, experiment)) {
    const json j = json::parse(a, nullptr, false);
    if (j.is_object())
      for (const auto& [axis, label] : j.items()) axes.insert(axis);
  }
  t.axes.assign(axes.begin(), axes.end());
  std::set<std::string> keys = axes;
  keys.insert(kSourceDimension);
  for (const auto& s : sampling_settings()) keys.insert(s.first);
  const Filters filters = parse_filters(where, keys);

  std::vector<ResultsTable::Row> rows;
  std::vector<std::map<std::string, double>> values;  // [row]: metric -> value
  // Stale rows too: those the filters keep are counted in stale_left_out when left out.
  for (const auto& r : runner::experiment_results(store, experiment, true)) {
    if (rows.empty() || rows.back().run_id != r.run_id || rows.back().result_id != r.result_id) {
      ResultsTable::Row row;
      row.run_id = r.run_id;
      row.result_id = r.result_id;
      row.stale = r.stale;
      row.released = r.released;
      const ojson a = ojson::parse(r.axes, nullptr, false);
      if (a.is_object()) row.axes = a;
      row.settings = setting_values(r.sample_spec);
      rows.push_back(std::move(row));
      values.emplace_back();
    }
    values.back()[r.metric] = r.value;
  }
  // The metric columns are those of the rows the filters keep.
  std::vector<bool> keep(rows.size());
  std::set<std::string> metrics, stale_left_out;
  for (size_t i = 0; i < rows.size(); ++i) {
    keep[i] = row_accepted(filters, rows[i]);
    if (keep[i] && rows[i].stale && !include_stale) {
      stale_left_out.insert(rows[i].run_id);
      keep[i] = false;
    }
    if (!keep[i]) continue;
    for (const auto& [m, v] : values[i]) metrics.insert(m);
    t.with_source = t.with_source || (rows[i].released && !axes.count(kSourceDimension));
  }
  t.metrics.assign(metrics.begin(), metrics.end());
  t.stale_left_out = static_cast<int>(stale_left_out.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    if (!keep[i]) continue;
    for (const auto& m : t.metrics) {
      const auto v = values[i].find(m);
      rows[i].metrics.push_back(v == values[i].end() ? std::nullopt : std::optional<double>(v->second));
    }
    t.rows.push_back(std::move(rows[i]));
  }
  return t;
}

std::vector<std::string> results_header(const ResultsTable& t) {
  std::vector<std::string> h;
  if (t.with_stale) h.push_back("stale");
  h.insert(h.end(), t.axes.begin(), t.axes.end());
  h.push_back("run");
  if (t.with_source) h.push_back(kSourceDimension);
  for (const auto& s : sampling_settings()) h.push_back(s.first);
  h.insert(h.end(), t.metrics.begin(), t.metrics.end());
  return h;
}

std::vector<std::vector<ResultCell>> results_cells(const ResultsTable& t) {
  std::vector<std::vector<ResultCell>> out;
  for (const auto& row : t.rows) {
    std::vector<ResultCell> cells;
    if (t.with_stale) cells.push_back({row.stale ? "stale" : "", false});
    for (const auto& axis : t.axes)
      cells.push_back(row.axes.contains(axis) ? cell_of(json(row.axes.at(axis))) : ResultCell{});
    cells.push_back({row.run_id, false});
    if (t.with_source) cells.push_back({source_value(row.released), false});
    for (const auto& s : row.settings) cells.push_back(cell_of(s));
    for (const auto& m : row.metrics) cells.push_back(m ? ResultCell{format_number(*m), true} : ResultCell{});
    out.push_back(std::move(cells));
  }
  return out;
}

std::string render_results_table(const ResultsTable& t) {
  const auto header = results_header(t);
  auto cells = results_cells(t);
  const size_t first_metric = header.size() - t.metrics.size();
  for (auto& row : cells)
    for (size_t c = first_metric; c < row.size(); ++c)
      if (row[c].number) row[c].text = short_number(std::stod(row[c].text));
  // A column of numbers (empty cells aside) is right-aligned, its header too.
  std::vector<size_t> width(header.size());
  std::vector<bool> right(header.size());
  for (size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    bool numbers = false, texts = false;
    for (const auto& row : cells) {
      width[c] = std::max(width[c], row[c].text.size());
      (row[c].number ? numbers : texts) |= !row[c].text.empty();
    }
    right[c] = numbers && !texts;
  }
  std::ostringstream o;
  auto line = [&](const std::vector<std::string>& row) {
    std::string s;
    for (size_t c = 0; c < row.size(); ++c) {
      const std::string pad(width[c] - row[c].size(), ' ');
      s += (c ? "  " : "") + (right[c] ? pad + row[c] : row[c] + pad);
    }
    o << s.substr(0, s.find_last_not_of(' ') + 1) << "\n";
  };
  line(header);
  for (const auto& row : cells) {
    std::vector<std::string> text;
    text.reserve(row.size());
    for (const auto& c : row) text.push_back(c.text);
    line(text);
  }
  return o.str();
}

std::string render_results_csv(const ResultsTable& t) {
  std::ostringstream o;
  std::vector<ResultCell> head;
  for (const auto& h : results_header(t)) head.push_back({h, false});
  auto cells = results_cells(t);
  cells.insert(cells.begin(), head);
  for (const auto& row : cells) {
    for (size_t c = 0; c < row.size(); ++c) o << (c ? "," : "") << csv_cell(row[c]);
    o << "\n";
  }
  return o.str();
}

std::string render_results_json(const ResultsTable& t) {
  ojson rows = ojson::array();
  for (const auto& row : t.rows) {
    ojson j = {{"experiment", t.experiment},
               {"run_id", row.run_id},
               {"result_id", row.result_id},
               {"source", source_value(row.released)}};
    if (t.with_stale) j["stale"] = row.stale;
    j["axes"] = row.axes;
    ojson settings = ojson::object();
    for (size_t i = 0; i < row.settings.size(); ++i) settings[sampling_settings()[i].first] = row.settings[i];
    j["settings"] = settings;
    ojson metrics = ojson::object();
    for (size_t i = 0; i < t.metrics.size(); ++i)
      if (row.metrics[i]) metrics[t.metrics[i]] = *row.metrics[i];
    j["metrics"] = metrics;
    rows.push_back(j);
  }
  return dump_json(rows, 2) + "\n";
}

}  // namespace repro::reports

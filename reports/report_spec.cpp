#include "reports/report_spec.h"

#include <regex>
#include <set>

#include "base/util/errors.h"
#include "base/util/strings.h"
#include "config/strict_yaml.h"

namespace repro::reports {
namespace {

using config::StrictMap;

std::string line_of(const std::string& file, const YAML::Node& n) {
  const auto m = n.Mark();
  return file + ":" + (m.line >= 0 ? std::to_string(m.line + 1) : std::string("?"));
}

// A list of strings (or one string) under key.
std::vector<std::string> string_list(StrictMap& m, const std::string& key) {
  YAML::Node n = m.raw(key);
  std::vector<std::string> out;
  if (!n || n.IsNull()) return out;
  if (n.IsScalar()) return {n.Scalar()};
  if (!n.IsSequence()) m.fail(key, "expected a list of names");
  for (const auto& e : n) {
    if (!e.IsScalar()) m.fail(key, "expected a list of names, got an entry that is not a name");
    out.push_back(e.Scalar());
  }
  return out;
}

std::map<std::string, std::string> scalar_map(StrictMap& m, const std::string& key) {
  YAML::Node n = m.raw(key);
  std::map<std::string, std::string> out;
  if (!n || n.IsNull()) return out;
  if (!n.IsMap()) m.fail(key, "expected a mapping of dimension: value");
  for (const auto& kv : n) {
    if (!kv.second.IsScalar()) m.fail(key, "expected a plain value for '" + kv.first.Scalar() + "'");
    out[kv.first.Scalar()] = kv.second.Scalar();
  }
  return out;
}

Tolerance read_tolerance(const YAML::Node& n, const std::string& file, const std::string& path) {
  StrictMap m(n, file, path);
  int given = 0;
  Tolerance t;
  for (const auto& [key, kind] : {std::pair<const char*, Tolerance::Kind>{"absolute", Tolerance::Kind::kAbsolute},
                                  {"relative", Tolerance::Kind::kRelative},
                                  {"seeds", Tolerance::Kind::kSeeds}}) {
    if (!m.has(key)) continue;
    ++given;
    t.kind = kind;
    m.get(key, t.amount);
    if (!(t.amount >= 0)) m.fail(key, "expected a number >= 0");
  }
  m.finish();
  if (given != 1)
    throw ConfigError(line_of(file, n), path,
                      "expected exactly one of absolute, relative, seeds (e.g. {relative: 0.05})");
  return t;
}

struct Context {
  std::string file;
  std::vector<std::string> dims;  // axes (not seed) + evaluation dimensions
};

void check_dimension(const StrictMap& m, const std::string& key, const std::string& dim, const Context& c,
                     bool metric_allowed) {
  if (dim == "seed") m.fail(key, "seed is averaged over (mean +- std), never a table dimension");
  if (dim == kMetricDimension && metric_allowed) return;
  if (!contains(c.dims, dim))
    m.fail(key, "unknown dimension '" + dim + "'; expected one of: " + join(c.dims, ", ") +
                    (metric_allowed ? ", metric" : ""));
}

// rows and columns; metric becomes the last column when neither names it. Returns every
// dimension they use, which `where` may then not fix.
std::set<std::string> read_dimensions(StrictMap& m, const Context& c, TableSpec& t) {
  t.rows = string_list(m, "rows");
  t.columns = string_list(m, "columns");
  std::set<std::string> seen;
  for (const auto* list : {&t.rows, &t.columns})
    for (const auto& d : *list) {
      const std::string key = list == &t.rows ? "rows" : "columns";
      check_dimension(m, key, d, c, true);
      if (!seen.insert(d).second) m.fail(key, "dimension '" + d + "' listed twice");
    }
  if (!seen.count(kMetricDimension)) t.columns.push_back(kMetricDimension);
  return seen;
}

void read_metrics(StrictMap& m, TableSpec& t) {
  t.metrics = string_list(m, "metrics");
  if (t.metrics.empty()) m.fail("metrics", "expected at least one of: " + join(known_metrics(), ", "));
  for (const auto& metric : t.metrics)
    if (!contains(known_metrics(), metric))
      m.fail("metrics", "unknown metric '" + metric + "'; expected one of: " + join(known_metrics(), ", "));
}

void read_where(StrictMap& m, const Context& c, const std::set<std::string>& table_dims, TableSpec& t) {
  t.where = scalar_map(m, "where");
  for (const auto& [d, v] : t.where) {
    check_dimension(m, "where", d, c, false);
    if (table_dims.count(d))
      m.fail("where", "'" + d + "' is a row or column dimension; it cannot also be fixed by where");
  }
}

void read_pick(StrictMap& m, const Context& c, TableSpec& t) {
  for (const auto& [d, v] : scalar_map(m, "pick")) {
    check_dimension(m, "pick", d, c, false);
    if (v == "last")
      t.pick[d] = Pick::kLast;
    else if (v == "first")
      t.pick[d] = Pick::kFirst;
    else if (v == "best")
      t.pick[d] = Pick::kBest;
    else
      m.fail("pick", "expected last, first or best for '" + d + "', got '" + v + "'");
  }
}

// labels: {dimension: {value: display name}}.
void read_labels(StrictMap& m, const Context& c, TableSpec& t) {
  YAML::Node labels = m.raw("labels");
  if (!labels || labels.IsNull()) return;
  StrictMap lm(labels, c.file, m.key_path("labels"));
  for (const auto& kv : labels) {
    const std::string d = kv.first.Scalar();
    check_dimension(lm, d, d, c, true);
    StrictMap vm(kv.second, c.file, lm.key_path(d));
    for (const auto& v : kv.second) {
      if (!v.second.IsScalar()) vm.fail(v.first.Scalar(), "expected a display name");
      t.labels[d][v.first.Scalar()] = v.second.Scalar();
    }
  }
}

void read_best(StrictMap& m, TableSpec& t) {
  std::string best = "column";
  m.get("best", best);
  if (best == "column")
    t.best = BestIn::kColumn;
  else if (best == "row")
    t.best = BestIn::kRow;
  else if (best == "none")
    t.best = BestIn::kNone;
  else
    m.fail("best", "expected column, row or none, got '" + best + "'");
}

// tolerance: {default | metric: {absolute | relative | seeds: amount}}.
void read_tolerances(StrictMap& m, const Context& c, TableSpec& t) {
  YAML::Node tol = m.raw("tolerance");
  if (!tol || tol.IsNull()) return;
  StrictMap tm(tol, c.file, m.key_path("tolerance"));
  for (const auto& kv : tol) {
    const std::string metric = kv.first.Scalar();
    if (metric != "default" && !contains(known_metrics(), metric))
      tm.fail(metric, "expected default or a metric (" + join(known_metrics(), ", ") + ")");
    t.tolerance[metric] = read_tolerance(kv.second, c.file, tm.key_path(metric));
  }
}

// One published number set: {dimension: value, ..., metric: number}.
PublishedValue read_published_value(const YAML::Node& n, const Context& c, const std::string& vpath,
                                    const TableSpec& t) {
  StrictMap em(n, c.file, vpath);
  PublishedValue pv;
  pv.where = line_of(c.file, n);
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    if (!kv.second.IsScalar()) em.fail(key, "expected a plain value");
    if (contains(known_metrics(), key)) {
      double v = 0;
      em.get(key, v);
      pv.metrics[key] = v;
    } else {
      check_dimension(em, key, key, c, false);
      pv.dims[key] = kv.second.Scalar();
    }
  }
  if (pv.metrics.empty())
    throw ConfigError(pv.where, vpath, "expected at least one metric value (" + join(t.metrics, ", ") + ")");
  return pv;
}

void read_published(StrictMap& m, const Context& c, TableSpec& t) {
  YAML::Node pub = m.raw("published");
  if (!pub || pub.IsNull()) return;
  StrictMap pm(pub, c.file, m.key_path("published"));
  pm.get("source", t.published_source);
  pm.get("num_samples", t.published_num_samples);
  if (t.published_num_samples <= 0) pm.fail("num_samples", "expected > 0");
  YAML::Node values = pm.raw("values");
  if (values && !values.IsNull()) {
    if (!values.IsSequence()) pm.fail("values", "expected a list of {dimension: value, ..., metric: number}");
    for (size_t i = 0; i < values.size(); ++i) {
      const std::string vpath = pm.key_path("values") + "[" + std::to_string(i) + "]";
      t.published.push_back(read_published_value(values[i], c, vpath, t));
    }
  }
  pm.finish();
}

// The keys are read in the order docs/reports.md lists them, so the first error is the first
// in that order.
TableSpec read_table(const YAML::Node& n, const Context& c, const std::string& path) {
  StrictMap m(n, c.file, path);
  TableSpec t;
  t.where_defined = line_of(c.file, n);
  m.get("id", t.id);
  if (!std::regex_match(t.id, std::regex("[A-Za-z0-9_.-]+")))
    m.fail("id", "expected a name of letters, digits, _ . - (got '" + t.id + "')");
  m.get("title", t.title);
  if (t.title.empty()) t.title = t.id;
  const std::set<std::string> table_dims = read_dimensions(m, c, t);
  read_metrics(m, t);
  read_where(m, c, table_dims, t);
  read_pick(m, c, t);
  read_labels(m, c, t);
  read_best(m, t);
  m.get("decimals", t.decimals);
  if (t.decimals < 0 || t.decimals > 6) m.fail("decimals", "expected 0..6, got " + std::to_string(t.decimals));
  read_tolerances(m, c, t);
  read_published(m, c, t);
  m.finish();
  return t;
}

}  // namespace

const std::vector<std::string>& known_metrics() {
  static const std::vector<std::string> m = {"fid", "sfid", "is", "precision", "recall", "kid"};
  return m;
}

bool lower_is_better(const std::string& metric) { return metric == "fid" || metric == "sfid" || metric == "kid"; }

Tolerance TableSpec::tolerance_for(const std::string& metric) const {
  if (auto it = tolerance.find(metric); it != tolerance.end()) return it->second;
  if (auto it = tolerance.find("default"); it != tolerance.end()) return it->second;
  return Tolerance{};
}

std::string TableSpec::label(const std::string& dimension, const std::string& value) const {
  if (auto d = labels.find(dimension); d != labels.end())
    if (auto v = d->second.find(value); v != d->second.end()) return v->second;
  if (dimension == kMetricDimension) {
    static const std::map<std::string, std::string> names = {{"fid", "FID"},       {"sfid", "sFID"},
                                                             {"is", "IS"},         {"precision", "Precision"},
                                                             {"recall", "Recall"}, {"kid", "KID"}};
    if (auto it = names.find(value); it != names.end()) return it->second;
  }
  return value;
}

ReportSpec read_report_spec(const YAML::Node& report, const std::string& file, const std::vector<std::string>& axes) {
  ReportSpec spec;
  if (!report || report.IsNull()) return spec;
  Context c{file, {}};
  for (const auto& a : axes)
    if (a != "seed") c.dims.push_back(a);
  for (const auto& d : eval_dimensions())
    if (!contains(c.dims, d)) c.dims.push_back(d);
  StrictMap m(report, file, "report");
  YAML::Node tables = m.raw("tables");
  if (!tables || !tables.IsSequence() || tables.size() == 0)
    m.fail("tables", "expected a list of tables (docs/reports.md)");
  std::set<std::string> ids;
  for (size_t i = 0; i < tables.size(); ++i) {
    auto t = read_table(tables[i], c, m.key_path("tables") + "[" + std::to_string(i) + "]");
    if (!ids.insert(t.id).second)
      throw ConfigError(t.where_defined, m.key_path("tables") + "[" + std::to_string(i) + "].id",
                        "table id '" + t.id + "' is used twice");
    spec.tables.push_back(std::move(t));
  }
  m.finish();
  return spec;
}

TableSpec default_table(const std::vector<std::string>& axes, const std::vector<std::string>& varying_eval_dims,
                        const std::vector<std::string>& metrics) {
  TableSpec t;
  t.id = "results";
  t.title = "Results";
  for (const auto& a : axes)
    if (a != "seed") t.rows.push_back(a);
  for (const auto& d : varying_eval_dims)
    if (!contains(t.rows, d)) t.rows.push_back(d);
  t.columns = {kMetricDimension};
  t.metrics = metrics;
  return t;
}

}  // namespace repro::reports

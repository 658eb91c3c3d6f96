#include "reports/baseline_compare.h"

#include <cmath>
#include <cstdlib>
#include <sstream>

#include "base/util/errors.h"
#include "base/util/strings.h"
#include "reports/cell_format.h"
#include "reports/observations.h"
#include "reports/render.h"
#include "reports/text_escape.h"
#include "reports/verdict.h"

namespace repro::reports {
namespace {

using json = nlohmann::json;

std::string cell_of(const json& dims) {
  if (!dims.is_object() || dims.empty()) return "all";
  return join(dims.items(), ", ", [](const auto& kv) {
    return kv.key() + "=" + (kv.value().is_string() ? kv.value().template get<std::string>() : kv.value().dump());
  });
}

std::string key_of(const json& v) {
  return v.value("table", "") + "\n" + v.value("metric", "") + "\n" + cell_of(v.value("dims", json::object()));
}

Tolerance read_one(const std::string& text) {
  Tolerance t;
  std::string amount = text;
  if (starts_with(text, "abs:"))
    t.kind = Tolerance::Kind::kAbsolute, amount = text.substr(4);
  else if (starts_with(text, "rel:"))
    t.kind = Tolerance::Kind::kRelative, amount = text.substr(4);
  char* end = nullptr;
  t.amount = std::strtod(amount.c_str(), &end);
  if (amount.empty() || *end != '\0' || !(t.amount >= 0))
    throw ConfigError("repro compare", "--tolerance",
                      "expected [METRIC=]abs:X or rel:X or a number (relative), got '" + text + "'");
  return t;
}

}  // namespace

const Tolerance& CompareTolerance::for_metric(const std::string& metric) const {
  auto it = by_metric.find(metric);
  return it == by_metric.end() ? fallback : it->second;
}

CompareTolerance parse_compare_tolerance(const std::vector<std::string>& specs) {
  CompareTolerance c;
  for (const auto& spec : specs) {
    std::stringstream parts(spec);
    std::string part;
    while (std::getline(parts, part, ',')) {
      const auto eq = part.find('=');
      if (eq == std::string::npos) {
        c.fallback = read_one(part);
        continue;
      }
      const std::string metric = part.substr(0, eq);
      bool known = false;
      for (const auto& m : known_metrics()) known = known || m == metric;
      if (!known)
        throw ConfigError("repro compare", "--tolerance", "unknown metric '" + metric + "' in '" + part + "'");
      c.by_metric[metric] = read_one(part.substr(eq + 1));
    }
  }
  return c;
}

std::string to_string(Movement m) {
  switch (m) {
    case Movement::kWithin:
      return "within tolerance";
    case Movement::kImproved:
      return "improved";
    case Movement::kRegressed:
      return "regressed";
    case Movement::kMissing:
      return "missing";
  }
  return "";
}

int Comparison::count(Movement m) const {
  int n = 0;
  for (const auto& v : values) n += v.movement == m ? 1 : 0;
  return n;
}

void check_baseline(const json& b, const std::string& experiment, const std::string& name) {
  auto fail = [&](const std::string& what) { throw ConfigError(name, "--baseline", what); };
  if (!b.is_object() || b.value("format", "") != kReportFormatName)
    fail("not a repro report baseline (expected \"format\": \"" + std::string(kReportFormatName) +
         "\", written by `repro report --format json` or `repro compare --write-baseline`)");
  if (b.value("placeholder", false))
    fail("a placeholder, not a recorded baseline: " +
         b.value("message", std::string("record one (docs/reports.md, Baselines)")));
  if (!b.contains("version") || !b["version"].is_number_integer() || b["version"].get<int>() != kReportFormatVersion)
    fail("baseline format version " + (b.contains("version") ? b["version"].dump() : std::string("(none)")) +
         "; this repro reads version " + std::to_string(kReportFormatVersion) +
         ": record it again with `repro compare --write-baseline` (docs/reports.md, Baselines)");
  if (b.value("experiment", "") != experiment)
    fail("a baseline of experiment '" + b.value("experiment", std::string()) + "', not of '" + experiment + "'");
  bool any = false;
  if (b.contains("values") && b["values"].is_array())
    for (const auto& v : b["values"]) any = any || (v.contains("mean") && v["mean"].is_number());
  if (!any) fail("holds no values of ours to compare with");
}

Comparison compare_reports(const json& baseline, const json& current, const CompareTolerance& tolerance) {
  Comparison c;
  c.experiment = baseline.value("experiment", "");
  std::map<std::string, const json*> now;
  for (const auto& v : current["values"])
    if (v.contains("mean") && v["mean"].is_number()) now[key_of(v)] = &v;
  std::map<std::string, bool> used;
  for (const auto& b : baseline["values"]) {
    if (!b.contains("mean") || !b["mean"].is_number()) continue;
    ComparedValue cv;
    cv.table = b.value("table", "");
    cv.metric = b.value("metric", "");
    cv.cell = cell_of(b.value("dims", json::object()));
    cv.baseline = b["mean"].get<double>();
    const std::string key = key_of(b);
    auto it = now.find(key);
    const std::string what = cv.table + " " + cv.metric + " [" + cv.cell + "]";
    if (it == now.end()) {
      cv.movement = Movement::kMissing;
      cv.message = what + ": missing (baseline " + format_number(cv.baseline) + ")";
    } else {
      used[key] = true;
      const double cur = (*it->second)["mean"].get<double>();
      cv.current = cur;
      const Tolerance& tol = tolerance.for_metric(cv.metric);
      const double delta = cur - cv.baseline;
      if (within_tolerance(cur, cv.baseline, tol))
        cv.movement = Movement::kWithin;
      else if (lower_is_better(cv.metric) ? delta < 0 : delta > 0)
        cv.movement = Movement::kImproved;
      else
        cv.movement = Movement::kRegressed;
      const std::string bound = tol.kind == Tolerance::Kind::kAbsolute ? "absolute " + format_number(tol.amount)
                                                                       : "relative " + format_number(tol.amount);
      cv.message = what + ": " + format_number(cv.baseline) + " -> " + format_number(cur) + " (" +
                   format_signed(delta, 4) + "; tolerance " + bound + "): " + to_string(cv.movement);
    }
    c.values.push_back(std::move(cv));
  }
  for (const auto& [key, v] : now) c.new_values += used.count(key) ? 0 : 1;
  return c;
}

std::string comparison_text(const Comparison& c) {
  std::ostringstream o;
  for (const auto& v : c.values)
    if (v.movement != Movement::kWithin) o << v.message << "\n";
  o << c.experiment << ": " << c.values.size() << " values compared: " << c.count(Movement::kWithin)
    << " within tolerance, " << c.count(Movement::kImproved) << " improved, " << c.count(Movement::kRegressed)
    << " regressed, " << c.count(Movement::kMissing) << " missing";
  if (c.new_values) o << "; " << c.new_values << " new (not in the baseline)";
  o << (c.ok() ? ": ok\n" : ": FAILED\n");
  return o.str();
}

std::string junit_xml(const Comparison& c) {
  std::ostringstream o;
  const int failures = c.count(Movement::kRegressed) + c.count(Movement::kMissing);
  o << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  o << "<testsuites name=\"repro compare\" tests=\"" << c.values.size() << "\" failures=\"" << failures << "\">\n";
  o << "  <testsuite name=\"" << xml_escape(c.experiment) << "\" tests=\"" << c.values.size() << "\" failures=\""
    << failures << "\" errors=\"0\" skipped=\"0\">\n";
  for (const auto& v : c.values) {
    o << "    <testcase classname=\"" << xml_escape(c.experiment + "." + v.table + "." + v.metric) << "\" name=\""
      << xml_escape(v.cell) << "\"";
    if (v.movement == Movement::kRegressed || v.movement == Movement::kMissing) {
      o << ">\n      <failure message=\"" << xml_escape(to_string(v.movement)) << "\" type=\""
        << xml_escape(to_string(v.movement)) << "\">" << xml_escape(v.message) << "</failure>\n    </testcase>\n";
    } else {
      o << ">\n      <system-out>" << xml_escape(v.message) << "</system-out>\n    </testcase>\n";
    }
  }
  o << "  </testsuite>\n</testsuites>\n";
  return o.str();
}

}  // namespace repro::reports

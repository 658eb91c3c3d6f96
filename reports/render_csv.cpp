#include <algorithm>
#include <cstdio>
#include <sstream>

#include "base/util/strings.h"
#include "reports/cell_format.h"
#include "reports/observations.h"
#include "reports/render.h"
#include "reports/text_escape.h"

namespace repro::reports {
namespace {

// 12 significant digits: what pandas needs, without the last-bit noise of a mean (5.699999999999999).
std::string tidy(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.12g", v);
  return buf;
}

std::string number(const std::optional<double>& v) { return v ? tidy(*v) : ""; }

// The texts of the banners whose marks the cell carries, "; "-separated.
std::string banner_texts(const Report& r, const CellResult& c) {
  std::vector<std::string> texts;
  for (const auto& b : r.banners)
    if (std::find(c.marks.begin(), c.marks.end(), b.mark) != c.marks.end()) texts.push_back(b.text);
  return join(texts, "; ");
}

}  // namespace

// Tidy: one row per value (a cell with ours or a published number); the dimension columns are
// the union over the tables, empty where a table does not have the dimension. Text fields go
// through csv_text (no live formulas); our numbers stay numbers. The banners (result_banners.h)
// are the last two columns of the rows they concern, not lines above the header: pandas'
// read_csv and spreadsheets then read the file as it is.
std::string render_csv(const Report& r) {
  std::vector<std::string> dims;
  for (const auto& t : r.tables)
    for (const auto* side : {&t.spec.rows, &t.spec.columns})
      for (const auto& d : *side)
        if (d != kMetricDimension && std::find(dims.begin(), dims.end(), d) == dims.end()) dims.push_back(d);
  std::ostringstream o;
  o << "experiment,table";
  for (const auto& d : dims) o << "," << csv_text(d);
  o << ",metric,mean,std,n,published,difference,verdict,best,note,runs,picked,warnings,marks,banners\n";
  for (const auto& t : r.tables)
    for (const auto& row : t.cells)
      for (const auto& c : row) {
        if (c.verdict == Verdict::kEmpty) continue;
        o << csv_text(r.experiment) << "," << csv_text(t.spec.id);
        for (const auto& d : dims) o << "," << csv_text(c.dims.count(d) ? c.dims.at(d) : "");
        o << "," << csv_text(c.metric) << ",";
        if (c.ours)
          o << tidy(c.ours->mean) << "," << tidy(c.ours->std) << "," << c.ours->n;
        else
          o << ",,";
        const std::string runs = join(c.runs, ";");
        const std::string picked = join(c.picked, ";", [](const auto& kv) { return kv.first + "=" + kv.second; });
        const std::string warnings = join(c.warnings, "; ");
        o << "," << number(c.published) << "," << number(c.difference) << "," << csv_text(to_string(c.verdict)) << ","
          << (c.best ? "true" : "false") << "," << csv_text(c.note) << "," << csv_text(runs) << "," << csv_text(picked)
          << "," << csv_text(warnings) << "," << csv_text(join(c.marks, "")) << "," << csv_text(banner_texts(r, c))
          << "\n";
      }
  return o.str();
}

}  // namespace repro::reports

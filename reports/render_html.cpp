#include <algorithm>
#include <ostream>
#include <set>
#include <sstream>

#include "reports/cell_format.h"
#include "reports/render.h"
#include "reports/svg_plot.h"
#include "reports/text_escape.h"

namespace repro::reports {
namespace {

const char* const kStyle = R"css(
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border-bottom: 1px solid #ccc; padding: 4px 8px; text-align: center; }
thead th { border-bottom: 2px solid #444; }
td.key { text-align: left; }
.pub { color: #555; font-size: 85%; }
.reproduced { background: #e6f4ea; } .better { background: #e3f0fb; } .worse { background: #fde7e7; }
.missing { background: #f3f3f3; } .not-comparable { background: #fff6d6; }
.warn { color: #a15c00; }
.banner { background: #fff6d6; border-left: 4px solid #a15c00; padding: 6px 10px; }
figure { display: inline-block; margin: 0.5em; }
img.grid { image-rendering: pixelated; max-width: 320px; }
.figure-row { display: flex; flex-wrap: wrap; align-items: flex-start; }
)css";

// The verdict's word as a CSS class name ("not comparable" -> "not-comparable"); cells without a
// verdict against a published value get no colour.
std::string css_class(Verdict v) {
  if (v == Verdict::kNoPublished || v == Verdict::kEmpty) return "";
  std::string word = to_string(v);
  std::replace(word.begin(), word.end(), ' ', '-');
  return word;
}

std::string cell_html(const CellResult& c, int decimals) {
  const CellText t = cell_text(c, decimals);
  std::string s = t.ours.empty() ? "&mdash;" : (c.best ? "<b>" + t.ours + "</b>" : t.ours) + t.marks;
  if (!t.spread.empty()) s += " " + html_escape(t.spread);
  if (!t.published.empty()) {
    s += "<br><span class=\"pub\">paper " + t.published;
    if (!t.difference.empty()) s += " (" + t.difference + ")";
    if (!t.verdict.empty()) s += " &middot; " + html_escape(t.verdict);
    s += "</span>";
  }
  if (!c.warnings.empty()) s += " <span class=\"warn\">&#9888;</span>";
  return s;
}

void write_head(std::ostream& o, const Report& r) {
  o << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" << html_escape(r.experiment)
    << " &middot; repro report</title>\n<style>" << kStyle << "</style>\n</head>\n<body>\n";
  o << "<h1>" << html_escape(r.experiment) << "</h1>\n";
  if (!r.description.empty()) o << "<p>" << html_escape(r.description) << "</p>\n";
  if (!r.file.empty()) o << "<p>Experiment file: <code>" << html_escape(r.file) << "</code></p>\n";
  for (const auto& b : r.banners)
    o << "<p class=\"banner\"><b>" << b.mark << "</b> " << html_escape(b.text) << "</p>\n";
  if (!r.warnings.empty()) {
    o << "<h2>Warnings</h2>\n<ul class=\"warn\">\n";
    for (const auto& w : r.warnings) o << "<li>" << html_escape(w) << "</li>\n";
    o << "</ul>\n";
  }
}

// One header row of the column keys at `level`: equal consecutive prefixes merge into one
// colspan cell.
void header_row(std::ostream& o, const TableResult& t, size_t level) {
  const auto& spec = t.spec;
  const bool last = level + 1 == spec.columns.size();
  o << "<tr>";
  for (const auto& d : spec.rows) o << "<th>" << (last ? html_escape(d) : "") << "</th>";
  size_t col = 0;
  while (col < t.column_keys.size()) {
    size_t end = col + 1;
    auto same = [&](size_t a, size_t b) {
      for (size_t l = 0; l <= level; ++l)
        if (t.column_keys[a][l] != t.column_keys[b][l]) return false;
      return true;
    };
    while (end < t.column_keys.size() && same(col, end)) ++end;
    o << "<th colspan=\"" << end - col << "\">"
      << html_escape(spec.label(spec.columns[level], t.column_keys[col][level])) << "</th>";
    col = end;
  }
  o << "</tr>\n";
}

// The cell, with its warnings and note as a hover title.
void write_cell(std::ostream& o, const CellResult& c, int decimals) {
  std::string title;
  for (const auto& w : c.warnings) title += (title.empty() ? "" : "; ") + w;
  if (!c.note.empty()) title += (title.empty() ? "" : "; ") + c.note;
  o << "<td class=\"" << css_class(c.verdict) << "\"" << (title.empty() ? "" : " title=\"" + html_escape(title) + "\"")
    << ">" << cell_html(c, decimals) << "</td>";
}

void write_table(std::ostream& o, const TableResult& t) {
  const auto& spec = t.spec;
  o << "<h2 id=\"" << html_escape(spec.id) << "\">" << html_escape(spec.title) << "</h2>\n<table>\n<thead>\n";
  for (size_t level = 0; level < spec.columns.size(); ++level) header_row(o, t, level);
  o << "</thead>\n<tbody>\n";
  std::set<std::string> notes;
  for (size_t ri = 0; ri < t.row_keys.size(); ++ri) {
    o << "<tr>";
    for (const auto& l : key_labels(spec, spec.rows, t.row_keys[ri]))
      o << "<td class=\"key\">" << html_escape(l) << "</td>";
    for (const auto& c : t.cells[ri]) {
      write_cell(o, c, spec.decimals);
      if (!c.note.empty()) notes.insert(c.note);
    }
    o << "</tr>\n";
  }
  o << "</tbody>\n</table>\n<p class=\"pub\">";
  if (!spec.published_source.empty()) o << "Published: " << html_escape(spec.published_source) << ". ";
  o << "Tolerance: " << html_escape(describe_tolerances(spec)) << ". &plusmn;: standard deviation over seeds.";
  for (const auto& n : notes) o << " " << html_escape(n) << ".";
  o << "</p>\n";
}

// Per table its sample grids side by side (a row per sampling steps), then every plot, the
// exposure curves in a section of their own.
void write_figures(std::ostream& o, const Report& r) {
  for (const auto& g : grid_tables(r.grids)) {
    std::string title = g.table_id;
    for (const auto& t : r.tables)
      if (t.spec.id == g.table_id) title = t.spec.title;
    o << "<h2>Samples: " << html_escape(title) << "</h2>\n";
    for (const auto& [steps, grids] : g.rows) {
      o << "<div class=\"figure-row\">\n";
      for (const auto* grid : grids)
        if (grid)
          o << "<figure><img class=\"grid\" alt=\"samples of " << html_escape(grid->run_id)
            << "\" src=\"data:image/png;base64," << grid->png_base64 << "\"><figcaption>" << html_escape(grid->side)
            << " &middot; " << html_escape(steps) << " steps<br>" << html_escape(grid->run_id)
            << "</figcaption></figure>\n";
      o << "</div>\n";
    }
    o << "<p class=\"pub\">The first 64 samples of each run's sample task.</p>\n";
  }
  if (!r.fid_curves.empty() || !r.step_curves.empty() || !r.loss_curves.empty()) {
    o << "<h2>Curves</h2>\n";
    for (const auto* plots : {&r.fid_curves, &r.step_curves, &r.loss_curves})
      for (const auto& p : *plots) o << "<figure>\n" << svg_line_plot(p) << "</figure>\n";
  }
  if (!r.exposure_curves.empty()) {
    o << "<h2>Exposure bias</h2>\n<p class=\"pub\">" << html_escape(kExposureCaption) << "</p>\n";
    for (const auto& p : r.exposure_curves) o << "<figure>\n" << svg_line_plot(p) << "</figure>\n";
  }
}

void write_provenance(std::ostream& o, const Report& r) {
  o << "<h2>Provenance</h2>\n<table>\n<thead><tr>";
  for (const auto& [key, header] : provenance_columns()) o << "<th>" << html_escape(header) << "</th>";
  o << "</tr></thead>\n<tbody>\n";
  for (const auto& run : r.provenance) {
    o << "<tr>";
    for (const auto& [key, header] : provenance_columns())
      o << "<td>" << html_escape(provenance_value(run, key)) << "</td>";
    o << "</tr>\n";
  }
  o << "</tbody>\n</table>\n";
}

}  // namespace

std::string render_html(const Report& r) {
  std::ostringstream o;
  write_head(o, r);
  for (const auto& t : r.tables) write_table(o, t);
  write_figures(o, r);
  write_provenance(o, r);
  o << "</body>\n</html>\n";
  return o.str();
}

}  // namespace repro::reports

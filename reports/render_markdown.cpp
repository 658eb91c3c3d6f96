#include <set>
#include <sstream>

#include "reports/cell_format.h"
#include "reports/render.h"
#include "reports/text_escape.h"

namespace repro::reports {
namespace {

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

std::string cell_markdown(const CellResult& c, int decimals) {
  const CellText t = cell_text(c, decimals);
  std::string s = t.ours.empty() ? "—" : (c.best ? "**" + t.ours + "**" : t.ours);
  if (!t.spread.empty()) s += " " + t.spread;
  if (!t.published.empty()) s += " · paper " + t.published;
  if (!t.difference.empty()) s += " (" + t.difference + ")";
  if (!t.verdict.empty() && c.published) s += " · " + t.verdict;
  if (!c.warnings.empty()) s += " ⚠";
  return s;
}

}  // namespace

std::string render_markdown(const Report& r) {
  std::ostringstream o;
  o << "# " << markdown_escape(r.experiment) << "\n\n";
  if (!r.description.empty()) o << markdown_escape(r.description) << "\n\n";
  if (!r.file.empty()) o << "Experiment file: `" << r.file << "`\n\n";
  if (!r.warnings.empty()) {
    o << "## Warnings\n\n";
    for (const auto& w : r.warnings) o << "- " << markdown_escape(w) << "\n";
    o << "\n";
  }
  for (const auto& t : r.tables) {
    const auto& spec = t.spec;
    o << "## " << markdown_escape(spec.title) << "\n\n";
    o << "|";
    for (const auto& d : spec.rows) o << " " << markdown_escape(d) << " |";
    for (const auto& k : t.column_keys) o << " " << markdown_escape(join(key_labels(spec, spec.columns, k), " / ")) << " |";
    o << "\n|";
    for (size_t i = 0; i < spec.rows.size(); ++i) o << "---|";
    for (size_t i = 0; i < t.column_keys.size(); ++i) o << "---|";
    o << "\n";
    std::set<std::string> notes;
    for (size_t ri = 0; ri < t.row_keys.size(); ++ri) {
      o << "|";
      for (const auto& l : key_labels(spec, spec.rows, t.row_keys[ri])) o << " " << markdown_escape(l) << " |";
      for (const auto& c : t.cells[ri]) {
        o << " " << cell_markdown(c, spec.decimals) << " |";
        if (!c.note.empty()) notes.insert(c.note);
      }
      o << "\n";
    }
    o << "\n";
    if (!spec.published_source.empty()) o << "Published: " << markdown_escape(spec.published_source) << ". ";
    o << "Tolerance: " << markdown_escape(describe_tolerances(spec)) << ". Bold: best of ours"
      << (spec.best == BestIn::kRow ? " in its row" : spec.best == BestIn::kColumn ? " in its column" : " (off)")
      << ". ± is the standard deviation over seeds.\n";
    for (const auto& n : notes) o << "\n- " << markdown_escape(n);
    o << (notes.empty() ? "\n" : "\n\n");
  }
  o << "## Provenance\n\n|";
  for (const auto& [key, header] : provenance_columns()) o << " " << header << " |";
  o << "\n|";
  for (size_t i = 0; i < provenance_columns().size(); ++i) o << "---|";
  o << "\n";
  for (const auto& run : r.provenance) {
    o << "|";
    for (const auto& [key, header] : provenance_columns()) o << " " << markdown_escape(provenance_value(run, key)) << " |";
    o << "\n";
  }
  return o.str();
}

}  // namespace repro::reports

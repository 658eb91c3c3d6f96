#include <ostream>
#include <set>
#include <sstream>

#include "base/util/strings.h"
#include "reports/cell_format.h"
#include "reports/render.h"
#include "reports/text_escape.h"

namespace repro::reports {
namespace {

std::string cell_markdown(const CellResult& c, int decimals) {
  const CellText t = cell_text(c, decimals);
  std::string s = t.ours.empty() ? "—" : (c.best ? "**" + t.ours + "**" : t.ours) + t.marks;
  if (!t.spread.empty()) s += " " + t.spread;
  if (!t.published.empty()) s += " · paper " + t.published;
  if (!t.difference.empty()) s += " (" + t.difference + ")";
  if (!t.verdict.empty() && c.published) s += " · " + t.verdict;
  if (!c.warnings.empty()) s += " ⚠";
  return s;
}

void write_head(std::ostream& o, const Report& r) {
  o << "# " << markdown_escape(r.experiment) << "\n\n";
  if (!r.description.empty()) o << markdown_escape(r.description) << "\n\n";
  if (!r.file.empty()) o << "Experiment file: `" << r.file << "`\n\n";
  for (const auto& b : r.banners) o << "> **" << b.mark << "** " << markdown_escape(b.text) << "\n\n";
  if (!r.warnings.empty()) {
    o << "## Warnings\n\n";
    for (const auto& w : r.warnings) o << "- " << markdown_escape(w) << "\n";
    o << "\n";
  }
}

// The header row and its |---| separator: row dimensions, then one column per column key.
void header_rows(std::ostream& o, const TableResult& t) {
  const auto& spec = t.spec;
  o << "|";
  for (const auto& d : spec.rows) o << " " << markdown_escape(d) << " |";
  for (const auto& k : t.column_keys)
    o << " " << markdown_escape(join(key_labels(spec, spec.columns, k), " / ")) << " |";
  o << "\n|";
  for (size_t i = 0; i < spec.rows.size(); ++i) o << "---|";
  for (size_t i = 0; i < t.column_keys.size(); ++i) o << "---|";
  o << "\n";
}

// Under the table: where the published numbers come from, the tolerance, and the cells' notes.
void write_legend(std::ostream& o, const TableSpec& spec, const std::set<std::string>& notes) {
  o << "\n";
  if (!spec.published_source.empty()) o << "Published: " << markdown_escape(spec.published_source) << ". ";
  o << "Tolerance: " << markdown_escape(describe_tolerances(spec)) << ". Bold: best of ours"
    << (spec.best == BestIn::kRow      ? " in its row"
        : spec.best == BestIn::kColumn ? " in its column"
                                       : " (off)")
    << ". ± is the standard deviation over seeds.\n";
  for (const auto& n : notes) o << "\n- " << markdown_escape(n);
  o << (notes.empty() ? "\n" : "\n\n");
}

void write_table(std::ostream& o, const TableResult& t) {
  const auto& spec = t.spec;
  o << "## " << markdown_escape(spec.title) << "\n\n";
  header_rows(o, t);
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
  write_legend(o, spec, notes);
}

void write_provenance(std::ostream& o, const Report& r) {
  o << "## Provenance\n\n|";
  for (const auto& [key, header] : provenance_columns()) o << " " << header << " |";
  o << "\n|";
  for (size_t i = 0; i < provenance_columns().size(); ++i) o << "---|";
  o << "\n";
  for (const auto& run : r.provenance) {
    o << "|";
    for (const auto& [key, header] : provenance_columns())
      o << " " << markdown_escape(provenance_value(run, key)) << " |";
    o << "\n";
  }
}

// With --assets: per table its sample grids side by side (a row per sampling steps), then the
// plots, then the exposure curves, as links to the files in `link`.
void write_figures(std::ostream& o, const Report& r, const std::string& link) {
  for (const auto& g : grid_tables(r.grids)) {
    std::string title = g.table_id;
    for (const auto& t : r.tables)
      if (t.spec.id == g.table_id) title = t.spec.title;
    o << "## Samples: " << markdown_escape(title) << "\n\n| steps |";
    for (const auto& side : g.sides) o << " " << markdown_escape(side) << " |";
    o << "\n|---|";
    for (size_t i = 0; i < g.sides.size(); ++i) o << "---|";
    o << "\n";
    for (const auto& [steps, grids] : g.rows) {
      o << "| " << markdown_escape(steps) << " |";
      for (const auto* grid : grids)
        o << " "
          << (grid ? "![" + markdown_escape(grid->side + ", " + steps + " steps") + "](" + link + "/" + grid->file +
                         ")<br>" + markdown_escape(grid->run_id)
                   : "—")
          << " |";
      o << "\n";
    }
    o << "\nThe first 64 samples of each run's sample task.\n\n";
  }
  auto images = [&](const std::vector<Plot>& plots) {
    for (const auto& p : plots) o << "![" << markdown_escape(p.title) << "](" << link << "/" << p.file << ")\n\n";
  };
  if (!r.fid_curves.empty() || !r.step_curves.empty() || !r.loss_curves.empty()) {
    o << "## Curves\n\n";
    for (const auto* plots : {&r.fid_curves, &r.step_curves, &r.loss_curves}) images(*plots);
  }
  if (!r.exposure_curves.empty()) {
    o << "## Exposure bias\n\n" << markdown_escape(kExposureCaption) << "\n\n";
    images(r.exposure_curves);
  }
}

}  // namespace

std::string render_markdown(const Report& r, const RenderOptions& options) {
  std::ostringstream o;
  write_head(o, r);
  for (const auto& t : r.tables) write_table(o, t);
  if (!options.assets_link.empty()) write_figures(o, r, options.assets_link);
  write_provenance(o, r);
  return o.str();
}

}  // namespace repro::reports

#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>

#include "reports/cell_format.h"
#include "reports/render.h"
#include "reports/text_escape.h"

namespace repro::reports {
namespace {

std::string cell_latex(const CellResult& c, int decimals) {
  const CellText t = cell_text(c, decimals);
  std::string s = t.ours.empty() ? "--" : (c.best ? "\\textbf{" + t.ours + "}" : t.ours);
  if (!t.marks.empty()) s += "\\textsuperscript{" + latex_escape(t.marks) + "}";
  if (c.ours && c.ours->n > 1)
    s += "$\\pm$" + format_fixed(c.ours->std, decimals) + "\\textsubscript{" + std::to_string(c.ours->n) + "}";
  if (!t.published.empty()) {
    s += " {\\scriptsize(" + t.published;
    if (!t.difference.empty()) s += ", " + t.difference;
    if (!t.verdict.empty()) s += ", " + latex_escape(t.verdict);
    s += ")}";
  }
  if (!c.warnings.empty()) s += "\\textsuperscript{\\dag}";
  return s;
}

// One header row of the column keys at `level`: equal consecutive prefixes merge into a
// \multicolumn, with \cmidrule under the merged ones.
void header_row(std::ostringstream& o, const TableResult& t, size_t level) {
  const auto& spec = t.spec;
  const bool last = level + 1 == spec.columns.size();
  for (size_t i = 0; i < spec.rows.size(); ++i) o << (i ? " & " : "") << (last ? latex_escape(spec.rows[i]) : "");
  std::string rules;
  size_t col = 0;
  while (col < t.column_keys.size()) {
    size_t end = col + 1;
    auto same_prefix = [&](size_t a, size_t b) {
      for (size_t l = 0; l <= level; ++l)
        if (t.column_keys[a][l] != t.column_keys[b][l]) return false;
      return true;
    };
    while (end < t.column_keys.size() && same_prefix(col, end)) ++end;
    const std::string label = latex_escape(spec.label(spec.columns[level], t.column_keys[col][level]));
    if (!spec.rows.empty() || col > 0) o << " & ";
    if (end - col > 1) {
      o << "\\multicolumn{" << end - col << "}{c}{" << label << "}";
      const size_t first = spec.rows.size() + col + 1, lastc = spec.rows.size() + end;
      rules += "\\cmidrule(lr){" + std::to_string(first) + "-" + std::to_string(lastc) + "}";
    } else {
      o << label;
    }
    col = end;
  }
  o << " \\\\\n";
  if (!last && !rules.empty()) o << rules << "\n";
}

// With --assets: per table a figure of its sample grids side by side (a row per sampling steps)
// linking the PNG files in `link`. The plots are SVG, which pdflatex cannot include: a comment
// names their files.
void write_figures(std::ostringstream& o, const Report& r, const std::string& link) {
  for (const auto& g : grid_tables(r.grids)) {
    std::string title = g.table_id;
    for (const auto& t : r.tables)
      if (t.spec.id == g.table_id) title = t.spec.title;
    char width[16];
    std::snprintf(width, sizeof width, "%.2f", std::min(0.3, 0.8 / static_cast<double>(g.sides.size())));
    o << "\\begin{figure}[ht]\n\\centering\n\\begin{tabular}{l" << std::string(g.sides.size(), 'c') << "}\nsteps";
    for (const auto& side : g.sides) o << " & " << latex_escape(side);
    o << " \\\\\n";
    for (const auto& [steps, grids] : g.rows) {
      o << latex_escape(steps);
      for (const auto* grid : grids) {
        o << " & ";
        if (grid)
          o << "\\begin{tabular}[t]{@{}c@{}}\\includegraphics[width=" << width << "\\linewidth]{" << link << "/"
            << grid->file << "}\\\\ \\scriptsize " << latex_escape(grid->run_id) << "\\end{tabular}";
      }
      o << " \\\\\n";
    }
    o << "\\end{tabular}\n\\caption{Samples: " << latex_escape(title)
      << " (the first 64 of each run's sample task)}\n\\end{figure}\n\n";
  }
  for (const auto* plots : {&r.fid_curves, &r.step_curves, &r.loss_curves, &r.exposure_curves})
    for (const auto& p : *plots) o << "% plot (SVG, not included by pdflatex): " << link << "/" << p.file << "\n";
}

// Title, description, banners and warnings: everything above the first table.
void write_preamble(std::ostringstream& o, const Report& r, const RenderOptions& options) {
  o << "% repro report " << latex_escape(r.experiment) << " (repro report --format latex)\n"
    << "\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{booktabs}\n"
    << "\\usepackage[margin=1.5cm,landscape]{geometry}\n"
    << (options.assets_link.empty() ? "" : "\\usepackage{graphicx}\n") << "\\begin{document}\n\\small\n";
  o << "\\section*{" << latex_escape(r.experiment) << "}\n";
  if (!r.description.empty()) o << latex_escape(r.description) << "\n\n";
  for (const auto& b : r.banners)
    o << "\\noindent\\textbf{" << latex_escape(b.mark) << "} " << latex_escape(b.text) << "\n\n";
  if (!r.warnings.empty()) {
    o << "\\paragraph{Warnings}\n\\begin{itemize}\n";
    for (const auto& w : r.warnings) o << "\\item{} " << latex_escape(w) << "\n";
    o << "\\end{itemize}\n";
  }
}

void write_table(std::ostringstream& o, const TableResult& t) {
  const auto& spec = t.spec;
  o << "\\begin{table}[ht]\n\\centering\n\\caption{" << latex_escape(spec.title) << "}\n";
  o << "\\begin{tabular}{" << std::string(spec.rows.size(), 'l') << std::string(t.column_keys.size(), 'c') << "}\n";
  o << "\\toprule\n";
  for (size_t level = 0; level < spec.columns.size(); ++level) header_row(o, t, level);
  o << "\\midrule\n";
  std::set<std::string> notes;
  for (size_t ri = 0; ri < t.row_keys.size(); ++ri) {
    const auto labels = key_labels(spec, spec.rows, t.row_keys[ri]);
    for (size_t i = 0; i < labels.size(); ++i) o << (i ? " & " : "") << latex_escape(labels[i]);
    for (size_t ci = 0; ci < t.cells[ri].size(); ++ci) {
      const auto& c = t.cells[ri][ci];
      if (!labels.empty() || ci > 0) o << " & ";
      o << cell_latex(c, spec.decimals);
      if (!c.note.empty()) notes.insert(c.note);
    }
    o << " \\\\\n";
  }
  o << "\\bottomrule\n\\end{tabular}\n\n\\smallskip\n{\\footnotesize ";
  if (!spec.published_source.empty())
    o << "In parentheses: " << latex_escape(spec.published_source) << ", our difference, verdict. ";
  o << "Tolerance: " << latex_escape(describe_tolerances(spec)) << ". $\\pm$: standard deviation over the seeds "
    << "(their number as subscript). \\dag: the runs of the cell differ in provenance.";
  for (const auto& n : notes) o << " " << latex_escape(n) << ".";
  o << "}\n\\end{table}\n\n";
}

void write_provenance(std::ostringstream& o, const Report& r) {
  o << "\\section*{Provenance}\n{\\footnotesize\n\\begin{tabular}{" << std::string(provenance_columns().size(), 'l')
    << "}\n\\toprule\n";
  for (size_t i = 0; i < provenance_columns().size(); ++i)
    o << (i ? " & " : "") << latex_escape(provenance_columns()[i].second);
  o << " \\\\\n\\midrule\n";
  for (const auto& run : r.provenance) {
    for (size_t i = 0; i < provenance_columns().size(); ++i)
      o << (i ? " & " : "") << latex_escape(provenance_value(run, provenance_columns()[i].first));
    o << " \\\\\n";
  }
  o << "\\bottomrule\n\\end{tabular}\n}\n";
}

}  // namespace

std::string render_latex(const Report& r, const RenderOptions& options) {
  std::ostringstream o;
  write_preamble(o, r, options);
  for (const auto& t : r.tables) write_table(o, t);
  if (!options.assets_link.empty()) write_figures(o, r, options.assets_link);
  write_provenance(o, r);
  o << "\\end{document}\n";
  return o.str();
}

}  // namespace repro::reports

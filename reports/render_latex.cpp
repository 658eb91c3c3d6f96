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

}  // namespace

std::string render_latex(const Report& r) {
  std::ostringstream o;
  o << "% repro report " << latex_escape(r.experiment) << " (repro report --format latex)\n"
    << "\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{booktabs}\n"
    << "\\usepackage[margin=1.5cm,landscape]{geometry}\n\\begin{document}\n\\small\n";
  o << "\\section*{" << latex_escape(r.experiment) << "}\n";
  if (!r.description.empty()) o << latex_escape(r.description) << "\n\n";
  if (!r.warnings.empty()) {
    o << "\\paragraph{Warnings}\n\\begin{itemize}\n";
    for (const auto& w : r.warnings) o << "\\item{} " << latex_escape(w) << "\n";
    o << "\\end{itemize}\n";
  }
  for (const auto& t : r.tables) {
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
  o << "\\bottomrule\n\\end{tabular}\n}\n\\end{document}\n";
  return o.str();
}

}  // namespace repro::reports

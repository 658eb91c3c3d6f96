#pragma once
// A report as text: GitHub Markdown, LaTeX (booktabs; a whole document that compiles), tidy CSV
// and JSON (one row per value, for pandas; the JSON is also the baseline format of
// `repro compare`), and one self-contained HTML file (tables, SVG plots, sample grids).
#include <nlohmann/json.hpp>

#include <string>

#include "reports/report.h"

namespace repro::reports {

enum class Format { kMarkdown, kLatex, kCsv, kHtml, kJson };

// "markdown" | "md" | "latex" | "tex" | "csv" | "html" | "json"; throws ConfigError (key --format)
// naming the valid ones.
Format parse_format(const std::string& name);

// The JSON document's format name and version: a baseline with another is refused.
inline constexpr const char* kReportFormatName = "repro-report";
inline constexpr int kReportFormatVersion = 1;

std::string render(const Report& report, Format format);

// What the exposure plots show, one sentence under their heading in HTML and Markdown.
inline constexpr const char* kExposureCaption =
    "Per sampling step t, the network's mean eps L2 norm on the sampling chain's own x_t (sampling) "
    "against on q(x_t | x0), the input it was trained on (training), and the variance of "
    "x_t - sqrt(abar_t) x0 against the forward process's 1 - abar_t: where sampling leaves training "
    "(a variance ratio above 1) the network is fed inputs it never saw in training, the exposure bias "
    "input perturbation and Epsilon Scaling reduce (docs/exposure.md).";

// What the text formats link: the figure files write_figure_files wrote (report_figures.h).
struct RenderOptions {
  // The folder of the files as the document links it (relative to the document); "" = no
  // figures in Markdown and LaTeX (HTML embeds its own).
  std::string assets_link;
};

std::string render_markdown(const Report& report, const RenderOptions& options = {});
std::string render_latex(const Report& report, const RenderOptions& options = {});
std::string render_csv(const Report& report);
std::string render_html(const Report& report);
nlohmann::json report_json(const Report& report);

// render() with the figure links of `options` in Markdown and LaTeX.
inline std::string render(const Report& report, Format format, const RenderOptions& options) {
  if (format == Format::kMarkdown) return render_markdown(report, options);
  if (format == Format::kLatex) return render_latex(report, options);
  return render(report, format);
}

}  // namespace repro::reports

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

std::string render_markdown(const Report& report);
std::string render_latex(const Report& report);
std::string render_csv(const Report& report);
std::string render_html(const Report& report);
nlohmann::json report_json(const Report& report);

}  // namespace repro::reports

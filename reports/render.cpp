#include "reports/render.h"

#include "base/util/errors.h"

namespace repro::reports {

Format parse_format(const std::string& name) {
  if (name == "markdown" || name == "md") return Format::kMarkdown;
  if (name == "latex" || name == "tex") return Format::kLatex;
  if (name == "csv") return Format::kCsv;
  if (name == "html") return Format::kHtml;
  if (name == "json") return Format::kJson;
  throw ConfigError("repro report", "--format",
                    "unknown format '" + name + "'; expected markdown, latex, csv, html or json");
}

std::string render(const Report& report, Format format) {
  switch (format) {
    case Format::kMarkdown:
      return render_markdown(report);
    case Format::kLatex:
      return render_latex(report);
    case Format::kCsv:
      return render_csv(report);
    case Format::kHtml:
      return render_html(report);
    case Format::kJson:
      return report_json(report).dump(2) + "\n";
  }
  return "";
}

}  // namespace repro::reports

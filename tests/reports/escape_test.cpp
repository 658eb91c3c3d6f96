// Names and labels come from user files: hostile ones must not break HTML, LaTeX, Markdown, CSV
// or the SVG plots.
#include "reports/text_escape.h"

#include <gtest/gtest.h>

#include "reports/base64.h"
#include "reports/render.h"
#include "reports/svg_plot.h"
#include "tests/reports/report_fixture.h"

namespace repro::test {
namespace {

const std::string kHostile = "<script>alert(\"x\")</script> & \\textbf{y}_%$#~^|'";

TEST(Escape, EachFormat) {
  EXPECT_EQ(reports::html_escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(reports::latex_escape("\\a{b}$c&d%e#f_g~h^i"),
            "\\textbackslash{}a\\{b\\}\\$c\\&d\\%e\\#f\\_g\\textasciitilde{}h\\textasciicircum{}i");
  EXPECT_EQ(reports::latex_escape("± 1"), "\\ensuremath{\\pm} 1");
  EXPECT_EQ(reports::markdown_escape("a|b*c_d\nx"), "a\\|b\\*c\\_d x");
  EXPECT_EQ(reports::csv_field("plain"), "plain");
  EXPECT_EQ(reports::csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
  EXPECT_EQ(reports::xml_escape(std::string("a\x01<b")), "a&lt;b");
}

TEST(Escape, CsvTextNeutralisesFormulas) {
  // OWASP "CSV injection": = + - @ tab CR at the start get a leading ', then CSV quoting as usual.
  EXPECT_EQ(reports::csv_text("=1+1"), "'=1+1");
  EXPECT_EQ(reports::csv_text("+cmd"), "'+cmd");
  EXPECT_EQ(reports::csv_text("-2+3"), "'-2+3");
  EXPECT_EQ(reports::csv_text("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(reports::csv_text("\tx"), "'\tx");
  EXPECT_EQ(reports::csv_text("\rx"), "\"'\rx\"");
  EXPECT_EQ(reports::csv_text("=HYPERLINK(\"http://x\",\"y\")"), "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
  // Plain numbers are numbers, not formulas; text elsewhere is left alone.
  for (const std::string n : {"-0.1", "+2", "-1e-4", "-.5", "+3.E5"}) EXPECT_EQ(reports::csv_text(n), n);
  for (const std::string t : {"-", "-e5", "-1e", "--1", "-inf", "-nan", "- 1"})
    EXPECT_EQ(reports::csv_text(t), "'" + t);
  EXPECT_EQ(reports::csv_text("a=b"), "a=b");
  EXPECT_EQ(reports::csv_text(""), "");
}

TEST(Escape, LatexMarks) { EXPECT_EQ(reports::latex_escape("\xE2\x80\xA1\xC2\xA7\xC2\xB6"), "\\ddag{}\\S{}\\P{}"); }

TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(reports::base64_encode(""), "");
  EXPECT_EQ(reports::base64_encode("f"), "Zg==");
  EXPECT_EQ(reports::base64_encode("fo"), "Zm8=");
  EXPECT_EQ(reports::base64_encode("foo"), "Zm9v");
  EXPECT_EQ(reports::base64_encode("foobar"), "Zm9vYmFy");
}

TEST(SvgPlot, TicksAxesSeriesAndEscapedText) {
  EXPECT_EQ(reports::nice_ticks(0, 1000, 5), (std::vector<double>{0, 200, 400, 600, 800, 1000}));
  const auto t = reports::nice_ticks(2.2, 3.6, 5);  // step 0.5 (1.4 / 5 = 0.28 rounds up to 0.5)
  ASSERT_EQ(t.size(), 3u);
  EXPECT_NEAR(t[0], 2.5, 1e-12);
  EXPECT_NEAR(t[2], 3.5, 1e-12);
  reports::Plot p{
      kHostile, "iterations", "FID", {{"adm", {{0, 3.0}, {100, 2.5}, {200, NAN}}}, {kHostile, {{0, 2.8}, {100, 2.2}}}}};
  const std::string svg = reports::svg_line_plot(p);
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_NE(svg.find("&lt;script&gt;"), std::string::npos);
  EXPECT_EQ(std::count(svg.begin(), svg.end(), '\n') > 5, true);
  size_t polylines = 0;
  for (size_t at = svg.find("<polyline"); at != std::string::npos; at = svg.find("<polyline", at + 1)) ++polylines;
  EXPECT_EQ(polylines, 2u);
  EXPECT_EQ(svg.find("nan"), std::string::npos);  // the NaN point is skipped
  EXPECT_NE(reports::svg_line_plot(reports::Plot{"empty", "x", "y", {}}).find("no data"), std::string::npos);
}

// A report whose experiment, labels and titles are hostile.
reports::Report hostile_report(TempDir& dir, runner::Store& store) {
  fill_store(store, "evil", {{"adm", "0", 100, 10, {{"fid", 3.0}}}, {kHostile, "0", 100, 10, {{"fid", 2.0}}}},
             dir.path().string(), kHostile);
  reports::ReportInput in;
  in.experiment = "evil";
  in.description = kHostile;
  in.axes = {{"dataset", {kHostile}}, {"method", {"adm", kHostile}}};
  in.spec = spec_from(std::string("tables:\n  - id: t\n    title: '") + "<b>T</b> & \\x_1 %" +
                      "'\n    rows: [method]\n    columns: [dataset, metric]\n    metrics: [fid]\n");
  in.warnings = {kHostile};
  return reports::build_report(store, in);
}

TEST(Escape, HostileNamesInHtml) {
  TempDir dir;
  runner::Store store(dir.file("repro.db"));
  const std::string html = reports::render_html(hostile_report(dir, store));
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<b>T</b>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; \\textbf{y}_%$#~^|&#39;"),
            std::string::npos);
}

TEST(Escape, HostileNamesInLatex) {
  TempDir dir;
  runner::Store store(dir.file("repro.db"));
  const std::string tex = reports::render_latex(hostile_report(dir, store));
  EXPECT_EQ(tex.find("\\textbf{y}"), std::string::npos);
  EXPECT_NE(tex.find("\\textbackslash{}textbf\\{y\\}\\_\\%\\$\\#\\textasciitilde{}\\textasciicircum{}\\textbar{}'"),
            std::string::npos);
  EXPECT_NE(
      tex.find("\\caption{\\textless{}b\\textgreater{}T\\textless{}/b\\textgreater{} \\& \\textbackslash{}x\\_1 \\%}"),
      std::string::npos);
}

TEST(Escape, HostileNamesInMarkdownAndCsv) {
  TempDir dir;
  runner::Store store(dir.file("repro.db"));
  const auto r = hostile_report(dir, store);
  const std::string md = reports::render_markdown(r);
  EXPECT_EQ(md.find("<script>"), std::string::npos);
  EXPECT_NE(md.find("\\<script\\>"), std::string::npos);
  const std::string csv = reports::render_csv(r);
  EXPECT_NE(csv.find("\"<script>alert(\"\"x\"\")</script> & \\textbf{y}_%$#~^|'\""), std::string::npos) << csv;
}

// Labels, notes and run ids that start like a formula go out as text; our numbers (a negative
// difference included) stay numbers. Python's csv module reads the file back.
TEST(Escape, CsvFormulaInjection) {
  TempDir dir;
  runner::Store store(dir.file("repro.db"));
  const std::string evil = "=HYPERLINK(\"http://evil\",\"x\")";
  fill_store(store, "inj", {{evil, "0", 100, 10, {{"fid", 2.5}}, true, 50000}}, dir.path().string(), "@cmd");
  reports::ReportInput in;
  in.experiment = "inj";
  in.axes = {{"dataset", {"@cmd"}}, {"method", {evil}}};
  in.spec = spec_from(
      "tables:\n  - id: t\n    rows: [method]\n    columns: [dataset, metric]\n    metrics: [fid]\n"
      "    published:\n      values:\n        - {method: '" +
      evil + "', dataset: '@cmd', fid: 3.0}\n");
  in.sample_grids = false;
  const std::string csv = reports::render_csv(reports::build_report(store, in));
  write_file_atomic(dir.file("r.csv"), csv);
  const std::string py =
      "import csv\n"
      "rows = list(csv.DictReader(open('r.csv', encoding='utf-8', newline='')))\n"
      "assert len(rows) == 1, rows\n"
      "r = rows[0]\n"
      "assert r['method'] == \"'=HYPERLINK(\\\"http://evil\\\",\\\"x\\\")\", r\n"
      "assert r['dataset'] == \"'@cmd\", r\n"
      "assert r['runs'].startswith(\"'=HYPERLINK\"), r\n"
      "assert float(r['difference']) == 2.5 - 3.0 and r['difference'] == '-0.5', r\n"
      "for k, v in r.items():\n"
      "    assert not v or v[0] not in '=+@\\t\\r' and (v[0] != '-' or k == 'difference'), (k, v)\n";
  EXPECT_EQ(run_python(py, dir.path()), 0) << csv;
}

}  // namespace
}  // namespace repro::test

// Banners on numbers that cannot mean what they seem (reports/result_banners.h): random-weight
// features, too few samples and a data subset each give one banner above the tables of every
// format and a mark next to the values they concern; clean results give none. The CSV is read
// back by Python's csv module.
#include "reports/result_banners.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "reports/render.h"
#include "tests/reports/report_fixture.h"

namespace repro::test {
namespace {

const std::string kDagger = "\xE2\x80\xA1";  // ‡ random-weight features
const std::string kSection = "\xC2\xA7";     // § too few samples
const std::string kPilcrow = "\xC2\xB6";     // ¶ a data subset

const char* const kSpec = R"yaml(
tables:
  - id: main
    rows: [method]
    columns: [metric]
    metrics: [fid, precision]
    best: none
)yaml";

struct Banners {
  TempDir dir;
  runner::Store store{dir.file("repro.db")};
  reports::Report report;
  explicit Banners(const std::vector<FakeResult>& results) {
    fill_store(store, "b", results, dir.path().string());
    reports::ReportInput in;
    in.experiment = "b";
    in.axes = {{"dataset", {"cifar10"}}, {"method", {"adm", "adm-ip", "ddpm"}}, {"seed", {"0", "1"}}};
    in.spec = spec_from(kSpec);
    in.sample_grids = false;
    report = reports::build_report(store, in);
  }
  const reports::CellResult& cell(size_t row, size_t column) const {
    return report.tables.at(0).cells.at(row).at(column);
  }
};

// adm: random-weight features, 50,000 samples; adm-ip: real features, 1,000 samples (FID biased,
// precision fine with 1,000 >= 4); ddpm: real features, 50,000 samples.
std::vector<FakeResult> mixed() {
  return {{"adm", "0", 100, 10, {{"fid", 3.0}, {"precision", 0.0}}, /*comparable=*/false, 50000},
          {"adm-ip", "0", 100, 10, {{"fid", 2.5}, {"precision", 0.6}}, true, 1000},
          {"adm-ip", "1", 100, 10, {{"fid", 2.7}, {"precision", 0.62}}, true, 1000},
          {"ddpm", "0", 100, 10, {{"fid", 4.0}, {"precision", 0.5}}, true, 50000}};
}

TEST(Banners, OnePerKindAndAMarkOnEachCellConcerned) {
  Banners b(mixed());
  const auto& r = b.report;
  ASSERT_EQ(r.banners.size(), 2u);
  EXPECT_EQ(r.banners[0].mark, kDagger);
  EXPECT_NE(r.banners[0].text.find("random-weight Inception features"), std::string::npos) << r.banners[0].text;
  EXPECT_NE(r.banners[0].text.find("cannot be compared with published numbers"), std::string::npos);
  EXPECT_EQ(r.banners[1].mark, kSection);
  // The fewest samples among the results concerned: adm-ip's.
  EXPECT_NE(r.banners[1].text.find("as few as 1,000"), std::string::npos) << r.banners[1].text;
  EXPECT_NE(r.banners[1].text.find("below 2,048 samples"), std::string::npos);
  // Rows in axis order (adm, adm-ip, ddpm), columns fid then precision.
  const auto& t = r.tables.at(0);
  ASSERT_EQ(t.row_keys.size(), 3u);
  ASSERT_EQ(t.column_keys.size(), 2u);
  EXPECT_EQ(b.cell(0, 0).marks, std::vector<std::string>{kDagger});
  EXPECT_EQ(b.cell(0, 1).marks, std::vector<std::string>{kDagger});
  EXPECT_EQ(b.cell(1, 0).marks, std::vector<std::string>{kSection});
  EXPECT_TRUE(b.cell(1, 1).marks.empty());  // precision from 1,000 samples is fine
  EXPECT_TRUE(b.cell(2, 0).marks.empty());
  EXPECT_TRUE(b.cell(2, 1).marks.empty());
}

TEST(Banners, NoneForCleanResults) {
  Banners b({{"adm", "0", 100, 10, {{"fid", 3.0}, {"precision", 0.5}}, true, 2048},
             {"ddpm", "0", 100, 10, {{"fid", 4.0}, {"precision", 0.5}}, true, 50000}});
  EXPECT_TRUE(b.report.banners.empty());
  for (const auto& row : b.report.tables.at(0).cells)
    for (const auto& c : row) EXPECT_TRUE(c.marks.empty());
  EXPECT_EQ(reports::render(b.report, reports::Format::kMarkdown).find("> **"), std::string::npos);
  EXPECT_TRUE(reports::report_json(b.report)["banners"].empty());
}

TEST(Banners, PrecisionAndRecallBelowKPlusOneSamples) {
  Banners b({{"adm", "0", 100, 10, {{"fid", 3.0}, {"precision", 0.5}}, true, 3},
             {"ddpm", "0", 100, 10, {{"fid", 4.0}, {"precision", 0.5}}, true, 4}});
  ASSERT_EQ(b.report.banners.size(), 1u);
  EXPECT_NE(b.report.banners[0].text.find("as few as 3)"), std::string::npos) << b.report.banners[0].text;
  EXPECT_EQ(b.cell(0, 1).marks, std::vector<std::string>{kSection});  // 3 < k + 1
  EXPECT_TRUE(b.cell(1, 1).marks.empty());                            // 4 = k + 1
  EXPECT_EQ(b.cell(1, 0).marks, std::vector<std::string>{kSection});  // FID from 4 samples
}

// A reference batch too small counts like too few samples (the quickstart's 64 reference images).
TEST(Banners, ReferenceBatchBelowWhatTheMetricNeeds) {
  FakeResult small{"adm", "0", 100, 10, {{"fid", 3.0}, {"precision", 0.5}}, true, 50000};
  small.num_reference = 64;
  FakeResult enough{"ddpm", "0", 100, 10, {{"fid", 4.0}, {"precision", 0.5}}, true, 50000};
  enough.num_reference = 50000;
  Banners b({small, enough});
  ASSERT_EQ(b.report.banners.size(), 1u);
  EXPECT_NE(b.report.banners[0].text.find("a reference batch of 64 images"), std::string::npos)
      << b.report.banners[0].text;
  EXPECT_EQ(b.report.banners[0].text.find("as few as"), std::string::npos);  // the samples are enough
  EXPECT_EQ(b.cell(0, 0).marks, std::vector<std::string>{kSection});         // FID against 64 images
  EXPECT_TRUE(b.cell(0, 1).marks.empty());                                   // precision: 64 >= k + 1
  EXPECT_TRUE(b.cell(1, 0).marks.empty());
}

// A result on a data subset (the eval task's data_subset) gets the ¶ banner naming the subsets
// and a mark on its cells, after the other kinds' marks; in LaTeX the mark is \P{}.
TEST(Banners, DataSubsetNamedInTheBannerAndMarked) {
  FakeResult subset{"adm", "0", 100, 10, {{"fid", 3.0}, {"precision", 0.5}}, true, 1000};
  subset.data_subset = {
      {"reference", "64 of 10,000 images of data/test"},
      {"train", "fashion_mnist: 600 images prepared, the published train split has 60000 (a subset)"}};
  FakeResult whole{"ddpm", "0", 100, 10, {{"fid", 4.0}, {"precision", 0.5}}, true, 50000};
  Banners b({subset, whole});
  const auto& r = b.report;
  ASSERT_EQ(r.banners.size(), 2u);  // § (1,000 samples) and ¶
  EXPECT_EQ(r.banners[1].mark, kPilcrow);
  const std::string& text = r.banners[1].text;
  EXPECT_NE(text.find("reference batch: 64 of 10,000 images of data/test; training data: fashion_mnist: 600"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("not comparable with ones on the full data"), std::string::npos) << text;
  EXPECT_EQ(b.cell(0, 0).marks, (std::vector<std::string>{kSection, kPilcrow}));
  EXPECT_EQ(b.cell(0, 1).marks, std::vector<std::string>{kPilcrow});
  EXPECT_TRUE(b.cell(1, 0).marks.empty());

  const std::string md = reports::render(b.report, reports::Format::kMarkdown);
  EXPECT_LT(md.find("> **" + kPilcrow + "** Computed on a subset"), md.find("\n|")) << md;
  const std::string tex = reports::render(b.report, reports::Format::kLatex);
  EXPECT_LT(tex.find("\\noindent\\textbf{\\P{}} Computed on a subset"), tex.find("\\begin{table}")) << tex;
  EXPECT_EQ(reports::report_json(b.report)["banners"][1]["mark"], kPilcrow);
}

// The banner texts above the first table, the marks right after the values.
TEST(Banners, AtTheTopOfEveryFormatAndMarksBesideTheValues) {
  Banners b(mixed());
  const std::string md = reports::render(b.report, reports::Format::kMarkdown);
  const size_t table = md.find("\n|");
  ASSERT_NE(table, std::string::npos) << md;
  EXPECT_LT(md.find("> **" + kDagger + "** Computed with random-weight"), table) << md;
  EXPECT_LT(md.find("> **" + kSection + "** Computed from fewer samples"), table) << md;
  EXPECT_NE(md.find("| 3.00" + kDagger + " |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 2.60" + kSection + " "), std::string::npos) << md;  // mean of 2.5 and 2.7
  EXPECT_NE(md.find("| 4.00 |"), std::string::npos) << md;

  const std::string html = reports::render(b.report, reports::Format::kHtml);
  EXPECT_LT(html.find("<p class=\"banner\"><b>" + kDagger + "</b> Computed with"), html.find("<table>")) << html;
  EXPECT_NE(html.find(">3.00" + kDagger), std::string::npos) << html;

  const std::string tex = reports::render(b.report, reports::Format::kLatex);
  EXPECT_LT(tex.find("\\noindent\\textbf{\\ddag{}} Computed with"), tex.find("\\begin{table}")) << tex;
  EXPECT_LT(tex.find("\\noindent\\textbf{\\S{}} Computed from"), tex.find("\\begin{table}")) << tex;
  EXPECT_NE(tex.find("3.00\\textsuperscript{\\ddag{}}"), std::string::npos) << tex;

  const nlohmann::json j = reports::report_json(b.report);
  ASSERT_EQ(j["banners"].size(), 2u);
  EXPECT_EQ(j["banners"][0]["mark"], kDagger);
  EXPECT_EQ(j["banners"][1]["text"], b.report.banners[1].text);
  int checked = 0;
  for (const auto& v : j["values"]) {
    const std::string method = v["dims"]["method"];
    if (v["metric"] != "fid") continue;
    const auto marks = v["marks"].get<std::vector<std::string>>();
    EXPECT_EQ(marks, method == "adm"      ? std::vector<std::string>{kDagger}
                     : method == "adm-ip" ? std::vector<std::string>{kSection}
                                          : std::vector<std::string>{})
        << method;
    ++checked;
  }
  EXPECT_EQ(checked, 3);
}

// CSV: two last columns, marks and the banners' texts, on the rows they concern; Python's csv
// module reads every row with the header's number of fields.
TEST(Banners, CsvColumnsReadByPython) {
  Banners b(mixed());
  TempDir dir;
  write_file_atomic(dir.file("r.csv"), reports::render(b.report, reports::Format::kCsv));
  const std::string py =
      "import csv\n"
      "rows = list(csv.DictReader(open('r.csv', encoding='utf-8', newline='')))\n"
      "assert len(rows) == 6, len(rows)\n"
      "by = {(r['method'], r['metric']): r for r in rows}\n"
      "assert by[('adm', 'fid')]['marks'] == '\\u2021', by[('adm', 'fid')]\n"
      "assert by[('adm', 'fid')]['banners'].startswith('Computed with random-weight')\n"
      "assert by[('adm-ip', 'fid')]['marks'] == '\\u00a7'\n"
      "assert 'as few as 1,000' in by[('adm-ip', 'fid')]['banners']\n"
      "assert by[('ddpm', 'fid')]['marks'] == '' and by[('ddpm', 'fid')]['banners'] == ''\n"
      "assert float(by[('adm-ip', 'fid')]['mean']) == 2.6\n"
      "assert list(rows[0].keys())[-2:] == ['marks', 'banners']\n";
  EXPECT_EQ(run_python(py, dir.path()), 0);
}

}  // namespace
}  // namespace repro::test

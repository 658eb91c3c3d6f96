// The report's figures: the sample tasks' PNG grids side by side per table and sampling steps
// (read through the store's artifacts), --assets files and the Markdown/LaTeX links to them, log
// axes with hand-computed ticks, and the band over seeds of the training curves.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <optional>
#include <regex>
#include <sstream>
#include <tuple>

#include "base/util/file_io.h"
#include "base/util/sha256.h"
#include "reports/base64.h"
#include "reports/render.h"
#include "reports/report_command.h"
#include "tests/reports/report_fixture.h"

namespace repro::test {
namespace {

namespace fs = std::filesystem;

// Two runs (adm, adm-ip; seed 0) with FID at 100 and 1000 sampling steps.
std::vector<FakeResult> two_methods() {
  return {{"adm", "0", 1000, 100, {{"fid", 3.4}}},
          {"adm", "0", 1000, 1000, {{"fid", 2.9}}},
          {"adm-ip", "0", 1000, 100, {{"fid", 2.2}}},
          {"adm-ip", "0", 1000, 1000, {{"fid", 2.0}}}};
}

// A real PNG (Pillow): a `size` x `size` RGB square of one colour.
void write_png(const fs::path& path, int size, int red) {
  fs::create_directories(path.parent_path());
  ASSERT_EQ(
      run_python("from PIL import Image\nImage.new('RGB', (" + std::to_string(size) + ", " + std::to_string(size) +
                     "), (" + std::to_string(red) + ", 10, 20)).save('" + path.string() + "')\n",
                 path.parent_path()),
      0);
}

// The `artifact` record of a task's events.jsonl, as the ingest keeps it in task_events.
void add_artifact_event(runner::Store& store, const std::string& task, const std::string& path) {
  SQLite::Statement ins(store.db(),
                        "INSERT INTO task_events (task_id, seq, type, step, time, record) "
                        "VALUES (?1, 1, 'artifact', NULL, 0, ?2)");
  ins.bind(1, task);
  ins.bind(2, nlohmann::json{{"type", "artifact"}, {"seq", 1}, {"path", path}}.dump());
  ins.exec();
}

// Each sample task of the fixture gets a PNG: adm's recorded in the artifacts table (with its
// SHA-256), adm-ip's only as the `artifact` record of its events, as the ingest keeps it.
void add_grids(runner::Store& store, const TempDir& dir) {
  int red = 40;
  for (const std::string run : {"adm-s0", "adm-ip-s0"})
    for (const std::string steps : {"100", "1000"}) {
      const std::string task = run + "-sample-1000-" + steps, rel = "samples/" + task + ".png";
      write_png(dir.path() / run / rel, 34, red += 40);
      if (run == "adm-s0") {
        runner::put_artifact(store, {task, rel, sha256_file_hex((dir.path() / run / rel).string()), std::nullopt});
      } else {
        add_artifact_event(store, task, rel);
      }
    }
}

const char* const kTable =
    "tables:\n  - id: t3\n    title: Table 3\n    rows: [method]\n    columns: [steps, metric]\n"
    "    metrics: [fid]\n    labels: {method: {adm: ADM, adm-ip: ADM-IP}}\n";

reports::Report report_with_grids(runner::Store& store, const TempDir& dir) {
  fill_store(store, "fig", two_methods(), dir.path().string());
  add_grids(store, dir);
  reports::ReportInput in;
  in.experiment = "fig";
  in.spec = spec_from(kTable);
  return reports::build_report(store, in);
}

std::string png_of(const TempDir& dir, const std::string& run, const std::string& steps) {
  return read_file((dir.path() / run / "samples" / (run + "-sample-1000-" + steps + ".png")).string());
}

TEST(Figures, GridsOfATableStandSideBySidePerSteps) {
  TempDir dir;
  runner::Store store(dir.file("repro.db"));
  const reports::Report r = report_with_grids(store, dir);
  ASSERT_EQ(r.grids.size(), 4u);
  const auto tables = reports::grid_tables(r.grids);
  ASSERT_EQ(tables.size(), 1u);
  EXPECT_EQ(tables[0].table_id, "t3");
  EXPECT_EQ(tables[0].sides, (std::vector<std::string>{"ADM", "ADM-IP"}));
  ASSERT_EQ(tables[0].rows.size(), 2u);
  EXPECT_EQ(tables[0].rows[0].first, "100");
  EXPECT_EQ(tables[0].rows[1].first, "1000");
  EXPECT_EQ(tables[0].rows[1].second[1]->sample_task, "adm-ip-s0-sample-1000-1000");

  const std::string html = reports::render_html(r);
  // One figure row per steps value holding both methods' grids, in the table's order.
  const size_t row = html.find("<div class=\"figure-row\">");
  ASSERT_NE(row, std::string::npos);
  const std::string first_row = html.substr(row, html.find("</div>", row) - row);
  const size_t adm = first_row.find("ADM &middot; 100 steps<br>adm-s0</figcaption>");
  const size_t ip = first_row.find("ADM-IP &middot; 100 steps<br>adm-ip-s0</figcaption>");
  ASSERT_NE(adm, std::string::npos) << first_row;
  ASSERT_NE(ip, std::string::npos) << first_row;
  EXPECT_LT(adm, ip);
  EXPECT_NE(first_row.find("data:image/png;base64," + reports::base64_encode(png_of(dir, "adm-s0", "100"))),
            std::string::npos);
  EXPECT_NE(first_row.find("data:image/png;base64," + reports::base64_encode(png_of(dir, "adm-ip-s0", "100"))),
            std::string::npos);
  EXPECT_NE(html.find("<h2>Samples: Table 3</h2>"), std::string::npos);
}

TEST(Figures, MissingOrOversizedGridsAreLeftOutWithAWarning) {
  TempDir dir;
  runner::Store store(dir.file("repro.db"));
  fill_store(store, "fig", two_methods(), dir.path().string());
  add_grids(store, dir);
  const fs::path big = dir.path() / "adm-s0" / "samples" / "adm-s0-sample-1000-100.png";
  write_file_atomic(big.string(), std::string(reports::kMaxGridBytes + 1, 'x'));
  fs::remove(dir.path() / "adm-ip-s0" / "samples" / "adm-ip-s0-sample-1000-1000.png");
  reports::ReportInput in;
  in.experiment = "fig";
  in.spec = spec_from(kTable);
  const reports::Report r = reports::build_report(store, in);
  EXPECT_EQ(r.grids.size(), 2u);
  std::string warnings;
  for (const auto& w : r.warnings) warnings += w + "\n";
  EXPECT_NE(warnings.find("adm-s0-sample-1000-100.png of task adm-s0-sample-1000-100 is 4194305 bytes, over the "
                          "4194304-byte limit"),
            std::string::npos)
      << warnings;
  EXPECT_NE(warnings.find("adm-ip-s0-sample-1000-1000.png of task adm-ip-s0-sample-1000-1000 cannot be read"),
            std::string::npos)
      << warnings;
}

// events.jsonl is the task's to write: a path that leaves the run directory is not read, even
// when a PNG is there.
TEST(Figures, GridPathsOutsideTheRunDirectoryAreNotRead) {
  TempDir dir;
  runner::Store store(dir.file("repro.db"));
  fill_store(store, "fig", two_methods(), dir.path().string());
  const fs::path outside = dir.path() / "outside.png";
  write_png(outside, 34, 200);
  add_artifact_event(store, "adm-s0-sample-1000-100", "../../etc/passwd.png");
  add_artifact_event(store, "adm-s0-sample-1000-1000", "samples/../../outside.png");
  add_artifact_event(store, "adm-ip-s0-sample-1000-100", outside.string());
  write_png(dir.path() / "adm-ip-s0" / "samples" / "g.png", 34, 80);
  add_artifact_event(store, "adm-ip-s0-sample-1000-1000", "samples/./g.png");  // inside: shown
  reports::ReportInput in;
  in.experiment = "fig";
  in.spec = spec_from(kTable);
  const reports::Report r = reports::build_report(store, in);
  ASSERT_EQ(r.grids.size(), 1u);
  EXPECT_EQ(r.grids[0].sample_task, "adm-ip-s0-sample-1000-1000");
  const std::string html = reports::render_html(r);
  EXPECT_EQ(html.find(reports::base64_encode(read_file(outside.string()))), std::string::npos);
  std::string warnings;
  for (const auto& w : r.warnings) warnings += w + "\n";
  for (const std::string& path :
       {std::string("../../etc/passwd.png"), std::string("samples/../../outside.png"), outside.string()})
    EXPECT_NE(warnings.find("sample grid '" + path + "' of task "), std::string::npos) << path << "\n" << warnings;
  EXPECT_NE(warnings.find("is not a path inside the run directory"), std::string::npos) << warnings;
}

TEST(Figures, AssetsHoldTheArtifactsAndTheMarkdownLinksResolve) {
  TempDir dir;
  {
    runner::Store store(dir.file("repro.db"));
    fill_store(store, "fig", two_methods(), dir.path().string());
    add_grids(store, dir);
  }
  reports::ReportArgs args;
  args.where.db = dir.file("repro.db");
  args.experiment = "fig";
  args.out = dir.file("out/report.md");
  args.assets = dir.file("out/figures/");
  std::ostringstream out, err;
  fs::create_directories(dir.path() / "out");
  ASSERT_EQ(reports::report_command(args, out, err), 0) << err.str();
  const std::string md = read_file(args.out);
  const auto links = markdown_images(md);
  size_t pngs = 0, svgs = 0;
  for (const auto& l : links) {
    EXPECT_EQ(l.rfind("figures/", 0), 0u) << l;  // relative to the document's folder
    const fs::path target = dir.path() / "out" / l;
    ASSERT_TRUE(fs::is_regular_file(target)) << l;
    if (target.extension() == ".svg") {
      ++svgs;
      EXPECT_EQ(read_file(target.string()).rfind("<svg", 0), 0u);
    }
    if (target.extension() != ".png") continue;
    ++pngs;
    const std::string task = target.stem().string().substr(std::string("grid-").size());
    const std::string run = task.substr(0, task.find("-sample-"));
    EXPECT_EQ(read_file(target.string()), read_file((dir.path() / run / "samples" / (task + ".png")).string())) << l;
  }
  EXPECT_EQ(pngs, 4u);
  EXPECT_GE(svgs, 1u);                                                      // FID against sampling steps
  EXPECT_NE(md.find("| steps | adm | adm-ip |"), std::string::npos) << md;  // no labels: the default table

  // On stdout the links are the folder as given.
  args.out = "";
  args.assets = dir.file("out/figures");
  std::ostringstream to_stdout;
  ASSERT_EQ(reports::report_command(args, to_stdout, err), 0);
  EXPECT_NE(to_stdout.str().find("](" + args.assets + "/grid-adm-s0-sample-1000-100.png)"), std::string::npos);
}

TEST(Figures, LatexIncludesTheGridsAndCompiles) {
  TempDir dir;
  runner::Store store(dir.file("repro.db"));
  const reports::Report r = report_with_grids(store, dir);
  reports::write_figure_files(dir.file("figs"), r.grids, {&r.fid_curves, &r.step_curves, &r.loss_curves});
  const std::string tex = reports::render_latex(r, {"figs"});
  EXPECT_NE(tex.find("\\usepackage{graphicx}"), std::string::npos);
  EXPECT_NE(tex.find("\\includegraphics[width=0.30\\linewidth]{figs/grid-adm-ip-s0-sample-1000-100.png}"),
            std::string::npos)
      << tex;
  EXPECT_EQ(reports::render_latex(r).find("graphicx"), std::string::npos);  // without --assets: as before
  std::string engine, found;
  for (const char* e : {"pdflatex", "lualatex"})
    if (engine.empty() && run_command(std::string("command -v ") + e, &found) == 0) engine = e;
  if (engine.empty()) GTEST_SKIP() << "no pdflatex or lualatex on PATH: the LaTeX report is not compiled here";
  write_file_atomic(dir.file("report.tex"), tex);
  std::string log;
  EXPECT_EQ(
      run_command("cd " + dir.path().string() + " && " + engine + " -interaction=nonstopmode -halt-on-error report.tex",
                  &log),
      0)
      << log;
}

TEST(Figures, LogAxisTicksAreHandComputed) {
  EXPECT_EQ(reports::log_ticks(3, 40), (std::vector<double>{2, 5, 10, 20, 50}));
  EXPECT_EQ(reports::log_ticks(3, 8), (std::vector<double>{2, 5, 10}));
  EXPECT_EQ(reports::log_ticks(0.02, 300), (std::vector<double>{0.01, 0.1, 1, 10, 100, 1000}));
  // Inside one 1-2-5 step: round linear ticks (0.1 apart for a range of 0.28).
  std::vector<std::string> narrow;
  for (double t : reports::log_ticks(0.62, 0.9)) narrow.push_back(std::to_string(std::lround(t * 100)));
  EXPECT_EQ(narrow, (std::vector<std::string>{"70", "80", "90"}));
  EXPECT_TRUE(reports::log_ticks(0, 10).empty());

  reports::Plot p{"FID", "sampling steps", "FID", {{"adm", {{25, 40}, {100, 10}, {400, 3}, {800, -1}}, {}}}};
  p.log_y = true;
  const std::string svg = reports::svg_line_plot(p);
  // The y axis spans [2, 50]; 10 is the geometric middle (50/10 = 10/2), so its gridline is half
  // way down the 280-pixel plot area that starts at y = 32: 172.0.
  EXPECT_NE(svg.find("y1=\"172.0\" x2=\"460.0\" y2=\"172.0\" stroke=\"#ddd\"/><text x=\"58.0\" y=\"176.0\" "
                     "text-anchor=\"end\">10</text>"),
            std::string::npos)
      << svg;
  for (const std::string tick : {">2<", ">5<", ">20<", ">50<"}) EXPECT_NE(svg.find(tick), std::string::npos) << tick;
  EXPECT_NE(svg.find("FID (log scale)"), std::string::npos);
  EXPECT_EQ(svg.find("-1"), std::string::npos);  // a value <= 0 has no place on a log axis
}

TEST(Figures, TrainingCurvesHaveABandOverSeeds) {
  TempDir dir;
  runner::Store store(dir.file("repro.db"));
  fill_store(store, "fig",
             {{"adm", "0", 1000, 100, {{"fid", 3.4}}},
              {"adm", "1", 1000, 100, {{"fid", 3.5}}},
              {"adm-ip", "0", 1000, 100, {{"fid", 2.2}}}},
             dir.path().string());
  SQLite::Statement ins(store.db(),
                        "INSERT INTO metrics (task_id, name, step, value, seq) VALUES (?, 'grad_norm', ?, ?, ?)");
  // adm: seed 0 at 1 and 4, seed 1 at 3 and 2; adm-ip, one seed: 5 and 6.
  for (const auto& [task, step, value] :
       std::vector<std::tuple<std::string, int, double>>{{"adm-s0-train", 0, 1},
                                                         {"adm-s0-train", 100, 4},
                                                         {"adm-s1-train", 0, 3},
                                                         {"adm-s1-train", 100, 2},
                                                         {"adm-ip-s0-train", 0, 5},
                                                         {"adm-ip-s0-train", 100, 6}}) {
    ins.bind(1, task);
    ins.bind(2, step);
    ins.bind(3, value);
    ins.bind(4, step);
    ins.exec();
    ins.reset();
  }
  std::vector<reports::RunProvenance> runs;
  for (const std::string method : {"adm", "adm-ip"})
    for (const std::string seed : {"0", "1"})
      runs.push_back(
          {method + "-s" + seed, 0, {{"dataset", "cifar10"}, {"method", method}, {"seed", seed}}, {}, {}, {}});
  const auto plots = reports::loss_curves(store, runs);
  ASSERT_EQ(plots.size(), 2u);
  EXPECT_EQ(plots[0].title, "Training loss (cifar10)");
  const auto& grad = plots[1];
  EXPECT_EQ(grad.title, "Gradient norm (cifar10)");
  EXPECT_TRUE(grad.log_y);
  ASSERT_EQ(grad.series.size(), 2u);  // one line per method
  EXPECT_EQ(grad.series[0].name, "method=adm");
  EXPECT_EQ(grad.series[0].points, (std::vector<std::pair<double, double>>{{0, 2}, {100, 3}}));
  EXPECT_EQ(grad.series[0].band, (std::vector<std::array<double, 3>>{{0, 1, 3}, {100, 2, 4}}));
  EXPECT_TRUE(grad.series[1].band.empty());  // one seed: no spread
  const std::string svg = reports::svg_line_plot(grad);
  size_t bands = 0;
  for (size_t at = svg.find("<polygon class=\"band\""); at != std::string::npos; at = svg.find("<polygon", at + 1))
    ++bands;
  EXPECT_EQ(bands, 1u);
}

}  // namespace
}  // namespace repro::test

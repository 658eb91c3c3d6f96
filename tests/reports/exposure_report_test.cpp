// Exposure-bias curves in the reports: exposure_plots on hand-built curves (series names, points
// equal to the records, non-finite values left out), and the report reading the exposure tasks'
// JSON files (written here by hand, the independent truth of the format) through the store:
// grouping, labels, the rejected files with their warnings, the HTML section and --assets.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <regex>
#include <sstream>
#include <utility>

#include "base/diffusion/exposure_record.h"
#include "base/util/file_io.h"
#include "base/util/sha256.h"
#include "reports/exposure_plot.h"
#include "reports/render.h"
#include "reports/report_command.h"
#include "runner/plan/task_spec.h"
#include "tests/reports/report_fixture.h"

namespace repro::test {
namespace {

namespace fs = std::filesystem;
using Points = std::vector<std::pair<double, double>>;

// A record of step `index` with distinct values: eps norms 50 + index / 10 and 40 + index / 10,
// var_train 0.01 index, var_sample `boost` times that.
core::ExposureStep step(int index, double boost) {
  core::ExposureStep s;
  s.index = index;
  s.timestep = index * 10;
  s.eps_norm_sample = 50 + index / 10.0;
  s.eps_norm_train = 40 + index / 10.0;
  s.var_train = 0.01 * index;
  s.var_sample = boost * s.var_train;
  s.var_ratio = boost;
  return s;
}

core::ExposureCurves curves(double boost) {
  core::ExposureCurves c;
  c.steps = "100";
  c.num = 8;
  for (int i : {99, 50, 1}) c.records.push_back(step(i, boost));
  return c;
}

const reports::Series& series(const reports::Plot& p, const std::string& name) {
  for (const auto& s : p.series)
    if (s.name == name) return s;
  throw std::runtime_error("no series '" + name + "' in " + p.title);
}

std::vector<std::string> names(const reports::Plot& p) {
  std::vector<std::string> out;
  for (const auto& s : p.series) out.push_back(s.name);
  return out;
}

TEST(ExposurePlot, EpsNormsAndVarianceRatioOfEachLabelAreItsRecords) {
  const auto plots = reports::exposure_plots({{"ADM", curves(1.2)}, {"ADM-IP", curves(1.05)}}, "Exposure bias");
  ASSERT_EQ(plots.size(), 3u);
  const auto& eps = plots[0];
  EXPECT_EQ(eps.title, "Exposure bias: eps L2 norm");
  EXPECT_EQ(names(eps),
            (std::vector<std::string>{"ADM sampling", "ADM training", "ADM-IP sampling", "ADM-IP training"}));
  EXPECT_EQ(series(eps, "ADM sampling").points, (Points{{99, 59.9}, {50, 55}, {1, 50.1}}));
  EXPECT_EQ(series(eps, "ADM-IP training").points, (Points{{99, 49.9}, {50, 45}, {1, 40.1}}));
  EXPECT_FALSE(eps.log_x || eps.log_y);

  const auto& ratio = plots[1];
  EXPECT_EQ(ratio.title, "Exposure bias: variance ratio");
  EXPECT_EQ(names(ratio), (std::vector<std::string>{"ADM", "ADM-IP", "1 = no exposure bias"}));
  EXPECT_TRUE(ratio.log_y);
  EXPECT_EQ(series(ratio, "ADM").points, (Points{{99, 1.2}, {50, 1.2}, {1, 1.2}}));
  EXPECT_EQ(series(ratio, "ADM-IP").points, (Points{{99, 1.05}, {50, 1.05}, {1, 1.05}}));
  // The reference line spans the steps drawn.
  EXPECT_EQ(series(ratio, "1 = no exposure bias").points, (Points{{1, 1}, {99, 1}}));

  // Same schedule and steps: the forward process's variance is one line.
  const auto& var = plots[2];
  EXPECT_TRUE(var.log_y);
  EXPECT_EQ(names(var), (std::vector<std::string>{"ADM sampling", "ADM-IP sampling", "training (1 - abar_t)"}));
  EXPECT_EQ(series(var, "training (1 - abar_t)").points, (Points{{99, 0.99}, {50, 0.5}, {1, 0.01}}));
  EXPECT_EQ(series(var, "ADM sampling").points, (Points{{99, 1.2 * 0.99}, {50, 1.2 * 0.5}, {1, 1.2 * 0.01}}));

  // Every series name and the title are in the SVG.
  const std::string svg = reports::svg_line_plot(eps);
  for (const std::string n : {"ADM sampling", "ADM-IP training", "Exposure bias: eps L2 norm"})
    EXPECT_NE(svg.find(">" + n + "<"), std::string::npos) << n;
}

TEST(ExposurePlot, AnUnlabelledMeasurementAndNonFiniteValues) {
  core::ExposureCurves c = curves(1.1);
  c.records[1].eps_norm_sample = std::numeric_limits<double>::quiet_NaN();
  c.records[2].var_ratio = std::numeric_limits<double>::infinity();
  const auto plots = reports::exposure_plots({{"", c}}, "");
  ASSERT_EQ(plots.size(), 3u);
  EXPECT_EQ(plots[0].title, "eps L2 norm");
  EXPECT_EQ(names(plots[0]), (std::vector<std::string>{"sampling", "training"}));
  EXPECT_EQ(series(plots[0], "sampling").points, (Points{{99, 59.9}, {1, 50.1}}));  // the NaN is left out
  EXPECT_EQ(series(plots[0], "training").points.size(), 3u);
  EXPECT_EQ(names(plots[1]), (std::vector<std::string>{"sampling / training", "1 = no exposure bias"}));
  EXPECT_EQ(series(plots[1], "sampling / training").points, (Points{{99, 1.1}, {50, 1.1}}));
  EXPECT_EQ(series(plots[1], "1 = no exposure bias").points, (Points{{50, 1}, {99, 1}}));
  EXPECT_EQ(names(plots[2]), (std::vector<std::string>{"sampling", "training (1 - abar_t)"}));
  EXPECT_TRUE(reports::exposure_plots({}, "x").empty());
}

TEST(ExposurePlot, ForwardVariancesThatDifferGetALineEach) {
  core::ExposureCurves other = curves(1.0);
  other.records[0].var_train = 0.5;  // another schedule
  const auto plots = reports::exposure_plots({{"a", curves(1.0)}, {"b", other}}, "t");
  EXPECT_EQ(names(plots[2]), (std::vector<std::string>{"a sampling", "b sampling", "a training", "b training"}));
  EXPECT_EQ(series(plots[2], "b training").points, (Points{{99, 0.5}, {50, 0.5}, {1, 0.01}}));
}

// ---- the report ----

// An exposure task's JSON as `repro exposure` writes it (docs/exposure.md), by hand: three steps
// whose values carry `scale` (ADM's 1, ADM-IP's 0.5) so that each run's curve is recognisable.
std::string exposure_file_text(const std::string& steps, double scale) {
  std::string records;
  for (const int t : {2, 1, 0}) {
    const double var_train = 0.2 + 0.3 * t;
    const double var_sample = var_train * (1 + 0.1 * scale * (t + 1));
    std::ostringstream r;
    r.precision(17);
    r << "{\"index\": " << t << ", \"timestep\": " << t * 333 << ", \"eps_norm_sample\": " << 30 + scale * t
      << ", \"eps_norm_train\": " << 20 + scale * t << ", \"var_sample\": " << var_sample
      << ", \"var_train\": " << var_train << ", \"var_ratio\": " << var_sample / var_train << "}";
    records += (records.empty() ? "" : ",\n    ") + r.str();
  }
  return "{\"v\": 1, \"mode\": \"chain\", \"steps\": \"" + steps +
         "\", \"sampler\": \"ancestral\", \"eta\": 0, \"num\": 4, \"eps_scale\": {\"b\": 1, \"k\": 0}, "
         "\"start\": 0, \"checkpoint\": \"checkpoints/ema_0.9999_001000.pt\", \"data\": \"ref.npz\",\n"
         " \"records\": [\n    " +
         records + "]}\n";
}

// The exposure task of `run` at `steps` (and lambda `b`): its spec as the planner writes it.
std::string exposure_task(runner::Store& store, const std::string& run, int steps, double b = 1.0) {
  runner::SampleTaskSpec s;
  s.batch_size = 64;
  s.checkpoint_step = 1000;
  s.ema = "0.9999";
  s.steps = steps;
  s.sampler = "ancestral";
  s.num_samples = 4;
  s.seed = 0;
  s.data = "ref.npz";
  s.exposure_num = 4;
  s.eps_scale_b = b;
  std::string task = run + "-exposure-" + std::to_string(steps) + (b == 1.0 ? "" : "-es");
  runner::put_task(store, {task, run, runner::TaskKind::kSample, runner::spec_text(s)});
  return task;
}

// The `artifact` record of a task's events.jsonl, as the ingest keeps it in task_events.
void add_artifact_event(runner::Store& store, const std::string& task, const std::string& path,
                        const std::string& sha256 = "") {
  SQLite::Statement ins(store.db(),
                        "INSERT INTO task_events (task_id, seq, type, step, time, record) "
                        "VALUES (?1, 1, 'artifact', NULL, 0, ?2)");
  ins.bind(1, task);
  nlohmann::json record = {{"type", "artifact"}, {"seq", 1}, {"path", path}};
  if (!sha256.empty()) record["sha256"] = sha256;
  ins.bind(2, record.dump());
  ins.exec();
}

// Writes the task's exposure/<task>.json (and an .svg the report does not read) and records them:
// adm's in the artifacts table, adm-ip's as `artifact` events, both with the SHA-256.
void add_exposure(runner::Store& store, const TempDir& dir, const std::string& run, int steps, double b = 1.0) {
  const std::string task = exposure_task(store, run, steps, b);
  const std::string rel = "exposure/" + task + ".json", path = (dir.path() / run / rel).string();
  fs::create_directories(dir.path() / run / "exposure");
  write_file_atomic(path, exposure_file_text(std::to_string(steps), run == "adm-s0" ? 1.0 : 0.5));
  write_file_atomic((dir.path() / run / "exposure" / (task + ".svg")).string(), "<svg/>");
  if (run == "adm-s0") {
    runner::put_artifact(store, {task, rel, sha256_file_hex(path), std::nullopt});
    runner::put_artifact(store, {task, "exposure/" + task + ".svg", "", std::nullopt});
  } else {
    add_artifact_event(store, task, rel, sha256_file_hex(path));
  }
}

std::vector<FakeResult> two_methods() {
  return {{"adm", "0", 1000, 100, {{"fid", 3.4}}}, {"adm-ip", "0", 1000, 100, {{"fid", 2.2}}}};
}

const char* const kTable =
    "tables:\n  - id: t3\n    rows: [method]\n    columns: [steps, metric]\n    metrics: [fid]\n"
    "    labels: {method: {adm: ADM, adm-ip: ADM-IP}}\n";

reports::Report build(runner::Store& store, bool include_stale = false) {
  reports::ReportInput in;
  in.experiment = "exp";
  in.spec = spec_from(kTable);
  in.axes = {{"dataset", {"cifar10"}}, {"method", {"adm", "adm-ip"}}, {"seed", {"0"}}};
  in.include_stale = include_stale;
  return reports::build_report(store, in);
}

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

TEST(ExposureReport, OneGroupPerSettingWithTheMethodsSideBySide) {
  TempDir dir;
  runner::Store store(dir.file("repro.db"));
  fill_store(store, "exp", two_methods(), dir.path().string());
  for (const std::string run : {"adm-s0", "adm-ip-s0"})
    for (const int steps : {100, 50}) add_exposure(store, dir, run, steps);
  add_exposure(store, dir, "adm-s0", 100, 1.017);
  const reports::Report r = build(store);
  EXPECT_EQ(joined(r.warnings), "");
  // Groups in (steps, lambda) order, three plots each.
  ASSERT_EQ(r.exposure_curves.size(), 9u);
  EXPECT_EQ(r.exposure_curves[0].title, "Exposure bias (cifar10), 50 steps, iteration 1000: eps L2 norm");
  EXPECT_EQ(r.exposure_curves[3].title, "Exposure bias (cifar10), 100 steps, iteration 1000: eps L2 norm");
  EXPECT_EQ(r.exposure_curves[4].title, "Exposure bias (cifar10), 100 steps, iteration 1000: variance ratio");
  EXPECT_EQ(r.exposure_curves[6].title,
            "Exposure bias (cifar10), 100 steps, iteration 1000, lambda 1.017: eps L2 norm");
  // Labels from the table's labels, in matrix order; the points are the file's records.
  const auto& eps = r.exposure_curves[3];
  EXPECT_EQ(names(eps),
            (std::vector<std::string>{"ADM sampling", "ADM training", "ADM-IP sampling", "ADM-IP training"}));
  EXPECT_EQ(series(eps, "ADM sampling").points, (Points{{2, 32}, {1, 31}, {0, 30}}));
  EXPECT_EQ(series(eps, "ADM-IP training").points, (Points{{2, 21}, {1, 20.5}, {0, 20}}));
  const auto& ratio = series(r.exposure_curves[4], "ADM-IP");
  ASSERT_EQ(ratio.points.size(), 3u);
  EXPECT_NEAR(ratio.points[0].second, 1.15, 1e-12);  // 1 + 0.1 x 0.5 x 3
  EXPECT_EQ(names(r.exposure_curves[6]), (std::vector<std::string>{"ADM sampling", "ADM training"}));
  // Plot files numbered after the other figures.
  EXPECT_EQ(r.exposure_curves[0].file.rfind("plot-", 0), 0u);
  EXPECT_NE(r.exposure_curves[0].file.find("-exposure-bias-cifar10-50-steps-iteration-1000-eps-l2-norm.svg"),
            std::string::npos)
      << r.exposure_curves[0].file;

  // HTML: a section of its own with the plots inline.
  const std::string html = reports::render_html(r);
  const size_t section = html.find("<h2>Exposure bias</h2>");
  ASSERT_NE(section, std::string::npos);
  EXPECT_LT(html.find("<h2>Curves</h2>"), section);
  const std::string after = html.substr(section);
  EXPECT_NE(after.find("never saw in training"), std::string::npos);
  for (const std::string n : {">ADM sampling<", ">ADM-IP training<", ">1 = no exposure bias<", "lambda 1.017"})
    EXPECT_NE(after.find(n), std::string::npos) << n;
  size_t svgs = 0;
  for (size_t at = after.find("<svg"); at != std::string::npos; at = after.find("<svg", at + 1)) ++svgs;
  EXPECT_EQ(svgs, 9u);
  // Without figures (compare, CSV, JSON): nothing is read.
  reports::ReportInput in;
  in.experiment = "exp";
  in.sample_grids = false;
  EXPECT_TRUE(reports::build_report(store, in).exposure_curves.empty());
}

TEST(ExposureReport, FilesThatAreMissingTooLargeChangedOutsideOrNotCurvesAreLeftOut) {
  TempDir dir;
  runner::Store store(dir.file("repro.db"));
  fill_store(store, "exp", two_methods(), dir.path().string());
  for (const std::string run : {"adm-s0", "adm-ip-s0"})
    for (const int steps : {100, 50, 20, 10}) add_exposure(store, dir, run, steps);
  const fs::path adm = dir.path() / "adm-s0" / "exposure", ip = dir.path() / "adm-ip-s0" / "exposure";
  fs::remove(adm / "adm-s0-exposure-100.json");
  write_file_atomic((adm / "adm-s0-exposure-50.json").string(),
                    std::string(reports::kMaxReportedExposureBytes + 1, ' '));
  write_file_atomic((ip / "adm-ip-s0-exposure-100.json").string(), exposure_file_text("100", 0.25));  // changed
  // Recorded without a SHA-256, so only the reader can refuse it.
  const std::string bad = "exposure/bad.json";
  write_file_atomic((ip / "bad.json").string(), "{\"records\": \"no\"}");
  const std::string bad_task = exposure_task(store, "adm-ip-s0", 20, 1.005);
  add_artifact_event(store, bad_task, bad);
  // A path that leaves the run directory is not read, even where a good file is.
  write_file_atomic((dir.path() / "outside.json").string(), exposure_file_text("10", 1));
  add_artifact_event(store, exposure_task(store, "adm-s0", 10, 1.005), "../outside.json");
  // A spec that does not read.
  runner::put_task(store, {"adm-s0-odd", "adm-s0", runner::TaskKind::kSample, "{\"exposure_num\": 4}"});
  runner::put_artifact(store, {"adm-s0-odd", "exposure/odd.json", "", std::nullopt});

  const reports::Report r = build(store);
  const std::string warnings = joined(r.warnings);
  for (const std::string& w :
       {"exposure curves " + (adm / "adm-s0-exposure-100.json").string() +
            " of task adm-s0-exposure-100 cannot be read",
        "exposure curves " + (adm / "adm-s0-exposure-50.json").string() + " of task adm-s0-exposure-50 is " +
            std::to_string(reports::kMaxReportedExposureBytes + 1) + " bytes, over the " +
            std::to_string(reports::kMaxReportedExposureBytes) + "-byte limit",
        "exposure curves " + (ip / "adm-ip-s0-exposure-100.json").string() +
            " of task adm-ip-s0-exposure-100 changed since the task recorded it (SHA-256 differs)",
        "exposure curves " + (ip / "bad.json").string() + " of task " + bad_task + " do not read (",
        std::string("exposure curves '../outside.json' of task adm-s0-exposure-10-es is not a path inside the run "
                    "directory"),
        std::string("exposure task adm-s0-odd of run adm-s0: its spec or axes do not read")})
    EXPECT_NE(warnings.find(w), std::string::npos) << w << "\n---\n" << warnings;
  // What is left: 50 steps ADM-IP alone, 20 and 10 steps both methods.
  ASSERT_EQ(r.exposure_curves.size(), 9u) << warnings;
  EXPECT_EQ(names(r.exposure_curves[6]), (std::vector<std::string>{"ADM-IP sampling", "ADM-IP training"}));
  EXPECT_NE(r.exposure_curves[6].title.find("50 steps"), std::string::npos);
  const std::string html = reports::render_html(r);
  EXPECT_EQ(html.find("30.000000000000004"), std::string::npos);
}

TEST(ExposureReport, AssetsHoldThePlotsThatMarkdownAndLatexName) {
  TempDir dir;
  {
    runner::Store store(dir.file("repro.db"));
    fill_store(store, "exp", two_methods(), dir.path().string());
    for (const std::string run : {"adm-s0", "adm-ip-s0"}) add_exposure(store, dir, run, 100);
  }
  reports::ReportArgs args;
  args.where.db = dir.file("repro.db");
  args.experiment = "exp";
  args.out = dir.file("out/report.md");
  args.assets = dir.file("out/figures");
  fs::create_directories(dir.path() / "out");
  std::ostringstream out, err;
  ASSERT_EQ(reports::report_command(args, out, err), 0) << err.str();
  const std::string md = read_file(args.out);
  const size_t section = md.find("## Exposure bias");
  ASSERT_NE(section, std::string::npos) << md;
  const auto links = markdown_images(md.substr(section));
  ASSERT_EQ(links.size(), 3u) << md;
  for (const auto& l : links) {
    const fs::path file = dir.path() / "out" / l;
    ASSERT_TRUE(fs::is_regular_file(file)) << l;
    const std::string svg = read_file(file.string());
    EXPECT_EQ(svg.rfind("<svg", 0), 0u);
    // The default table has no labels: the axis values name the runs.
    EXPECT_NE(svg.find(l.find("variance-ratio") == std::string::npos ? ">adm-ip sampling<" : ">adm-ip<"),
              std::string::npos)
        << l;
  }
  args.format = "latex";
  args.out = dir.file("out/report.tex");
  ASSERT_EQ(reports::report_command(args, out, err), 0) << err.str();
  EXPECT_NE(read_file(args.out).find("% plot (SVG, not included by pdflatex): figures/" +
                                     fs::path(links[0]).filename().string()),
            std::string::npos);
}

TEST(ExposureReport, StaleRunsOnlyWithIncludeStale) {
  TempDir dir;
  runner::Store store(dir.file("repro.db"));
  fill_store(store, "exp", two_methods(), dir.path().string());
  for (const std::string run : {"adm-s0", "adm-ip-s0"}) add_exposure(store, dir, run, 100);
  ASSERT_EQ(names(build(store).exposure_curves.at(0)).size(), 4u);  // no expansion recorded: both current
  runner::set_current_expansion(store, "exp", {"adm-s0"});          // adm-ip-s0 is stale now
  EXPECT_EQ(names(build(store).exposure_curves.at(0)), (std::vector<std::string>{"ADM sampling", "ADM training"}));
  EXPECT_EQ(names(build(store, true).exposure_curves.at(0)).size(), 4u);
}

}  // namespace
}  // namespace repro::test

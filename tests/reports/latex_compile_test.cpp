// The LaTeX report compiles (booktabs) where a TeX engine is installed; skipped otherwise.
#include <gtest/gtest.h>

#include <cstdlib>

#include "reports/render.h"
#include "tests/reports/report_fixture.h"

namespace repro::test {
namespace {

std::string tex_engine() {
  for (const char* engine : {"pdflatex", "lualatex"}) {
    std::string out;
    if (run_command(std::string("command -v ") + engine, &out) == 0) return engine;
  }
  return "";
}

TEST(LatexCompile, ReportWithHostileNamesCompiles) {
  const std::string engine = tex_engine();
  if (engine.empty()) GTEST_SKIP() << "no pdflatex or lualatex on PATH: the LaTeX report is not compiled here";
  TempDir dir;
  runner::Store store(dir.file("repro.db"));
  fill_store(store, "tex",
             {{"adm", "0", 100, 10, {{"fid", 3.0}, {"sfid", 4.0}}},
              {"adm_ip & #1 {x}", "0", 100, 10, {{"fid", 2.0}, {"sfid", 3.5}}},
              {"adm", "1", 100, 10, {{"fid", 3.2}, {"sfid", 4.1}}}},
             dir.path().string(), "cifar_10 $%");
  reports::ReportInput in;
  in.experiment = "tex";
  in.spec = spec_from(
      "tables:\n  - id: t\n    title: 'Table 3: FID_50k & sFID ~ 100% {x}'\n    rows: [method]\n"
      "    columns: [dataset, metric]\n    metrics: [fid, sfid]\n    published:\n      num_samples: 1000\n"
      "      values:\n        - {method: adm, dataset: 'cifar_10 $%', fid: 2.99, sfid: 4.76}\n");
  write_file_atomic(dir.file("report.tex"), reports::render_latex(reports::build_report(store, in)));
  std::string out;
  const int rc = run_command(
      "cd " + dir.path().string() + " && " + engine + " -interaction=nonstopmode -halt-on-error report.tex", &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_TRUE(std::filesystem::exists(dir.file("report.pdf")));
}

}  // namespace
}  // namespace repro::test

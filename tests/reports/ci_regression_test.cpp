// experiments/ci_regression.yaml reads (with its report: section) and its committed baseline is
// either a recorded report or the placeholder that compare refuses with a clear message.
#include <gtest/gtest.h>

#include "base/util/errors.h"
#include "base/util/file_io.h"
#include "reports/baseline_compare.h"
#include "reports/report_spec.h"
#include "runner/experiment/expand.h"
#include "runner/experiment/experiment_file.h"
#include "tests/support/test_support.h"

namespace repro::test {
namespace {

TEST(CiRegression, ExperimentFileAndReportSectionRead) {
  const auto f = runner::read_experiment_file(source_dir() + "/experiments/ci_regression.yaml");
  EXPECT_EQ(f.name, "ci_regression");
  std::vector<std::string> axes;
  for (const auto& a : f.axes) axes.push_back(a.name);
  EXPECT_EQ(axes, (std::vector<std::string>{"method", "seed"}));
  const auto spec = reports::read_report_spec(f.report, f.path, axes);
  ASSERT_EQ(spec.tables.size(), 1u);
  EXPECT_EQ(spec.tables[0].id, "regression");
}

TEST(CiRegression, GpuAndDocumentedCpuSizesExpand) {
  const auto f = runner::read_experiment_file(source_dir() + "/experiments/ci_regression.yaml");
  const auto gpu = runner::expand(f);
  ASSERT_EQ(gpu.runs.size(), 2u);
  ASSERT_TRUE(gpu.runs[0].eval);
  EXPECT_EQ(gpu.runs[0].eval->num_samples, 2000);
  // The CPU size of docs/reports.md and the file's header.
  const auto cpu = runner::expand(f, {"model.num_channels=32", "model.num_res_blocks=1", "train.iterations=100",
                                      "train.save_interval=50", "eval.at_iterations=50,100", "eval.sampling_steps=50",
                                      "eval.num_samples=64", "eval.batch_size=64", "eval.features=random-inception"});
  ASSERT_EQ(cpu.runs.size(), 2u);
  EXPECT_EQ(cpu.runs[0].eval->at_iterations, (std::vector<int64_t>{50, 100}));
  EXPECT_EQ(cpu.runs[0].eval->sampling_steps, (std::vector<int>{50}));
  EXPECT_EQ(cpu.runs[0].train.train.iterations, 100);
  EXPECT_NE(cpu.runs[0].run_id, gpu.runs[0].run_id);
}

TEST(CiRegression, CommittedBaselineIsARecordedReportOrARefusedPlaceholder) {
  const auto b = nlohmann::json::parse(read_file(source_dir() + "/experiments/baselines/ci_regression.json"));
  EXPECT_EQ(b.value("experiment", ""), "ci_regression");
  if (b.value("placeholder", false)) {
    const std::string msg = error_message([&] { reports::check_baseline(b, "ci_regression", "ci_regression.json"); });
    EXPECT_NE(msg.find("a placeholder, not a recorded baseline"), std::string::npos) << msg;
    EXPECT_NE(msg.find("candidate-baseline.json"), std::string::npos) << msg;
  } else {
    EXPECT_NO_THROW(reports::check_baseline(b, "ci_regression", "ci_regression.json"));
  }
}

}  // namespace
}  // namespace repro::test

// Every experiment file in experiments/ has a report: section that the reports library reads
// (the files and the library agree on docs/reports.md's schema).
#include <gtest/gtest.h>

#include <filesystem>

#include "reports/report_spec.h"
#include "runner/experiment/experiment_file.h"
#include "tests/support/test_support.h"

namespace repro::test {
namespace {

TEST(ExperimentReports, EveryExperimentFilesReportSectionReads) {
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(source_dir() + "/experiments")) {
    if (e.path().extension() != ".yaml") continue;
    ++files;
    SCOPED_TRACE(e.path().string());
    try {
      const auto f = runner::read_experiment_file(e.path().string());
      std::vector<std::string> axes;
      for (const auto& a : f.axes) axes.push_back(a.name);
      reports::read_report_spec(f.report, f.path, axes);
    } catch (const std::exception& ex) {
      ADD_FAILURE() << ex.what();
    }
  }
  EXPECT_GT(files, 0);
}

}  // namespace
}  // namespace repro::test

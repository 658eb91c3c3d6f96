// Verdicts at the tolerance boundaries, with seeds, and when not comparable.
#include "reports/verdict.h"

#include <gtest/gtest.h>

#include "reports/seed_stats.h"

namespace repro::test {
namespace {

using reports::judge;
using reports::Tolerance;
using reports::Verdict;
using reports::VerdictInput;

VerdictInput in(double mean, double published, double std = 0, int n = 1) {
  VerdictInput v;
  v.ours = reports::SeedStats{mean, std, n};
  v.published = published;
  return v;
}

const Tolerance kAbs{Tolerance::Kind::kAbsolute, 0.3};
const Tolerance kRel{Tolerance::Kind::kRelative, 0.05};
const Tolerance kSeeds{Tolerance::Kind::kSeeds, 2.0};

TEST(Verdict, AbsoluteBoundaryIsInclusive) {
  EXPECT_EQ(judge(in(2.99 + 0.3, 2.99), "fid", kAbs).verdict, Verdict::kReproduced);
  EXPECT_EQ(judge(in(2.99 - 0.3, 2.99), "fid", kAbs).verdict, Verdict::kReproduced);
  EXPECT_EQ(judge(in(3.2901, 2.99), "fid", kAbs).verdict, Verdict::kWorse);
  EXPECT_EQ(judge(in(2.6899, 2.99), "fid", kAbs).verdict, Verdict::kBetter);
}

TEST(Verdict, RelativeBoundaryAndDirectionPerMetric) {
  EXPECT_EQ(judge(in(4.2, 4.0), "sfid", kRel).verdict, Verdict::kReproduced);  // exactly 5 %
  EXPECT_EQ(judge(in(4.2001, 4.0), "sfid", kRel).verdict, Verdict::kWorse);
  // Higher is better for precision and recall.
  EXPECT_EQ(judge(in(0.70, 0.60), "precision", kRel).verdict, Verdict::kBetter);
  EXPECT_EQ(judge(in(0.50, 0.60), "recall", kRel).verdict, Verdict::kWorse);
  EXPECT_EQ(judge(in(0.63, 0.60), "recall", kRel).verdict, Verdict::kReproduced);
}

TEST(Verdict, SeedsToleranceUsesTheSpreadOfTheSeeds) {
  const auto s = reports::seed_stats({3.0, 3.2, 3.4});  // mean 3.2, std 0.2
  EXPECT_NEAR(s.std, 0.2, 1e-12);
  auto v = in(s.mean, 3.6, s.std, s.n);  // |3.2 - 3.6| = 0.4 = 2 std
  EXPECT_EQ(judge(v, "fid", kSeeds).verdict, Verdict::kReproduced);
  v.published = 3.61;
  EXPECT_EQ(judge(v, "fid", kSeeds).verdict, Verdict::kBetter);
  // One seed: no spread, so never "reproduced"; the note says why.
  const auto one = judge(in(3.2, 3.21), "fid", kSeeds);
  EXPECT_EQ(one.verdict, Verdict::kBetter);
  EXPECT_NE(one.note.find("at least 2 seeds"), std::string::npos);
}

TEST(Verdict, MissingNotComparableAndNoPublished) {
  VerdictInput missing;
  missing.published = 2.99;
  EXPECT_EQ(judge(missing, "fid", kAbs).verdict, Verdict::kMissing);
  auto random = in(2.99, 2.99);
  random.comparable = false;
  EXPECT_EQ(judge(random, "fid", kAbs).verdict, Verdict::kNotComparable);
  auto few = in(2.99, 2.99);
  few.num_samples = 10000;
  const auto j = judge(few, "fid", kAbs);
  EXPECT_EQ(j.verdict, Verdict::kNotComparable);
  EXPECT_NE(j.note.find("10000 samples, fewer than the published 50000"), std::string::npos);
  few.published_num_samples = 10000;
  EXPECT_EQ(judge(few, "fid", kAbs).verdict, Verdict::kReproduced);
  VerdictInput ours_only;
  ours_only.ours = reports::SeedStats{1, 0, 1};
  EXPECT_EQ(judge(ours_only, "fid", kAbs).verdict, Verdict::kNoPublished);
  EXPECT_EQ(judge(VerdictInput{}, "fid", kAbs).verdict, Verdict::kEmpty);
}

TEST(SeedStats, MeanAndSampleStd) {
  const auto s = reports::seed_stats({1.0, 2.0, 3.0, 4.0});
  EXPECT_DOUBLE_EQ(s.mean, 2.5);
  EXPECT_NEAR(s.std, std::sqrt(5.0 / 3.0), 1e-12);
  EXPECT_EQ(s.n, 4);
  EXPECT_DOUBLE_EQ(reports::seed_stats({7.0}).std, 0.0);
}

}  // namespace
}  // namespace repro::test

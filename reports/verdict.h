#pragma once
// Whether our number reproduces the published one (docs/reports.md, Verdicts).
#include <cstdint>
#include <optional>
#include <string>

#include "reports/report_spec.h"
#include "reports/seed_stats.h"

namespace repro::reports {

enum class Verdict {
  kReproduced,     // within the table's tolerance
  kBetter,         // outside it, in the good direction
  kWorse,          // outside it, in the bad direction
  kMissing,        // published, but we have no result
  kNotComparable,  // random-weight features or fewer samples than published
  kNoPublished,    // ours only: nothing to compare with
  kEmpty,          // neither
};

std::string to_string(Verdict v);

// What the verdict is judged on.
struct VerdictInput {
  std::optional<SeedStats> ours;
  std::optional<double> published;
  bool comparable = true;   // every result of the cell had comparable_with_published
  int64_t num_samples = 0;  // fewest samples among the cell's results; 0 = unknown
  int64_t published_num_samples = 50000;
};

struct Judgement {
  Verdict verdict = Verdict::kEmpty;
  std::string note;  // why not comparable, or why a seeds tolerance could not apply
};

// Bounds are inclusive, up to a rounding slack of 1e-9 * max(1, |published|) so that a
// difference written as exactly the tolerance (2.99 + 0.3) counts as within it. A seeds
// tolerance needs at least 2 seeds; with fewer, the cell is judged better or worse only.
Judgement judge(const VerdictInput& in, const std::string& metric, const Tolerance& tolerance);

// Whether |ours - reference| is inside `tolerance` (absolute or relative to |reference|); used
// by compare as well. Seeds tolerances use `std_of_ours` and `n`.
bool within_tolerance(double ours, double reference, const Tolerance& tolerance, double std_of_ours = 0, int n = 1);

}  // namespace repro::reports

#include "reports/verdict.h"

#include <algorithm>
#include <cmath>

namespace repro::reports {

std::string to_string(Verdict v) {
  switch (v) {
    case Verdict::kReproduced:
      return "reproduced";
    case Verdict::kBetter:
      return "better";
    case Verdict::kWorse:
      return "worse";
    case Verdict::kMissing:
      return "missing";
    case Verdict::kNotComparable:
      return "not comparable";
    case Verdict::kNoPublished:
      return "no published value";
    case Verdict::kEmpty:
      return "";
  }
  return "";
}

bool within_tolerance(double ours, double reference, const Tolerance& t, double std_of_ours, int n) {
  const double slack = 1e-9 * std::max(1.0, std::fabs(reference));
  const double diff = std::fabs(ours - reference);
  switch (t.kind) {
    case Tolerance::Kind::kAbsolute:
      return diff <= t.amount + slack;
    case Tolerance::Kind::kRelative:
      return diff <= t.amount * std::fabs(reference) + slack;
    case Tolerance::Kind::kSeeds:
      return n >= 2 && diff <= t.amount * std_of_ours + slack;
  }
  return false;
}

Judgement judge(const VerdictInput& in, const std::string& metric, const Tolerance& tolerance) {
  Judgement j;
  if (!in.ours && !in.published) return j;
  if (!in.ours) return {Verdict::kMissing, ""};
  if (!in.published) return {Verdict::kNoPublished, ""};
  if (!in.comparable) return {Verdict::kNotComparable, "random-weight features (recipe not comparable with published)"};
  if (in.num_samples > 0 && in.num_samples < in.published_num_samples)
    return {Verdict::kNotComparable, std::to_string(in.num_samples) + " samples, fewer than the published " +
                                         std::to_string(in.published_num_samples)};
  const auto& s = *in.ours;
  if (within_tolerance(s.mean, *in.published, tolerance, s.std, s.n)) return {Verdict::kReproduced, ""};
  if (tolerance.kind == Tolerance::Kind::kSeeds && s.n < 2) j.note = "a seeds tolerance needs at least 2 seeds";
  const bool lower = lower_is_better(metric);
  j.verdict = (lower ? s.mean < *in.published : s.mean > *in.published) ? Verdict::kBetter : Verdict::kWorse;
  return j;
}

}  // namespace repro::reports

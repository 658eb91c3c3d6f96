#include "base/train/keep_policy.h"

#include <algorithm>

namespace repro::core {

std::vector<int64_t> saved_steps(int64_t save_interval, int64_t iterations) {
  std::vector<int64_t> steps;
  if (save_interval <= 0 || iterations <= 0) return steps;
  for (int64_t k = save_interval; k < iterations; k += save_interval) steps.push_back(k);
  steps.push_back(iterations);
  return steps;
}

KeepPlan keep_plan(const std::string& keep, const std::vector<int64_t>& saved, const std::vector<int64_t>& evaluated,
                   int64_t latest) {
  KeepPlan plan;
  plan.optimizer_step = latest;
  for (int64_t k : keep == "all" ? saved : evaluated)
    if (k <= latest) plan.model_steps.push_back(k);
  if (latest > 0) plan.model_steps.push_back(latest);
  std::sort(plan.model_steps.begin(), plan.model_steps.end());
  plan.model_steps.erase(std::unique(plan.model_steps.begin(), plan.model_steps.end()), plan.model_steps.end());
  return plan;
}

}  // namespace repro::core

#include "base/train/keep_policy.h"

#include <algorithm>
#include <tuple>

#include "base/train/checkpoint_names.h"

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
  plan.keep_everything = keep == "all";
  for (int64_t k : plan.keep_everything ? saved : evaluated)
    if (k <= latest) plan.model_steps.push_back(k);
  if (latest > 0) plan.model_steps.push_back(latest);
  std::sort(plan.model_steps.begin(), plan.model_steps.end());
  plan.model_steps.erase(std::unique(plan.model_steps.begin(), plan.model_steps.end()), plan.model_steps.end());
  return plan;
}

namespace {

const std::string kChecksumSuffix = ".sha256";  // sha256sum's file beside each checkpoint file

// "ema_0.9999_000100.pt" -> 100: the rate is whatever lies between "ema_" and the last '_'.
std::optional<int64_t> ema_step(const std::string& name) {
  const auto last = name.rfind('_');
  if (name.rfind("ema_", 0) != 0 || last == std::string::npos || last <= 4) return std::nullopt;
  return checkpoint_step(name, name.substr(0, last + 1), ".pt");
}

}  // namespace

std::optional<CheckpointFile> classify_checkpoint_file(const std::string& name_in) {
  CheckpointFile f;
  std::string name = name_in;
  if (name.size() > kChecksumSuffix.size() &&
      name.compare(name.size() - kChecksumSuffix.size(), kChecksumSuffix.size(), kChecksumSuffix) == 0) {
    f.checksum = true;
    name.resize(name.size() - kChecksumSuffix.size());
  }
  std::optional<int64_t> step;
  if ((step = checkpoint_step(name, "state", ".json"))) {
    f.kind = CheckpointFile::Kind::kState;
  } else if ((step = checkpoint_step(name, "opt", ".pt"))) {
    f.kind = CheckpointFile::Kind::kOptimizer;
  } else if ((step = checkpoint_step(name, "model", ".pt")) || (step = ema_step(name))) {
    f.kind = CheckpointFile::Kind::kWeights;
  } else {
    return std::nullopt;
  }
  f.step = *step;
  return f;
}

std::vector<std::string> files_to_prune(const std::vector<std::string>& names, const KeepPlan& plan) {
  const int64_t latest = plan.optimizer_step;
  if (plan.keep_everything || latest <= 0) return {};
  // (kind, step, name without .sha256, is the .sha256, name): the deletion order.
  std::vector<std::tuple<CheckpointFile::Kind, int64_t, std::string, bool, std::string>> doomed;
  for (const auto& name : names) {
    const auto f = classify_checkpoint_file(name);
    if (!f || f->step >= latest) continue;
    const bool kept = f->kind == CheckpointFile::Kind::kWeights &&
                      std::binary_search(plan.model_steps.begin(), plan.model_steps.end(), f->step);
    if (!kept)
      doomed.emplace_back(f->kind, f->step, name.substr(0, name.size() - (f->checksum ? kChecksumSuffix.size() : 0)),
                          f->checksum, name);
  }
  std::sort(doomed.begin(), doomed.end());
  std::vector<std::string> out;
  out.reserve(doomed.size());
  for (auto& d : doomed) out.push_back(std::move(std::get<4>(d)));
  return out;
}

}  // namespace repro::core

#include "reports/provenance.h"

#include <algorithm>
#include <utility>

#include <nlohmann/json.hpp>

#include "store/report_queries.h"

namespace repro::reports {

const std::vector<std::string>& provenance_keys_that_must_agree() {
  static const std::vector<std::string> k = {"git_commit", "libtorch_version", "cuda", "device", "data_fingerprint"};
  return k;
}

ProvenanceIndex::ProvenanceIndex(runner::Store& store, const std::string& experiment) {
  for (auto& run : runner::report_runs(store, experiment)) {
    RunProvenance r;
    r.run_id = std::move(run.run_id);
    r.position = run.position;
    auto axes = nlohmann::json::parse(run.axes, nullptr, false);
    if (axes.is_object())
      for (const auto& [k, v] : axes.items()) r.axes[k] = v.is_string() ? v.get<std::string>() : v.dump();
    // The seed of a run without a seed axis: its resolved config's train.seed.
    if (!run.seed.empty()) r.entries["seed"] = std::move(run.seed);
    runs_.push_back(std::move(r));
  }
  for (auto& p : runner::provenance_of_experiment(store, experiment))
    rows_[p.run_id].push_back({std::move(p.task_id), std::move(p.kind), std::move(p.key), std::move(p.value)});

  std::map<std::string, RunProvenance*> by_id;
  for (auto& r : runs_) by_id[r.run_id] = &r;
  for (auto& [run_id, rows] : rows_) {
    auto it = by_id.find(run_id);
    if (it == by_id.end()) continue;
    std::map<std::string, std::set<std::string>> values;
    for (const auto& row : rows) values[row.key].insert(row.value);
    for (const auto& [key, set] : values) {
      std::string joined;
      for (const auto& v : set) joined += (joined.empty() ? "" : " | ") + v;
      it->second->entries[key] = joined;
    }
  }
  for (const auto& a : runner::finished_attempts_of_experiment(store, experiment)) {
    auto it = by_id.find(a.run_id);
    if (it == by_id.end()) continue;
    const double seconds = std::max(0.0, a.ended - a.started);
    auto& r = *it->second;
    r.wall_seconds = r.wall_seconds.value_or(0) + seconds;
    const std::string& gpus = a.gpus;
    if (!gpus.empty()) {
      const double count = 1 + static_cast<double>(std::count(gpus.begin(), gpus.end(), ','));
      r.gpu_hours = r.gpu_hours.value_or(0) + seconds * count / 3600.0;
    }
  }
}

std::map<std::pair<std::string, std::string>, std::set<std::string>> ProvenanceIndex::values_behind(
    const Observation& o) const {
  std::map<std::pair<std::string, std::string>, std::set<std::string>> out;
  auto it = rows_.find(o.run_id);
  if (it == rows_.end()) return out;
  for (const auto& row : it->second)
    if (row.task_id.empty() || row.kind == "train" || row.task_id == o.eval_task || row.task_id == o.sample_task)
      out[{row.key, row.kind}].insert(row.value);
  return out;
}

std::vector<std::string> provenance_differences(const ProvenanceIndex& index,
                                                const std::vector<const Observation*>& cell) {
  std::map<std::pair<std::string, std::string>, std::set<std::string>> seen;
  for (const auto* o : cell)
    for (auto& [key, values] : index.values_behind(*o)) seen[key].insert(values.begin(), values.end());
  std::vector<std::string> out;
  for (const auto& key : provenance_keys_that_must_agree())
    for (const auto& [k, values] : seen) {
      if (k.first != key || values.size() < 2) continue;
      std::string joined;
      for (const auto& v : values) joined += (joined.empty() ? "" : " | ") + v;
      out.push_back(key + " differs" + (k.second.empty() ? "" : " in " + k.second + " tasks") + ": " + joined);
    }
  return out;
}

}  // namespace repro::reports

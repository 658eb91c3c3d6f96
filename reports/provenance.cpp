#include "reports/provenance.h"

#include <SQLiteCpp/Statement.h>

#include <algorithm>

#include <nlohmann/json.hpp>

namespace repro::reports {

const std::vector<std::string>& provenance_keys_that_must_agree() {
  static const std::vector<std::string> k = {"git_commit", "libtorch_version", "cuda", "device",
                                             "data_fingerprint"};
  return k;
}

ProvenanceIndex::ProvenanceIndex(runner::Store& store, const std::string& experiment) {
  {
    SQLite::Statement q(store.db(), R"sql(
      SELECT er.run_id, er.position, er.axes, ifnull(json_extract(r.config, '$.train.seed'), '')
      FROM experiment_runs er JOIN runs r ON r.run_id = er.run_id
      WHERE er.experiment = ? ORDER BY er.position)sql");
    q.bind(1, experiment);
    while (q.executeStep()) {
      RunProvenance r;
      r.run_id = q.getColumn(0).getString();
      r.position = q.getColumn(1).getInt64();
      auto axes = nlohmann::json::parse(q.getColumn(2).getString(), nullptr, false);
      if (axes.is_object())
        for (const auto& [k, v] : axes.items()) r.axes[k] = v.is_string() ? v.get<std::string>() : v.dump();
      // The seed of a run without a seed axis: its resolved config's train.seed.
      if (const std::string seed = q.getColumn(3).getString(); !seed.empty()) r.entries["seed"] = seed;
      runs_.push_back(std::move(r));
    }
  }
  SQLite::Statement q(store.db(), R"sql(
    SELECT p.run_id, ifnull(p.task_id, ''), ifnull(t.kind, ''), p.key, p.value
    FROM provenance p LEFT JOIN tasks t ON t.task_id = p.task_id
    WHERE p.run_id IN (SELECT run_id FROM experiment_runs WHERE experiment = ?)
    ORDER BY p.run_id, ifnull(p.task_id, ''), p.key)sql");
  q.bind(1, experiment);
  while (q.executeStep())
    rows_[q.getColumn(0).getString()].push_back(
        {q.getColumn(1).getString(), q.getColumn(2).getString(), q.getColumn(3).getString(), q.getColumn(4).getString()});

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
  SQLite::Statement a(store.db(), R"sql(
    SELECT t.run_id, a.started, a.ended, ifnull(a.gpus, '')
    FROM attempts a JOIN tasks t ON t.task_id = a.task_id
    WHERE t.run_id IN (SELECT run_id FROM experiment_runs WHERE experiment = ?)
      AND a.started IS NOT NULL AND a.ended IS NOT NULL)sql");
  a.bind(1, experiment);
  while (a.executeStep()) {
    auto it = by_id.find(a.getColumn(0).getString());
    if (it == by_id.end()) continue;
    const double seconds = std::max(0.0, a.getColumn(2).getDouble() - a.getColumn(1).getDouble());
    auto& r = *it->second;
    r.wall_seconds = r.wall_seconds.value_or(0) + seconds;
    const std::string gpus = a.getColumn(3).getString();
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

std::vector<std::string> provenance_differences(const ProvenanceIndex& index, const std::vector<const Observation*>& cell) {
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

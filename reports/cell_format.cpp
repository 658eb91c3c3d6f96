#include "reports/cell_format.h"

#include <cmath>
#include <cstdio>

#include "base/util/strings.h"
#include "reports/observations.h"

namespace repro::reports {

std::string format_fixed(double v, int decimals) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s = buf;
  if (s.find_first_not_of("-0.") == std::string::npos && s[0] == '-') s.erase(0, 1);  // no "-0.00"
  return s;
}

std::string format_signed(double v, int decimals) {
  std::string s = format_fixed(v, decimals);
  return s[0] == '-' || s == "nan" ? s : "+" + s;
}

CellText cell_text(const CellResult& cell, int decimals) {
  CellText t;
  if (cell.ours) {
    t.ours = format_fixed(cell.ours->mean, decimals);
    if (cell.ours->n > 1)
      t.spread = "± " + format_fixed(cell.ours->std, decimals) + " (n=" + std::to_string(cell.ours->n) + ")";
  }
  if (cell.published) t.published = format_fixed(*cell.published, decimals);
  if (cell.difference) t.difference = format_signed(*cell.difference, decimals);
  if (cell.verdict != Verdict::kNoPublished) t.verdict = to_string(cell.verdict);
  for (const auto& m : cell.marks) t.marks += m;
  return t;
}

std::vector<std::string> key_labels(const TableSpec& spec, const std::vector<std::string>& dims,
                                    const std::vector<std::string>& key) {
  std::vector<std::string> out;
  for (size_t i = 0; i < dims.size() && i < key.size(); ++i) out.push_back(spec.label(dims[i], key[i]));
  return out;
}

std::string format_duration(const std::optional<double>& seconds) {
  if (!seconds) return "";
  const long s = std::lround(*seconds);
  char buf[64];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld h %02ld min", s / 3600, (s % 3600) / 60);
  else if (s >= 60)
    std::snprintf(buf, sizeof buf, "%ld min %02ld s", s / 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld s", s);
  return buf;
}

std::string format_gpu_hours(const std::optional<double>& hours) { return hours ? format_fixed(*hours, 2) : ""; }

const std::vector<std::pair<std::string, std::string>>& provenance_columns() {
  static const std::vector<std::pair<std::string, std::string>> c = {{"run_id", "run"},
                                                                     {"axes", "cell"},
                                                                     {"git_commit", "commit"},
                                                                     {"libtorch_version", "LibTorch"},
                                                                     {"cuda", "CUDA"},
                                                                     {"device", "device"},
                                                                     {"data_fingerprint", "dataset fingerprint"},
                                                                     {"seed", "seed"},
                                                                     {"wall_time", "wall time"},
                                                                     {"gpu_hours", "GPU-hours"}};
  return c;
}

std::string provenance_value(const RunProvenance& run, const std::string& key) {
  if (key == "run_id") return run.run_id;
  if (key == "wall_time") return format_duration(run.wall_seconds);
  if (key == "gpu_hours") return format_gpu_hours(run.gpu_hours);
  if (key == "axes") {
    std::string s;
    for (const auto& [k, v] : run.axes)
      if (k != "seed") s += (s.empty() ? "" : ", ") + k + "=" + v;
    return s;
  }
  if (key == "seed") {
    if (auto it = run.axes.find("seed"); it != run.axes.end()) return it->second;
  }
  auto it = run.entries.find(key);
  if (it == run.entries.end()) return "";
  if (key == "git_commit" && it->second.size() > 12 && it->second.find(" | ") == std::string::npos)
    return it->second.substr(0, 12);
  return it->second;
}

std::string describe_tolerances(const TableSpec& spec) {
  auto one = [](const Tolerance& t) {
    switch (t.kind) {
      case Tolerance::Kind::kAbsolute:
        return "absolute " + format_number(t.amount);
      case Tolerance::Kind::kRelative:
        return "relative " + format_number(t.amount);
      case Tolerance::Kind::kSeeds:
        return "mean ± " + format_number(t.amount) + " std of the seeds";
    }
    return std::string();
  };
  return join(spec.metrics, "; ", [&](const std::string& m) { return m + ": " + one(spec.tolerance_for(m)); });
}

}  // namespace repro::reports

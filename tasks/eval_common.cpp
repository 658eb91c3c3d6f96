#include "tasks/eval_common.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>

#include "base/util/errors.h"

namespace repro::tasks {
namespace fs = std::filesystem;

std::string inception_weights_path() {
  if (const char* p = std::getenv("REPRO_INCEPTION_WEIGHTS")) return p;
  const char* cache = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  const fs::path dir = (cache ? fs::path(cache) : fs::path(home ? home : ".") / ".cache") / "repro";
  // NVIDIA's TorchScript first (the primary weights), then pytorch-fid's state dict.
  for (const char* name : {"inception-2015-12-05.pt", "pt_inception-2015-12-05-6726825d.pth"}) {
    if (fs::exists(dir / name)) return (dir / name).string();
  }
  return (dir / "inception-2015-12-05.pt").string();  // absent: the loader's error names both downloads
}

std::unique_ptr<metrics::FeatureExtractor> make_feature_network(const std::string& features, int64_t batch_size,
                                                                const std::string& device) {
  metrics::FeatureExtractorOptions fo;
  fo.weights = features == "inception" ? inception_weights_path() : features;
  fo.batch_size = batch_size;
  fo.device = device;
  return std::make_unique<metrics::FeatureExtractor>(fo);
}

metrics::FeatureProgress feature_progress(const std::string& what, std::ostream& err) {
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  const auto start = std::chrono::steady_clock::now();
  auto next_line = std::make_shared<int64_t>(0);
  return [=, &err](int64_t done, int64_t total) {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double rate = s > 0 ? static_cast<double>(done) / s : 0;
    const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0;
    char tail[96];
    std::snprintf(tail, sizeof tail, " %lld/%lld  %.1f img/s  ETA %.0f s", static_cast<long long>(done),
                  static_cast<long long>(total), rate, eta);
    if (tty) {
      const int width = 30;
      const int filled = total > 0 ? static_cast<int>(width * done / total) : width;
      err << "\r" << what << " [" << std::string(filled, '#') << std::string(width - filled, '.') << "]" << tail
          << "\033[K" << (done == total ? "\n" : "") << std::flush;
    } else if (done >= *next_line || done == total) {
      err << what << ":" << tail << "\n";
      *next_line = done + std::max<int64_t>(1, total / 10);
    }
  };
}

std::string reference_recipe_path(const std::string& reference) { return reference + ".recipe.json"; }

nlohmann::json read_reference_recipe(const std::string& reference) {
  const std::string path = reference_recipe_path(reference);
  if (!fs::exists(path)) return nullptr;
  std::ifstream in(path);
  if (!in) throw IoError(path + ": cannot read");
  try {
    nlohmann::json recipe = nlohmann::json::parse(in);
    if (!recipe.is_object() || !recipe.contains("weights") || !recipe["weights"].is_string())
      throw IoError(path + ": not a reference recipe (expected an object with a string \"weights\")");
    return recipe;
  } catch (const nlohmann::json::parse_error& e) {
    throw IoError(path + ": not JSON: " + e.what());
  }
}

std::string weights_identity(const metrics::InceptionWeightsInfo& info) {
  return info.format == "random" ? "random:" + std::to_string(info.seed) : "sha256:" + info.sha256;
}

void check_reference_network(const std::string& reference, const nlohmann::json& recipe,
                             const metrics::InceptionWeightsInfo& info) {
  if (recipe.is_null()) return;
  const std::string theirs = recipe.value("weights", std::string());
  if (theirs != weights_identity(info))
    throw DataError(reference + ": its statistics were computed with weights " + theirs + " (" +
                    recipe.value("network", std::string("?")) + "), but this evaluation uses " +
                    weights_identity(info) + "; recompute them with `repro eval ref` and the same --features");
}

}  // namespace repro::tasks

#include "tasks/eval_common.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>

#include "base/eval/inception_weights_file.h"
#include "base/util/errors.h"
#include "base/util/file_io.h"
#include "datasets/packed_format.h"

namespace repro::tasks {
namespace fs = std::filesystem;

std::string inception_weights_path() { return metrics::inception_weights_path(); }

std::unique_ptr<metrics::FeatureExtractor> make_feature_network(const std::string& features, int64_t batch_size,
                                                                const torch::Device& device) {
  metrics::FeatureExtractorOptions fo;
  fo.weights = features == "inception" ? inception_weights_path() : features;
  fo.batch_size = batch_size;
  fo.device = device.str();
  return std::make_unique<metrics::FeatureExtractor>(fo);
}

int64_t feature_batch_for(const torch::Device& device, int64_t requested) {
  return device.is_cuda() ? std::max(requested, kCudaFeatureBatch) : requested;
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
    // `repro data export`'s recipe names no weights: it describes images only.
    const bool weights_ok =
        recipe.is_object() && (recipe.contains("weights") ? recipe["weights"].is_string() : recipe.contains("images"));
    if (!weights_ok)
      throw IoError(path + ": not a reference recipe (expected an object with a string \"weights\" or \"images\")");
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
  if (recipe.is_null() || !recipe.contains("weights")) return;  // images only: features are computed now
  const std::string theirs = recipe.value("weights", std::string());
  if (theirs != weights_identity(info))
    throw DataError(reference + ": its statistics were computed with weights " + theirs + " (" +
                    recipe.value("network", std::string("?")) + "), but this evaluation uses " +
                    weights_identity(info) + "; recompute them with `repro eval ref` and the same --features");
}

namespace {

std::string thousands(int64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

// A prepared dataset's manifest count_note when it says the dataset is a subset, else "".
std::string subset_note(const datasets::PackedManifest& m) {
  const std::string note = m.recipe.is_object() ? m.recipe.value("count_note", std::string()) : std::string();
  return note.find("(a subset)") != std::string::npos ? note : std::string();
}

datasets::PackedManifest read_manifest(const std::string& dir) {
  const std::string path = (fs::path(dir) / datasets::kPackedManifestFile).string();
  try {
    return datasets::PackedManifest::from_json(nlohmann::json::parse(read_file(path)), path);
  } catch (const nlohmann::json::parse_error& e) {
    throw IoError(path + ": not JSON: " + e.what());
  }
}

bool is_prepared(const std::string& dir) { return fs::exists(fs::path(dir) / datasets::kPackedManifestFile); }

// The text of a recipe's "subset" (data_subset's object); "" for none.
std::string subset_text(const nlohmann::json& subset) {
  if (!subset.is_object()) return "";
  const int64_t n = subset.value("images", int64_t{0}), of = subset.value("of", int64_t{0});
  std::string text;
  if (n > 0 && n < of)
    text = thousands(n) + " of " + thousands(of) + " images of " + subset.value("source", std::string("?"));
  const std::string note = subset.value("note", std::string());
  if (!note.empty()) text += (text.empty() ? "" : "; ") + note;
  return text;
}

}  // namespace

nlohmann::json data_subset(int64_t n, int64_t of, const std::string& source, const std::string& count_note) {
  const std::string note = count_note.find("(a subset)") != std::string::npos ? count_note : std::string();
  if (n >= of && note.empty()) return nullptr;
  nlohmann::json subset = {{"images", n}, {"of", of}, {"source", source}};
  if (!note.empty()) subset["note"] = note;
  return subset;
}

std::string reference_subset_text(const nlohmann::json& recipe) {
  if (!recipe.is_object()) return "";
  if (recipe.contains("subset")) return subset_text(recipe["subset"]);
  // An `eval ref` recipe: its source, when still there and unchanged, says what part it took.
  const std::string source = recipe.value("source", std::string()), kind = recipe.value("source_kind", std::string());
  const int64_t n = recipe.value("images", int64_t{0});
  if (kind == "prepared" && is_prepared(source)) {
    const auto m = read_manifest(source);
    if (m.fingerprint == recipe.value("source_fingerprint", std::string()))
      return subset_text(data_subset(n, m.count, source, subset_note(m)));
  }
  if (kind == "npz" && fs::is_regular_file(source)) {
    const nlohmann::json theirs = read_reference_recipe(source);
    if (theirs.is_object() && theirs.contains("subset")) return subset_text(theirs["subset"]);
  }
  return "";
}

std::string train_subset_text(const std::string& path) {
  if (is_prepared(path)) return subset_note(read_manifest(path));
  if (fs::is_regular_file(path)) {
    const nlohmann::json recipe = read_reference_recipe(path);
    if (recipe.is_object() && recipe.contains("subset")) return subset_text(recipe["subset"]);
  }
  return "";
}

}  // namespace repro::tasks

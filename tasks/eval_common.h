#pragma once
// What `repro eval`, `repro eval ref` and the runner's eval task share: where the FID network's
// weights are found, the feature network from a `features` choice, a progress display for feature
// extraction, and the recipe file stored beside a reference batch.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>

#include "metrics/inception/feature_extractor.h"

namespace repro::tasks {

// The FID network's weights for `features: inception`: $REPRO_INCEPTION_WEIGHTS, else
// ${XDG_CACHE_HOME:-~/.cache}/repro/inception-2015-12-05.pt (NVIDIA's) or, failing that,
// pt_inception-2015-12-05-6726825d.pth (pytorch-fid's) there (the loader's error says where to
// download them).
std::string inception_weights_path();

// features: "inception" (the file above), "random-inception[:SEED]" (toy, not comparable with
// published numbers) or a weights file path; in float32 on `device` (core::select_device's; the
// evaluator's TF graph is float32). Throws IoError for a missing file.
std::unique_ptr<metrics::FeatureExtractor> make_feature_network(const std::string& features, int64_t batch_size,
                                                                const torch::Device& device);

// Images per feature batch on CUDA at the least: 64 Inception inputs of 299x299 leave a GPU mostly
// idle, and 256 hold a few GiB of activations (the largest layer, 64x147x147 floats, is 5.5 MB an image).
constexpr int64_t kCudaFeatureBatch = 256;
// The feature batch on `device` for an eval batch of `requested` images: `requested` on the CPU,
// at least kCudaFeatureBatch on CUDA. Features do not depend on it beyond float rounding.
int64_t feature_batch_for(const torch::Device& device, int64_t requested);

// A progress callback for FeatureNetwork::compute: on a terminal one rewritten line with a bar,
// images/s and ETA; otherwise a plain line at every 10%.
metrics::FeatureProgress feature_progress(const std::string& what, std::ostream& err);

// `repro eval ref` writes REF.npz and REF.npz.recipe.json: {"v": 1, "source", "source_kind"
// ("prepared" | "npz"), "source_fingerprint", "images", "network" (the feature network's
// description), "weights" (weights_identity), "repro_version", "git_commit", "created"}.
// `repro data export` writes one too, of images only: no "network" nor "weights", and "subset"
// where the batch is part of the data (see data_subset).
std::string reference_recipe_path(const std::string& reference);
// The recipe of a reference batch, or null when it has none (ADM's VIRTUAL_*.npz).
// Throws IoError for an unreadable or malformed recipe file.
nlohmann::json read_reference_recipe(const std::string& reference);

// A recipe's "subset": {"images": N, "of": M, "source": DIR, "note": the source's own count_note
// when the prepared dataset is itself a subset of the published split}; null when `n` >= `of`
// and the dataset is whole.
nlohmann::json data_subset(int64_t n, int64_t of, const std::string& source, const std::string& count_note);
// What of the data a reference batch holds, for an eval recipe's data_subset (reports flag it:
// reports/result_banners.h): "4 of 10,000 images of DIR", the dataset's note, or "" when whole
// or unknown. Looks behind an `eval ref` recipe at its source (a prepared dataset or an exported
// npz) when that still exists.
std::string reference_subset_text(const nlohmann::json& recipe);
// The same for training data at `path`: a prepared dataset whose manifest notes "(a subset)", or
// an npz exported as a subset; "" otherwise.
std::string train_subset_text(const std::string& path);
// How a recipe names the weights: "sha256:<hex>" for a file, "random:<seed>" for random weights.
std::string weights_identity(const metrics::InceptionWeightsInfo& info);
// Throws DataError when the reference has a recipe whose weights are not `info`'s: statistics and
// features of another network give meaningless distances. A recipe of images only passes.
void check_reference_network(const std::string& reference, const nlohmann::json& recipe,
                             const metrics::InceptionWeightsInfo& info);

}  // namespace repro::tasks

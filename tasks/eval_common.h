#pragma once
// What `repro eval`, `repro eval ref` and the runner's eval task share: where the FID network's
// weights are found, the feature network from a `features` choice, a progress display for feature
// extraction, and the recipe file stored beside a reference batch.
#include <nlohmann/json.hpp>

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
// published numbers) or a weights file path. Throws IoError for a missing file.
std::unique_ptr<metrics::FeatureExtractor> make_feature_network(const std::string& features, int64_t batch_size,
                                                                const std::string& device);

// A progress callback for FeatureNetwork::compute: on a terminal one rewritten line with a bar,
// images/s and ETA; otherwise a plain line at every 10%.
metrics::FeatureProgress feature_progress(const std::string& what, std::ostream& err);

// `repro eval ref` writes REF.npz and REF.npz.recipe.json: {"v": 1, "source", "source_kind"
// ("prepared" | "npz"), "source_fingerprint", "images", "network" (the feature network's
// description), "weights" (weights_identity), "repro_version", "git_commit", "created"}.
std::string reference_recipe_path(const std::string& reference);
// The recipe of a reference batch, or null when it has none (ADM's VIRTUAL_*.npz).
// Throws IoError for an unreadable or malformed recipe file.
nlohmann::json read_reference_recipe(const std::string& reference);
// How a recipe names the weights: "sha256:<hex>" for a file, "random:<seed>" for random weights.
std::string weights_identity(const metrics::InceptionWeightsInfo& info);
// Throws DataError when the reference has a recipe whose weights are not `info`'s: statistics and
// features of another network give meaningless distances.
void check_reference_network(const std::string& reference, const nlohmann::json& recipe,
                             const metrics::InceptionWeightsInfo& info);

}  // namespace repro::tasks

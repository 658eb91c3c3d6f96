// `repro eval`: the reference evaluator's numbers for a sample batch against a reference batch, and
// `repro eval ref`: a reference batch with its statistics and features computed once (metrics/README.md).
#include <chrono>
#include <filesystem>
#include <memory>
#include <ostream>

#include "base/util/errors.h"
#include "base/util/file_io.h"
#include "base/util/npy.h"
#include "base/util/sha256.h"
#include "cli/commands.h"
#include "core/util/device.h"
#include "datasets/packed_dataset.h"
#include "metrics/evaluation.h"
#include "metrics/feature_stats.h"
#include "metrics/reference_batch.h"
#include "repro/build_info.h"
#include "tasks/eval_common.h"

namespace repro::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct EvalArgs {
  std::string ref, samples;
  std::vector<std::string> metrics = {"is", "fid", "sfid", "pr"};
  bool json_out = false;
  std::string features = "inception";
  int64_t batch_size = 0;  // 0: the evaluator's 64 on the CPU, tasks::kCudaFeatureBatch on CUDA
  std::string device = "auto";
  int threads = 0;
  std::string pr_precision = "fp16";
  // eval ref
  std::string source, out;
  int64_t num = 0;
  bool no_images = false;
};

// The network on the chosen device, its batch sized for that device unless given.
std::unique_ptr<metrics::FeatureExtractor> feature_network(const EvalArgs& a) {
  core::set_num_threads(a.threads);
  const core::DeviceInfo device = core::select_device(a.device, "--device");
  if (a.batch_size < 0) throw ConfigError("", "--batch-size", "expected >= 0, got " + std::to_string(a.batch_size));
  const int64_t batch = a.batch_size > 0 ? a.batch_size : tasks::feature_batch_for(device.device, 64);
  return tasks::make_feature_network(a.features, batch, device.device);
}

metrics::DistancePrecision pr_precision(const std::string& s) {
  if (s == "fp16") return metrics::DistancePrecision::kFloat16WithFloat32Fallback;
  if (s == "fp32") return metrics::DistancePrecision::kFloat32;
  throw ConfigError("", "--pr-precision",
                    "expected fp16 (the reference's, with its fp32 fallback) or fp32, got '" + s + "'");
}

void run_eval(const EvalArgs& a, std::ostream& out, std::ostream& err) {
  metrics::EvaluationOptions options;
  options.metrics = a.metrics;
  try {
    metrics::check_metric_names(options.metrics, "--metrics");
  } catch (const DataError& e) {
    throw ConfigError("", "--metrics", e.what());
  }
  options.pr_precision = pr_precision(a.pr_precision);
  auto net = feature_network(a);
  auto arrays = read_npz(a.samples);
  if (!arrays.count("arr_0"))
    throw DataError(a.samples + ": no arr_0 (a sample batch holds uint8 images [N, H, W, 3] in arr_0)");
  const metrics::ReferenceBatch ref = metrics::read_reference_batch(a.ref);
  const json ref_recipe = tasks::read_reference_recipe(a.ref);
  tasks::check_reference_network(a.ref, ref_recipe, net->weights_info());
  options.sample_progress = tasks::feature_progress("samples", err);
  options.reference_progress = tasks::feature_progress("reference", err);
  const metrics::Evaluation e = metrics::evaluate(*net, arrays.at("arr_0"), ref, options);
  if (a.json_out) {
    json j = {{"metrics", json::object()},
              {"num_samples", e.num_samples},
              {"samples", a.samples},
              {"samples_sha256", sha256_file_hex(a.samples)},
              {"reference", a.ref},
              {"reference_sha256", sha256_file_hex(a.ref)},
              {"reference_statistics", e.reference_statistics},
              {"reference_features", e.reference_features},
              {"features", net->description()},
              {"comparable_with_published", net->weights_info().comparable_with_published},
              {"evaluator", "guided-diffusion evaluations/evaluator.py recipe (repro metrics)"}};
    for (const auto& [k, v] : e.values) j["metrics"][k] = v;
    if (!ref_recipe.is_null()) j["reference_recipe"] = ref_recipe;
    out << j.dump(1) << "\n";
  } else {
    if (!net->weights_info().comparable_with_published)
      err << "note: " << net->description() << ": these numbers are not comparable with published ones\n";
    out << metrics::format_like_evaluator(e);
  }
}

// The images of a prepared directory or an npz's arr_0, the first `num` (0 = all), with what
// identifies the source.
struct SourceImages {
  NpyArray images;
  std::string kind, fingerprint;
};

SourceImages read_source(const std::string& source, int64_t num) {
  SourceImages s;
  if (fs::is_directory(source)) {
    const auto ds = datasets::PackedDataset::open(source);
    if (ds.channels() != 3)
      throw DataError(source + ": the FID network takes RGB images; this dataset has " + std::to_string(ds.channels()) +
                      " channels");
    const int64_t n = num > 0 ? std::min(num, ds.size()) : ds.size();
    s.images.descr = "|u1";
    s.images.shape = {n, ds.height(), ds.width(), 3};
    s.images.data.resize(static_cast<size_t>(n) * ds.bytes_per_image());
    for (int64_t i = 0; i < n; ++i)
      std::copy_n(ds.image(i), ds.bytes_per_image(),
                  s.images.data.data() + static_cast<size_t>(i) * ds.bytes_per_image());
    s.kind = "prepared";
    s.fingerprint = ds.manifest().fingerprint;
  } else {
    auto arrays = read_npz(source);
    if (!arrays.count("arr_0")) throw DataError(source + ": no arr_0 (expected uint8 images [N, H, W, 3])");
    s.images = std::move(arrays.at("arr_0"));
    const auto& sh = s.images.shape;
    if (s.images.descr != "|u1" || sh.size() != 4 || sh[3] != 3 || sh[0] < 1)
      throw DataError(source + ": arr_0 must be uint8 images [N, H, W, 3], got dtype " + s.images.descr + " shape " +
                      shape_repr(sh));
    if (num > 0 && num < sh[0]) {
      s.images.shape[0] = num;
      s.images.data.resize(static_cast<size_t>(num) * sh[1] * sh[2] * 3);
    }
    s.kind = "npz";
    s.fingerprint = sha256_file_hex(source);
  }
  if (s.images.shape[0] < 2) throw DataError(source + ": a reference batch needs at least 2 images for a covariance");
  return s;
}

void run_eval_ref(const EvalArgs& a, std::ostream& out, std::ostream& err) {
  auto net = feature_network(a);
  SourceImages src = read_source(a.source, a.num);
  const int64_t n = src.images.shape[0];
  err << "reference: " << n << " images from " << a.source << "\n";
  metrics::FeatureTaps taps;
  taps.logits = false;
  const auto f = net->compute(reinterpret_cast<const uint8_t*>(src.images.data.data()), n, src.images.shape[1],
                              src.images.shape[2], 3, taps, tasks::feature_progress("reference", err));
  metrics::ReferenceBatch batch;
  batch.stats = metrics::compute_statistics(f.pool_3);
  batch.spatial_stats = metrics::compute_statistics(f.spatial);
  batch.pool_3 = f.pool_3;
  if (!a.no_images) batch.images = std::move(src.images);
  const json recipe = {
      {"v", 1},
      {"source", a.source},
      {"source_kind", src.kind},
      {"source_fingerprint", src.fingerprint},
      {"images", n},
      {"network", net->description()},
      {"weights", tasks::weights_identity(net->weights_info())},
      {"comparable_with_published", net->weights_info().comparable_with_published},
      {"repro_version", kVersion},
      {"git_commit", kGitCommit},
      {"created", std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count()}};
  // The recipe first: a reference batch never exists without the recipe that says what it is.
  write_file_atomic(tasks::reference_recipe_path(a.out), recipe.dump(1) + "\n");
  metrics::write_reference_batch(a.out, batch);
  out << "wrote " << a.out << " (" << n << " images: mu, sigma, mu_s, sigma_s, pool_3" << (a.no_images ? "" : ", arr_0")
      << ") and " << tasks::reference_recipe_path(a.out) << "\n";
}

void add_network_options(CLI::App* cmd, EvalArgs& a) {
  cmd->add_option("--features", a.features,
                  "inception (the FID network's weights: $REPRO_INCEPTION_WEIGHTS or ~/.cache/repro/), "
                  "random-inception[:SEED] (toy; not comparable with published numbers), or a weights file")
      ->capture_default_str();
  cmd->add_option("--batch-size", a.batch_size,
                  "images per forward pass (0: 64 on the CPU, as the evaluator, " +
                      std::to_string(tasks::kCudaFeatureBatch) + " on CUDA)")
      ->capture_default_str();
  cmd->add_option("--device", a.device, "auto (CUDA when present), cpu, cuda or cuda:N (the network is float32)")
      ->capture_default_str();
  cmd->add_option("--threads", a.threads, "intra-op threads (0 = all cores)")->capture_default_str();
}

}  // namespace

void add_eval_command(CLI::App& app, std::ostream& out, std::ostream& err) {
  auto a = std::make_shared<EvalArgs>();
  auto* cmd = app.add_subcommand("eval",
                                 "FID, sFID, Inception Score, precision and recall of a sample batch, as "
                                 "guided-diffusion's evaluator computes them");
  cmd->require_subcommand(0, 1);
  auto* ref_opt = cmd->add_option(
      "--ref", a->ref,
      "reference batch .npz (arr_0 and/or mu, sigma, mu_s, sigma_s; ADM's VIRTUAL_*.npz or `repro eval ref`'s)");
  auto* samples_opt = cmd->add_option("--samples", a->samples, "sample batch .npz (arr_0 uint8 [N, H, W, 3])");
  cmd->add_option("--metrics", a->metrics, "any of is, fid, sfid, pr (comma-separated)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_flag("--json", a->json_out, "print the metrics and the recipe as JSON");
  cmd->add_option("--pr-precision", a->pr_precision,
                  "precision/recall distance blocks: fp16 (the reference's, with its fp32 fallback) or fp32")
      ->capture_default_str();
  add_network_options(cmd, *a);

  auto* ref = cmd->add_subcommand(
      "ref", "Compute a reference batch's statistics and features once: REF.npz + REF.npz.recipe.json");
  ref->add_option("SOURCE", a->source, "a prepared dataset directory (repro data prepare) or an .npz with arr_0")
      ->required();
  ref->add_option("--out", a->out, "the reference batch .npz to write")->required();
  ref->add_option("--num", a->num, "use the first N images (0 = all)")->capture_default_str();
  ref->add_flag("--no-images", a->no_images,
                "leave arr_0 out (statistics and pool_3 features suffice for every metric)");
  add_network_options(ref, *a);
  ref->callback([a, &out, &err] { run_eval_ref(*a, out, err); });

  cmd->callback([a, ref, ref_opt, samples_opt, &out, &err] {
    if (ref->parsed()) return;
    if (ref_opt->count() == 0 || samples_opt->count() == 0)
      throw ConfigError("", "repro eval",
                        "--ref and --samples are required (or `repro eval ref SOURCE --out REF.npz`)");
    run_eval(*a, out, err);
  });
}

}  // namespace repro::cli

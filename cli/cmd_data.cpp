// repro data: prepare the paper's datasets from their official files into the packed format, and
// look at the result (info, export to the reference's npz, a PNG grid).
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <ostream>
#include <random>

#include "base/util/errors.h"
#include "base/util/file_io.h"
#include "base/util/npy.h"
#include "cli/commands.h"
#include "core/diffusion/image_output.h"
#include "datasets/packed_dataset.h"
#include "datasets/prepare.h"
#include "tasks/eval_common.h"

namespace repro::cli {

namespace {

using nlohmann::json;

struct DataArgs {
  datasets::PrepareOptions prepare;
  std::string dir, npz, png;
  int64_t limit = -1;
  int count = 64;
  uint64_t seed = 0;
};

void run_prepare(const DataArgs& a, std::ostream& out, std::ostream& err) {
  auto result =
      datasets::prepare_dataset(a.prepare, [&err](int64_t n) { err << "\rprepared " << n << " images" << std::flush; });
  if (!result.up_to_date) err << "\n";
  for (const auto& w : result.warnings) err << "warning: " << w << "\n";
  if (!result.skipped.empty()) {
    err << "skipped " << result.skipped.size() << " undecodable images:\n";
    for (const auto& s : result.skipped) err << "  " << s << "\n";
  }
  const auto& m = result.manifest;
  out << (result.up_to_date ? "up to date: " : "prepared: ") << a.prepare.out << " (" << m.count << " images "
      << m.shape[1] << "x" << m.shape[2] << "x" << m.shape[3] << ", fingerprint " << m.fingerprint.substr(0, 16)
      << ")\n";
}

void run_info(const DataArgs& a, std::ostream& out) {
  auto d = datasets::PackedDataset::open(a.dir);
  out << d.manifest().to_json().dump(2) << "\n";
}

void run_export(const DataArgs& a, std::ostream& out) {
  auto d = datasets::PackedDataset::open(a.dir);
  const int64_t n = a.limit >= 0 ? std::min(a.limit, d.size()) : d.size();
  NpyArray arr;
  arr.descr = "|u1";
  arr.shape = {n, d.height(), d.width(), d.channels()};
  arr.data.resize(static_cast<size_t>(n) * d.bytes_per_image());
  for (int64_t i = 0; i < n; ++i)
    std::copy(d.image(i), d.image(i) + d.bytes_per_image(), arr.data.begin() + i * d.bytes_per_image());
  // A recipe beside it, as `repro eval ref` writes, so that an evaluation against a subset says so
  // (tasks/eval_common.h); the npz stays what the reference evaluator reads.
  const auto& m = d.manifest();
  json recipe = {
      {"v", 1}, {"source", a.dir}, {"source_kind", "prepared"}, {"source_fingerprint", m.fingerprint}, {"images", n}};
  const json subset =
      tasks::data_subset(n, d.size(), a.dir, m.recipe.is_object() ? m.recipe.value("count_note", "") : "");
  if (!subset.is_null()) recipe["subset"] = subset;
  write_file_atomic(tasks::reference_recipe_path(a.npz), recipe.dump(1) + "\n");
  write_npz(a.npz, {{"arr_0", arr}});
  out << "wrote " << a.npz << " (arr_0 " << shape_repr(arr.shape) << " uint8";
  if (!subset.is_null()) out << "; a subset of the data, which its recipe notes";
  out << ") and " << tasks::reference_recipe_path(a.npz) << "\n";
}

void run_grid(const DataArgs& a, std::ostream& out) {
  auto d = datasets::PackedDataset::open(a.dir);
  const int64_t n = std::min<int64_t>(a.count, d.size());
  // A seeded sample without repeats, so a grid shows the dataset rather than its first files.
  std::vector<int64_t> idx(d.size());
  for (int64_t i = 0; i < d.size(); ++i) idx[i] = i;
  std::mt19937_64 rng(a.seed);
  std::shuffle(idx.begin(), idx.end(), rng);
  auto images = torch::empty({n, d.height(), d.width(), d.channels()}, torch::kUInt8);
  for (int64_t i = 0; i < n; ++i) std::memcpy(images[i].data_ptr<uint8_t>(), d.image(idx[i]), d.bytes_per_image());
  core::write_png_grid(a.png, images, 8, static_cast<int>(n));
  out << "wrote " << a.png << " (" << n << " images)\n";
}

}  // namespace

void add_data_command(CLI::App& app, std::ostream& out, std::ostream& err) {
  auto a = std::make_shared<DataArgs>();
  auto* data = app.add_subcommand("data", "Prepare datasets from their official files; inspect prepared ones");
  data->require_subcommand(1);
  auto* prep = data->add_subcommand("prepare", "Read a dataset's official files into a packed directory");
  std::string names;
  for (const auto& d : datasets::preparable_datasets()) names += (names.empty() ? "" : ", ") + d;
  prep->add_option("DATASET", a->prepare.dataset, names)->required();
  prep->add_option(
      "--source", a->prepare.source,
      "the official files: cifar-10-binary.tar.gz, the ImageNet32 npz folder, tower_train_lmdb, "
      "img_align_celeba, thumbnails128x128, an image folder or an npz (fashion_mnist: Debian's by default)");
  prep->add_option("--out", a->prepare.out, "the prepared directory (packed.bin + manifest.json)")->required();
  prep->add_option("--size", a->prepare.size, "image size (0 = the dataset's own; required for folder)");
  prep->add_option("--split", a->prepare.split, "train (default), test, val; celeba: all (default) or train");
  prep->add_option("--pipeline", a->prepare.pipeline, "celeba: ddpm-ip (default; cv2 resize to 64x64) or ddim-crop");
  prep->add_flag("--skip-bad", a->prepare.skip_bad, "skip (and list) undecodable images instead of failing");
  prep->callback([a, &out, &err] { run_prepare(*a, out, err); });
  auto* info = data->add_subcommand("info", "Print a prepared directory's manifest");
  info->add_option("DIR", a->dir)->required();
  info->callback([a, &out] { run_info(*a, out); });
  auto* exp = data->add_subcommand("export", "Write a prepared directory as the reference's npz (arr_0 uint8 NHWC)");
  exp->add_option("DIR", a->dir)->required();
  exp->add_option("--npz", a->npz, "output .npz")->required();
  exp->add_option("--limit", a->limit,
                  "at most this many images (the first ones; fewer than the dataset's: its recipe notes a subset)");
  exp->callback([a, &out] { run_export(*a, out); });
  auto* grid = data->add_subcommand("grid", "Write a PNG grid of random images of a prepared directory");
  grid->add_option("DIR", a->dir)->required();
  grid->add_option("--out", a->png, "output .png")->required();
  grid->add_option("--count", a->count, "images in the grid")->capture_default_str();
  grid->add_option("--seed", a->seed, "which images")->capture_default_str();
  grid->callback([a, &out] { run_grid(*a, out); });
}

}  // namespace repro::cli

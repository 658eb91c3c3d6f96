#include "datasets/prepare.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <new>

#include "base/util/errors.h"
#include "base/util/file_io.h"
#include "base/util/npy.h"
#include "base/util/strings.h"
#include "datasets/celeba.h"
#include "datasets/center_crop.h"
#include "datasets/cifar10.h"
#include "datasets/fashion_mnist.h"
#include "datasets/image_decode.h"
#include "datasets/image_folder.h"
#include "datasets/imagenet32.h"
#include "datasets/lsun.h"
#include "datasets/packed_dataset.h"
#include "datasets/packed_writer.h"

namespace repro::datasets {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Bumped whenever a preparer's output for the same sources would change.
constexpr int kRecipeVersion = 1;

[[noreturn]] void bad_option(const std::string& option, const std::string& what) {
  throw ConfigError("repro data prepare", option, what);
}

// One file's decode and preprocessing. Its faults are that file's: unreadable or corrupt
// (IoError), beyond a resource limit or unusable (DataError), and, should an allocation still fail,
// std::bad_alloc, turned into a DataError naming the file instead of an anonymous internal error.
RgbImage read_one(const std::string& path,
                  const std::function<RgbImage(const RgbImage&, const std::string&)>& preprocess) {
  try {
    return preprocess(decode_image_file(path), path);
  } catch (const std::bad_alloc&) {
    throw DataError(path + ": out of memory while decoding the image");
  }
}

// A folder-like source read image by image: decode, preprocess, hand on; with skip_bad a file that
// cannot be used (corrupt, or rejected by a resource limit) is listed instead of ending the
// prepare. A ConfigError (a malformed REPRO_MAX_* variable) is not the file's fault: never skipped.
int64_t read_files(const std::vector<std::string>& files, bool skip_bad, std::vector<std::string>* skipped,
                   const std::function<RgbImage(const RgbImage&, const std::string&)>& preprocess,
                   const ImageSink& sink) {
  int64_t n = 0;
  for (const auto& path : files) {
    RgbImage out;
    try {
      out = read_one(path, preprocess);
    } catch (const IoError& e) {
      if (!skip_bad) throw;
      skipped->push_back(e.what());
      continue;
    } catch (const DataError& e) {
      if (!skip_bad) throw;
      skipped->push_back(e.what());
      continue;
    }
    sink(out.pixels.data(), kNoLabel);
    ++n;
  }
  return n;
}

struct Plan {
  int size = 0;  // output height = width
  bool labels = false;
  int64_t published = 0;             // the count the paper's source has (0 = none)
  std::vector<std::string> sources;  // files recorded in the manifest
  std::function<int64_t(const ImageSink&, std::vector<std::string>* skipped)> read;
};

// What every dataset's plan reads: the options, the split they resolve to, and the recipe that
// the plan adds its preprocessing to.
struct PlanContext {
  const PrepareOptions& o;
  std::string split;
  json* recipe;

  // A dataset with a fixed image size accepts --size only when it names that size.
  int need_size(int own) const {
    if (o.size != 0 && o.size != own)
      bad_option("--size", o.dataset + " images are " + std::to_string(own) + "x" + std::to_string(own) +
                               ", got --size " + std::to_string(o.size));
    return own;
  }
  void check_split(std::initializer_list<const char*> allowed) const {
    for (const char* a : allowed)
      if (split == a) return;
    const std::string list = join(allowed, ", ", [](const char* a) { return std::string(a); });
    bad_option("--split", o.dataset + " has splits " + list + ", got '" + split + "'");
  }
};

Plan plan_cifar10(const PlanContext& ctx) {
  const PrepareOptions& o = ctx.o;
  ctx.check_split({"train", "test"});
  const auto s = ctx.split == "train" ? Cifar10Split::kTrain : Cifar10Split::kTest;
  Plan p;
  p.size = ctx.need_size(kCifar10Size);
  p.labels = true;
  p.published = kCifar10PublishedCount[ctx.split == "train" ? 0 : 1];
  p.sources = {o.source};
  p.read = [o, s](const ImageSink& sink, std::vector<std::string>*) { return read_cifar10_archive(o.source, s, sink); };
  return p;
}

Plan plan_imagenet32(const PlanContext& ctx) {
  const PrepareOptions& o = ctx.o;
  ctx.check_split({"train", "val"});
  const auto s = ctx.split == "train" ? Imagenet32Split::kTrain : Imagenet32Split::kVal;
  Plan p;
  p.size = ctx.need_size(kImagenet32Size);
  p.labels = true;
  p.published = kImagenet32PublishedCount[ctx.split == "train" ? 0 : 1];
  p.sources = imagenet32_files(o.source, s);
  p.read = [o, s](const ImageSink& sink, std::vector<std::string>*) { return read_imagenet32(o.source, s, sink); };
  return p;
}

Plan plan_fashion_mnist(const PlanContext& ctx) {
  const PrepareOptions& o = ctx.o;
  ctx.check_split({"train", "test"});
  const auto s = ctx.split == "train" ? FashionMnistSplit::kTrain : FashionMnistSplit::kTest;
  const std::string dir = o.source.empty() ? kFashionMnistDebianDir : o.source;
  Plan p;
  p.size = ctx.need_size(kFashionMnistPaddedSize);
  p.labels = true;
  p.published = kFashionMnistPublishedCount[ctx.split == "train" ? 0 : 1];
  p.sources = {fashion_mnist_images_path(dir, s), fashion_mnist_labels_path(dir, s)};
  p.read = [dir, s](const ImageSink& sink, std::vector<std::string>*) { return read_fashion_mnist(dir, s, sink); };
  (*ctx.recipe)["padding"] = "28x28 zero-padded to 32x32, grey repeated to RGB";
  return p;
}

Plan plan_lsun_tower(const PlanContext& ctx) {
  const PrepareOptions& o = ctx.o;
  ctx.check_split({"train"});
  Plan p;
  p.size = o.size > 0 ? o.size : kLsunImageSize;
  p.published = kLsunTowerPublishedCount;
  for (const char* f : {"data.mdb", "lock.mdb"})
    if (fs::exists(fs::path(o.source) / f)) p.sources.push_back((fs::path(o.source) / f).string());
  const int size = p.size;
  p.read = [o, size](const ImageSink& sink, std::vector<std::string>*) { return read_lsun_lmdb(o.source, size, sink); };
  (*ctx.recipe)["preprocessing"] = "one-step PIL BOX resize of the short side, center crop (lsun_bedroom.py)";
  return p;
}

// The official split file sits beside img_align_celeba (or inside it).
std::string celeba_partition_file(const std::string& source) {
  std::string part;
  for (const auto& c :
       {fs::path(source).parent_path() / "list_eval_partition.txt", fs::path(source) / "list_eval_partition.txt"})
    if (fs::exists(c)) part = c.string();
  if (part.empty())
    bad_option("--split", "train needs list_eval_partition.txt beside " + source + " (from the CelebA release)");
  return part;
}

Plan plan_celeba(const PlanContext& ctx) {
  const PrepareOptions& o = ctx.o;
  ctx.check_split({"all", "train"});
  const std::string pipe = o.pipeline.empty() ? "ddpm-ip" : o.pipeline;
  if (pipe != "ddpm-ip" && pipe != "ddim-crop")
    bad_option("--pipeline", "expected ddpm-ip or ddim-crop, got '" + pipe + "'");
  const auto pipeline = pipe == "ddpm-ip" ? CelebaPipeline::kDdpmIpResize : CelebaPipeline::kDdimCrop;
  Plan p;
  p.size = ctx.need_size(kCelebaImageSize);
  std::vector<std::string> files = list_celeba_images(o.source);
  p.published = kCelebaPublishedCount;
  if (ctx.split == "train") {
    const std::string part = celeba_partition_file(o.source);
    auto names = read_celeba_partition(part, 0);
    std::vector<std::string> kept;
    kept.reserve(names.size());
    for (const auto& n : names) kept.push_back((fs::path(o.source) / n).string());
    files = kept;
    p.published = kCelebaPublishedTrainCount;
    p.sources.push_back(part);
  }
  p.sources.insert(p.sources.end(), files.begin(), files.end());
  const bool skip = o.skip_bad;
  p.read = [files, pipeline, skip](const ImageSink& sink, std::vector<std::string>* skipped) {
    return read_files(
        files, skip, skipped,
        [pipeline](const RgbImage& im, const std::string& name) { return celeba_preprocess(im, pipeline, name); },
        sink);
  };
  (*ctx.recipe)["pipeline"] = celeba_pipeline_name(pipeline);
  return p;
}

// ffhq and any folder of images: center_crop_arr to --size (ffhq: 128 by default).
Plan plan_image_folder(const PlanContext& ctx) {
  const PrepareOptions& o = ctx.o;
  if (o.dataset == "folder" && o.size <= 0) bad_option("--size", "a folder needs the image size, e.g. --size 64");
  ctx.check_split({"train"});
  Plan p;
  p.size = o.size > 0 ? o.size : 128;
  p.published = o.dataset == "ffhq" ? 70000 : 0;
  auto files = list_image_files_recursively(o.source);
  if (files.empty()) throw DataError(o.source + ": no images (jpg, jpeg, png, gif, webp) in this folder");
  p.sources = files;
  const int size = p.size;
  const bool skip = o.skip_bad;
  p.read = [files, size, skip](const ImageSink& sink, std::vector<std::string>* skipped) {
    return read_files(
        files, skip, skipped, [size](const RgbImage& im, const std::string&) { return center_crop_arr(im, size); },
        sink);
  };
  (*ctx.recipe)["preprocessing"] = "PIL RGB, center_crop_arr (image_datasets.py)";
  return p;
}

Plan plan_npz(const PlanContext& ctx) {
  const PrepareOptions& o = ctx.o;
  ctx.check_split({"train"});
  auto arrays = read_npz(o.source);
  auto it = arrays.find("arr_0");
  if (it == arrays.end()) throw DataError(o.source + ": no arr_0 array (expected uint8 images [N, H, W, C])");
  // Held once, shared by the reader below: a copy per capture was three copies of the dataset.
  const auto held = std::make_shared<const NpyArray>(std::move(it->second));
  const NpyArray& a = *held;
  if (a.descr != "|u1" || a.shape.size() != 4 || (a.shape[3] != 1 && a.shape[3] != 3) || a.shape[1] != a.shape[2])
    throw DataError(o.source + ": arr_0 must be uint8 [N, S, S, 1 or 3], got " + a.descr + " " + shape_repr(a.shape));
  Plan p;
  p.size = ctx.need_size(static_cast<int>(a.shape[1]));
  p.sources = {o.source};
  p.read = [held](const ImageSink& sink, std::vector<std::string>*) {
    const NpyArray& array = *held;
    const int64_t n = array.shape[0], px = array.shape[1] * array.shape[2], c = array.shape[3];
    std::vector<uint8_t> rgb(px * 3);
    for (int64_t i = 0; i < n; ++i) {
      const auto* src = reinterpret_cast<const uint8_t*>(array.data.data()) + i * px * c;
      for (int64_t k = 0; k < px; ++k)
        for (int ch = 0; ch < 3; ++ch) rgb[k * 3 + ch] = src[k * c + (c == 3 ? ch : 0)];
      sink(rgb.data(), kNoLabel);
    }
    return n;
  };
  return p;
}

Plan plan_dataset(const PlanContext& ctx) {
  const std::string& d = ctx.o.dataset;
  if (d == "cifar10") return plan_cifar10(ctx);
  if (d == "imagenet32") return plan_imagenet32(ctx);
  if (d == "fashion_mnist") return plan_fashion_mnist(ctx);
  if (d == "lsun_tower") return plan_lsun_tower(ctx);
  if (d == "celeba") return plan_celeba(ctx);
  if (d == "ffhq" || d == "folder") return plan_image_folder(ctx);
  if (d == "npz") return plan_npz(ctx);
  return Plan{};
}

Plan plan_for(const PrepareOptions& o, json* recipe) {
  const std::string split = o.split.empty() ? (o.dataset == "celeba" ? "all" : "train") : o.split;
  const auto& known = preparable_datasets();
  if (!contains(known, o.dataset))
    bad_option("DATASET", "expected one of " + join(known, ", ") + ", got '" + o.dataset + "'");
  if (o.dataset != "fashion_mnist" && o.source.empty()) bad_option("--source", "missing: the dataset's official files");
  if (!o.source.empty() && !fs::exists(o.source)) throw IoError(o.source + ": no such file or directory");
  if (!o.pipeline.empty() && o.dataset != "celeba") bad_option("--pipeline", "only celeba has pipelines");
  (*recipe)["dataset"] = o.dataset;
  (*recipe)["split"] = split;
  Plan p = plan_dataset(PlanContext{o, split, recipe});
  (*recipe)["image_size"] = p.size;
  if (p.published > 0) (*recipe)["published_count"] = p.published;
  return p;
}

}  // namespace

const std::vector<std::string>& preparable_datasets() {
  static const std::vector<std::string> names = {"cifar10", "imagenet32",    "lsun_tower", "celeba",
                                                 "ffhq",    "fashion_mnist", "folder",     "npz"};
  return names;
}

PrepareResult prepare_dataset(const PrepareOptions& o, const std::function<void(int64_t)>& progress) {
  if (o.out.empty()) bad_option("--out", "missing: the directory to write");
  json recipe;
  Plan plan = plan_for(o, &recipe);
  std::vector<PackedSource> sources;
  for (const auto& s : plan.sources) sources.push_back(describe_source(s));
  PrepareResult result;
  // Already prepared from the same files with the same recipe: nothing to do.
  if (fs::exists(fs::path(o.out) / kPackedManifestFile)) {
    try {
      auto existing = PackedDataset::open(o.out);
      const auto& m = existing.manifest();
      json asked = m.recipe;  // what was asked for, without what the prepare reported
      asked.erase("count_note");
      asked.erase("skipped");
      bool same = asked == recipe && m.recipe_version == kRecipeVersion && m.sources.size() == sources.size();
      for (size_t i = 0; same && i < sources.size(); ++i) same = m.sources[i].sha256 == sources[i].sha256;
      if (same) {
        result.manifest = m;
        result.up_to_date = true;
        return result;
      }
    } catch (const IoError&) {
      // Unreadable: prepare again.
    }
  }
  PackedWriter writer(o.out, plan.size, plan.size, plan.labels);
  ImageSink sink = writer.sink();
  int64_t n = 0;
  ImageSink counted = [&](const uint8_t* image, int64_t label) {
    sink(image, label);
    if (progress && (++n % 1000 == 0)) progress(n);
  };
  plan.read(counted, &result.skipped);
  if (progress) progress(writer.count());
  if (plan.published > 0 && writer.count() != plan.published) {
    const std::string w = o.dataset + ": " + std::to_string(writer.count()) + " images prepared, the published " +
                          recipe["split"].get<std::string>() + " split has " + std::to_string(plan.published) +
                          (writer.count() < plan.published ? " (a subset)" : "");
    result.warnings.push_back(w);
    recipe["count_note"] = w;
  }
  if (!result.skipped.empty()) recipe["skipped"] = result.skipped;
  result.manifest = writer.finish(recipe, kRecipeVersion, sources);
  return result;
}

}  // namespace repro::datasets

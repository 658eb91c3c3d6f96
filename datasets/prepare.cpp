#include "datasets/prepare.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <new>

#include "core/util/errors.h"
#include "core/util/file_io.h"
#include "core/util/npy.h"
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
                   const std::function<RgbImage(const RgbImage&, const std::string&)>& preprocess, const ImageSink& sink) {
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
  int size = 0;                      // output height = width
  bool labels = false;
  int64_t published = 0;             // the count the paper's source has (0 = none)
  std::vector<std::string> sources;  // files recorded in the manifest
  std::function<int64_t(const ImageSink&, std::vector<std::string>* skipped)> read;
};

Plan plan_for(const PrepareOptions& o, json* recipe) {
  Plan p;
  const std::string split = o.split.empty() ? (o.dataset == "celeba" ? "all" : "train") : o.split;
  auto need_size = [&](int own) {
    if (o.size != 0 && o.size != own)
      bad_option("--size", o.dataset + " images are " + std::to_string(own) + "x" + std::to_string(own) + ", got --size " +
                               std::to_string(o.size));
    return own;
  };
  auto check_split = [&](std::initializer_list<const char*> allowed) {
    for (const char* a : allowed)
      if (split == a) return;
    std::string list;
    for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    bad_option("--split", o.dataset + " has splits " + list + ", got '" + split + "'");
  };
  const auto& known = preparable_datasets();
  if (std::find(known.begin(), known.end(), o.dataset) == known.end()) {
    std::string names;
    for (const auto& d : known) names += (names.empty() ? "" : ", ") + d;
    bad_option("DATASET", "expected one of " + names + ", got '" + o.dataset + "'");
  }
  if (o.dataset != "fashion_mnist" && o.source.empty()) bad_option("--source", "missing: the dataset's official files");
  if (!o.source.empty() && !fs::exists(o.source)) throw IoError(o.source + ": no such file or directory");
  if (!o.pipeline.empty() && o.dataset != "celeba") bad_option("--pipeline", "only celeba has pipelines");
  (*recipe)["dataset"] = o.dataset;
  (*recipe)["split"] = split;
  if (o.dataset == "cifar10") {
    check_split({"train", "test"});
    const auto s = split == "train" ? Cifar10Split::kTrain : Cifar10Split::kTest;
    p.size = need_size(kCifar10Size);
    p.labels = true;
    p.published = kCifar10PublishedCount[split == "train" ? 0 : 1];
    p.sources = {o.source};
    p.read = [o, s](const ImageSink& sink, std::vector<std::string>*) { return read_cifar10_archive(o.source, s, sink); };
  } else if (o.dataset == "imagenet32") {
    check_split({"train", "val"});
    const auto s = split == "train" ? Imagenet32Split::kTrain : Imagenet32Split::kVal;
    p.size = need_size(kImagenet32Size);
    p.labels = true;
    p.published = kImagenet32PublishedCount[split == "train" ? 0 : 1];
    p.sources = imagenet32_files(o.source, s);
    p.read = [o, s](const ImageSink& sink, std::vector<std::string>*) { return read_imagenet32(o.source, s, sink); };
  } else if (o.dataset == "fashion_mnist") {
    check_split({"train", "test"});
    const auto s = split == "train" ? FashionMnistSplit::kTrain : FashionMnistSplit::kTest;
    const std::string dir = o.source.empty() ? kFashionMnistDebianDir : o.source;
    p.size = need_size(kFashionMnistPaddedSize);
    p.labels = true;
    p.published = kFashionMnistPublishedCount[split == "train" ? 0 : 1];
    p.sources = {fashion_mnist_images_path(dir, s), fashion_mnist_labels_path(dir, s)};
    p.read = [dir, s](const ImageSink& sink, std::vector<std::string>*) { return read_fashion_mnist(dir, s, sink); };
    (*recipe)["padding"] = "28x28 zero-padded to 32x32, grey repeated to RGB";
  } else if (o.dataset == "lsun_tower") {
    check_split({"train"});
    p.size = o.size > 0 ? o.size : kLsunImageSize;
    p.published = kLsunTowerPublishedCount;
    for (const char* f : {"data.mdb", "lock.mdb"})
      if (fs::exists(fs::path(o.source) / f)) p.sources.push_back((fs::path(o.source) / f).string());
    const int size = p.size;
    p.read = [o, size](const ImageSink& sink, std::vector<std::string>*) { return read_lsun_lmdb(o.source, size, sink); };
    (*recipe)["preprocessing"] = "one-step PIL BOX resize of the short side, center crop (lsun_bedroom.py)";
  } else if (o.dataset == "celeba") {
    check_split({"all", "train"});
    const std::string pipe = o.pipeline.empty() ? "ddpm-ip" : o.pipeline;
    if (pipe != "ddpm-ip" && pipe != "ddim-crop") bad_option("--pipeline", "expected ddpm-ip or ddim-crop, got '" + pipe + "'");
    const auto pipeline = pipe == "ddpm-ip" ? CelebaPipeline::kDdpmIpResize : CelebaPipeline::kDdimCrop;
    p.size = need_size(kCelebaImageSize);
    std::vector<std::string> files = list_celeba_images(o.source);
    p.published = kCelebaPublishedCount;
    if (split == "train") {
      // The official split file sits beside img_align_celeba (or inside it).
      std::string part;
      for (const auto& c : {fs::path(o.source).parent_path() / "list_eval_partition.txt",
                            fs::path(o.source) / "list_eval_partition.txt"})
        if (fs::exists(c)) part = c.string();
      if (part.empty())
        bad_option("--split", "train needs list_eval_partition.txt beside " + o.source + " (from the CelebA release)");
      auto names = read_celeba_partition(part, 0);
      std::vector<std::string> kept;
      for (const auto& n : names) kept.push_back((fs::path(o.source) / n).string());
      files = kept;
      p.published = kCelebaPublishedTrainCount;
      p.sources.push_back(part);
    }
    p.sources.insert(p.sources.end(), files.begin(), files.end());
    const bool skip = o.skip_bad;
    p.read = [files, pipeline, skip](const ImageSink& sink, std::vector<std::string>* skipped) {
      return read_files(files, skip, skipped,
                        [pipeline](const RgbImage& im, const std::string& name) { return celeba_preprocess(im, pipeline, name); },
                        sink);
    };
    (*recipe)["pipeline"] = celeba_pipeline_name(pipeline);
  } else if (o.dataset == "ffhq" || o.dataset == "folder") {
    if (o.dataset == "folder" && o.size <= 0) bad_option("--size", "a folder needs the image size, e.g. --size 64");
    check_split({"train"});
    p.size = o.size > 0 ? o.size : 128;
    p.published = o.dataset == "ffhq" ? 70000 : 0;
    auto files = list_image_files_recursively(o.source);
    if (files.empty()) throw DataError(o.source + ": no images (jpg, jpeg, png, gif, webp) in this folder");
    p.sources = files;
    const int size = p.size;
    const bool skip = o.skip_bad;
    p.read = [files, size, skip](const ImageSink& sink, std::vector<std::string>* skipped) {
      return read_files(files, skip, skipped,
                        [size](const RgbImage& im, const std::string&) { return center_crop_arr(im, size); }, sink);
    };
    (*recipe)["preprocessing"] = "PIL RGB, center_crop_arr (image_datasets.py)";
  } else if (o.dataset == "npz") {
    check_split({"train"});
    auto arrays = read_npz(o.source);
    auto it = arrays.find("arr_0");
    if (it == arrays.end()) throw DataError(o.source + ": no arr_0 array (expected uint8 images [N, H, W, C])");
    // Held once, shared by the reader below: a copy per capture was three copies of the dataset.
    const auto held = std::make_shared<const NpyArray>(std::move(it->second));
    const NpyArray& a = *held;
    if (a.descr != "|u1" || a.shape.size() != 4 || (a.shape[3] != 1 && a.shape[3] != 3) || a.shape[1] != a.shape[2])
      throw DataError(o.source + ": arr_0 must be uint8 [N, S, S, 1 or 3], got " + a.descr + " " + shape_repr(a.shape));
    p.size = need_size(static_cast<int>(a.shape[1]));
    p.sources = {o.source};
    p.read = [held](const ImageSink& sink, std::vector<std::string>*) {
      const NpyArray& a = *held;
      const int64_t n = a.shape[0], px = a.shape[1] * a.shape[2], c = a.shape[3];
      std::vector<uint8_t> rgb(px * 3);
      for (int64_t i = 0; i < n; ++i) {
        const auto* src = reinterpret_cast<const uint8_t*>(a.data.data()) + i * px * c;
        for (int64_t k = 0; k < px; ++k)
          for (int ch = 0; ch < 3; ++ch) rgb[k * 3 + ch] = src[k * c + (c == 3 ? ch : 0)];
        sink(rgb.data(), kNoLabel);
      }
      return n;
    };
  }
  (*recipe)["image_size"] = p.size;
  if (p.published > 0) (*recipe)["published_count"] = p.published;
  return p;
}

}  // namespace

const std::vector<std::string>& preparable_datasets() {
  static const std::vector<std::string> names = {"cifar10", "imagenet32", "lsun_tower", "celeba",
                                                 "ffhq",    "fashion_mnist", "folder", "npz"};
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

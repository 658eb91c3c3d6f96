#include "train_data/image_sources.h"

#include <atomic>
#include <cstring>
#include <filesystem>

#include "base/util/errors.h"
#include "base/util/npy.h"
#include "base/util/sha256.h"
#include "core/util/tensor_npy.h"
#include "datasets/center_crop.h"
#include "datasets/image_decode.h"
#include "datasets/image_folder.h"
#include "datasets/packed_dataset.h"

namespace repro::train_data {

using core::DataSource;
using core::ImageArraySource;
using core::to_tensor;

namespace {

torch::Tensor load_npz_images(const std::string& path) {
  auto arrays = read_npz(path);
  auto it = arrays.find("arr_0");
  if (it == arrays.end()) throw DataError(path + ": no arr_0 array (expected uint8 images [N, H, W, C])");
  auto images = to_tensor(it->second, path + ":arr_0");
  if (images.scalar_type() != torch::kUInt8 || images.dim() != 4 || (images.size(3) != 1 && images.size(3) != 3))
    throw DataError(path + ": arr_0 must be uint8 [N, H, W, 1 or 3], got " + it->second.descr + " " +
                    shape_repr(it->second.shape));
  return images;
}

}  // namespace

// The listing of an image folder; load() decodes the files asked for (decode_image_file, then
// center_crop_arr), on the prefetch thread.
class FolderImageStore : public core::ImageStore {
 public:
  FolderImageStore(const std::string& dir, int image_size) : dir_(dir), image_size_(image_size) {
    if (image_size < 1) throw DataError(dir + ": image_size must be >= 1, got " + std::to_string(image_size));
    paths_ = datasets::list_image_files_recursively(dir);
    if (paths_.empty()) throw DataError(dir + ": no images (jpg, jpeg, png, gif, webp; searched recursively)");
  }
  int64_t size() const override { return static_cast<int64_t>(paths_.size()); }
  std::vector<int64_t> shape() const override { return {image_size_, image_size_, 3}; }
  torch::Tensor load(const torch::Tensor& indices) const override {
    const auto idx = indices.to(torch::kInt64).contiguous();
    const int64_t k = idx.numel();
    auto out = torch::empty({k, image_size_, image_size_, 3}, torch::kUInt8);
    for (int64_t i = 0; i < k; ++i) {
      const auto image = decode(idx.data_ptr<int64_t>()[i]);
      std::memcpy(out[i].data_ptr<uint8_t>(), image.pixels.data(), image.pixels.size());
    }
    return out;
  }
  // Decodes every image once, one at a time: the digest of load(all) without holding it.
  std::string fingerprint() const override {
    Sha256Stream sha;
    for (int64_t i = 0; i < size(); ++i) {
      const auto image = decode(i);
      sha.update(image.pixels.data(), image.pixels.size());
    }
    return sha.finish_hex();
  }
  int64_t decoded() const { return decoded_.load(); }

 private:
  datasets::RgbImage decode(int64_t i) const {
    TORCH_CHECK(i >= 0 && i < size(), dir_, ": image index ", i, " outside [0, ", size(), ")");
    ++decoded_;
    return datasets::center_crop_arr(datasets::decode_image_file(paths_[static_cast<size_t>(i)]),
                                     static_cast<int>(image_size_));
  }

  std::string dir_;
  int64_t image_size_;
  std::vector<std::string> paths_;
  mutable std::atomic<int64_t> decoded_{0};
};

NpzImageSource::NpzImageSource(const std::string& path, bool random_flip, uint64_t seed)
    : ImageArraySource(load_npz_images(path), path, random_flip, seed) {}

ImageFolderSource::ImageFolderSource(const std::string& dir, int image_size, bool random_flip, uint64_t seed,
                                     bool prefetch)
    : ImageFolderSource(std::make_shared<const FolderImageStore>(dir, image_size), dir, random_flip, seed, prefetch) {}

ImageFolderSource::ImageFolderSource(std::shared_ptr<const FolderImageStore> folder, const std::string& dir,
                                     bool random_flip, uint64_t seed, bool prefetch)
    : ImageArraySource(folder, dir, random_flip, seed, prefetch), folder_(std::move(folder)) {}

int64_t ImageFolderSource::decoded() const { return folder_->decoded(); }

namespace {
// The mapping as a tensor without a copy; the deleter keeps the dataset (and its mmap) alive.
// Only read: index_select never writes to its input.
torch::Tensor map_packed(const std::shared_ptr<datasets::PackedDataset>& d) {
  return torch::from_blob(
      const_cast<uint8_t*>(d->image(0)), {d->size(), d->height(), d->width(), d->channels()}, [d](void*) {},
      torch::kUInt8);
}
}  // namespace

PackedImageSource::PackedImageSource(const std::string& dir, bool random_flip, uint64_t seed)
    : PackedImageSource(std::make_shared<datasets::PackedDataset>(datasets::PackedDataset::open(dir)), random_flip,
                        seed) {}

PackedImageSource::PackedImageSource(std::shared_ptr<datasets::PackedDataset> d, bool random_flip, uint64_t seed)
    : ImageArraySource(map_packed(d), d->dir(), random_flip, seed), fingerprint_(d->manifest().fingerprint) {}

std::unique_ptr<DataSource> open_image_source(const std::string& path, int image_size, bool random_flip,
                                              uint64_t seed) {
  namespace fs = std::filesystem;
  if (fs::exists(fs::path(path) / datasets::kPackedManifestFile))
    return std::make_unique<PackedImageSource>(path, random_flip, seed);
  if (fs::is_directory(path)) return std::make_unique<ImageFolderSource>(path, image_size, random_flip, seed);
  return std::make_unique<NpzImageSource>(path, random_flip, seed);
}

}  // namespace repro::train_data

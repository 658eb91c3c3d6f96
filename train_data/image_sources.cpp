#include "train_data/image_sources.h"

#include <filesystem>

#include "base/util/errors.h"
#include "base/util/npy.h"
#include "core/util/tensor_npy.h"
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

torch::Tensor load_folder_images(const std::string& dir, int image_size) {
  auto folder = std::make_shared<datasets::ImageFolder>(datasets::load_image_folder(dir, image_size));
  const int64_t n = static_cast<int64_t>(folder->size());
  // Borrow the folder's buffer; the deleter keeps it alive as long as the tensor.
  return torch::from_blob(
      folder->images.data(), {n, image_size, image_size, 3}, [folder](void*) {}, torch::kUInt8);
}

}  // namespace

NpzImageSource::NpzImageSource(const std::string& path, bool random_flip, uint64_t seed)
    : ImageArraySource(load_npz_images(path), path, random_flip, seed) {}

ImageFolderSource::ImageFolderSource(const std::string& dir, int image_size, bool random_flip, uint64_t seed)
    : ImageArraySource(load_folder_images(dir, image_size), dir, random_flip, seed) {}

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

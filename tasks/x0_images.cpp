#include "tasks/x0_images.h"

#include <filesystem>
#include <optional>
#include <utility>

#include "base/util/errors.h"
#include "base/util/limits.h"
#include "base/util/npy.h"
#include "base/util/zip_archive.h"
#include "datasets/packed_dataset.h"
#include "datasets/packed_format.h"

namespace repro::tasks {

namespace {

std::string hwc_text(int64_t h, int64_t w, int64_t c) {
  return "[" + std::to_string(h) + ", " + std::to_string(w) + ", " + std::to_string(c) + "]";
}

// Only arr_0 of the archive: a reference batch's statistics and pool_3 features are not read.
// ZipReader checks the entry's declared size before allocating, parse_npy the bytes against the
// header.
NpyArray read_arr_0(const std::string& path) {
  ZipReader zip(path);
  if (!zip.contains("arr_0.npy")) throw DataError(path + ": no arr_0 array (expected uint8 images [N, H, W, C])");
  NpyArray images = parse_npy(zip.read("arr_0.npy"), path + ":arr_0");
  if (images.descr != "|u1" || images.shape.size() != 4)
    throw DataError(path + ": arr_0 must be uint8 images [N, H, W, C], got dtype " + images.descr + " shape " +
                    shape_repr(images.shape));
  return images;
}

}  // namespace

// uint8 [N, H, W, C] images in C order from `bytes`: an npz's arr_0 held here, or the mapping of a
// prepared dataset (kept open here).
struct X0Images::Source {
  NpyArray npz;
  std::optional<datasets::PackedDataset> packed;
  const uint8_t* bytes = nullptr;  // image 0; null when there are none
  int64_t count = 0, height = 0, width = 0, channels = 0;
};

X0Images::X0Images(const std::string& path, const core::UNetConfig& model)
    : path_(path), source_(std::make_unique<Source>()) {
  namespace fs = std::filesystem;
  Source& s = *source_;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (!fs::exists(fs::path(path) / datasets::kPackedManifestFile, ec))
      throw DataError(path + ": not a prepared dataset (no " + datasets::kPackedManifestFile +
                      "); prepare the folder with `repro data prepare`, or pass a reference batch .npz");
    s.packed.emplace(datasets::PackedDataset::open(path));
    s.count = s.packed->size();
    s.height = s.packed->height();
    s.width = s.packed->width();
    s.channels = s.packed->channels();
    s.bytes = s.count > 0 ? s.packed->image(0) : nullptr;
  } else {
    if (!fs::exists(path, ec)) throw IoError(path + ": no such file or prepared dataset");
    s.npz = read_arr_0(path);
    s.count = s.npz.shape[0];
    s.height = s.npz.shape[1];
    s.width = s.npz.shape[2];
    s.channels = s.npz.shape[3];
    s.bytes = reinterpret_cast<const uint8_t*>(s.npz.data.data());
  }
  const int64_t size = model.image_size, c = model.in_channels;
  if (s.height != size || s.width != size || s.channels != c)
    throw DataError(path + ": expected images [H, W, C] = " + hwc_text(size, size, c) +
                    " (the model's image_size and in_channels), got " + hwc_text(s.height, s.width, s.channels));
}

X0Images::~X0Images() = default;

int64_t X0Images::size() const { return source_->count; }

torch::Tensor X0Images::rows(int64_t first, int64_t n) const {
  const Source& s = *source_;
  if (first < 0 || n < 0 || n > s.count || first > s.count - n)
    throw DataError(path_ + ": needs images [" + std::to_string(first) + ", " + std::to_string(first + n) +
                    "), holds " + std::to_string(s.count));
  const auto image_bytes = checked_product(
      {static_cast<uint64_t>(s.height), static_cast<uint64_t>(s.width), static_cast<uint64_t>(s.channels)},
      path_ + ": image");
  check_alloc(checked_product({static_cast<uint64_t>(n), image_bytes, sizeof(float)}, path_ + ": x0 images"),
              path_ + ": x0 images");
  if (n == 0) return torch::empty({0, s.channels, s.height, s.width}, torch::kFloat32);
  // Only read: the view is converted into a new tensor at once.
  auto u8 = torch::from_blob(const_cast<uint8_t*>(s.bytes) + static_cast<uint64_t>(first) * image_bytes,
                             {n, s.height, s.width, s.channels}, torch::kUInt8);
  // As the trainer's batches (core/train/data_source.cpp) and the reference's image_datasets.py.
  return (u8.permute({0, 3, 1, 2}).to(torch::kFloat32) / 127.5 - 1.0).contiguous();
}

torch::Tensor read_x0_images(const std::string& path, int64_t first, int64_t n, const core::UNetConfig& model) {
  return X0Images(path, model).rows(first, n);
}

}  // namespace repro::tasks

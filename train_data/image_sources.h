#pragma once
// The trainer's image sources that read files: an .npz, an image folder (decoded as the reference
// does) or a prepared dataset (memory-mapped). Separate from core/train so that the LibTorch core
// links no image decoders, LMDB or OpenCV; only the task bodies (tasks/) and tests open files.
#include <memory>
#include <string>

#include "core/train/data_source.h"

namespace repro::datasets {
class PackedDataset;
}

namespace repro::train_data {

// An .npz with arr_0 uint8 [N, H, W, 1 or 3] (the reference's sample/reference-batch format).
// Throws IoError/DataError naming the file when it is missing, has no arr_0, or has another shape.
class NpzImageSource : public core::ImageArraySource {
 public:
  NpzImageSource(const std::string& path, bool random_flip, uint64_t seed);
};

class FolderImageStore;

// An image folder as the reference's image_datasets.py reads it (recursive listing, RGB,
// center_crop_arr to image_size, exact to Pillow). Listed at construction; each batch decodes
// only this rank's rows of one global shuffle (docs/train-config.md, the shard rule), so nothing
// is held beyond the batch. Not the reference's sharding: its ImageDataset.local_images is
// image_paths[rank::world], each rank shuffling its own subset; ours is a different stream of the
// same distribution, independent of the world size. A file that cannot be decoded fails the batch
// that needs it (IoError naming the file). Decoding a large folder every epoch is work a prepared
// dataset (PackedImageSource below) does once.
class ImageFolderSource : public core::ImageArraySource {
 public:
  ImageFolderSource(const std::string& dir, int image_size, bool random_flip, uint64_t seed, bool prefetch = true);
  // Images decoded so far: the rows of the batches assembled (and every image, once, for the
  // fingerprint).
  int64_t decoded() const;

 private:
  ImageFolderSource(std::shared_ptr<const FolderImageStore> folder, const std::string& dir, bool random_flip,
                    uint64_t seed, bool prefetch);
  std::shared_ptr<const FolderImageStore> folder_;
};

// A prepared dataset (`repro data prepare`, datasets/packed_dataset.h), memory-mapped: the
// images are read from the page cache, never copied whole. This is the way for datasets too
// large to decode into memory.
class PackedImageSource : public core::ImageArraySource {
 public:
  PackedImageSource(const std::string& dir, bool random_flip, uint64_t seed);
  std::string fingerprint() const override { return fingerprint_; }

 private:
  PackedImageSource(std::shared_ptr<datasets::PackedDataset> d, bool random_flip, uint64_t seed);
  std::string fingerprint_;
};

// A prepared directory when `path` holds manifest.json, another directory as an image folder,
// else an .npz.
std::unique_ptr<core::DataSource> open_image_source(const std::string& path, int image_size, bool random_flip,
                                                    uint64_t seed);

}  // namespace repro::train_data

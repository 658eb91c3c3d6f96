#pragma once
// Where the trainer's images come from. The datasets issue brings the packed format, sharding and
// prefetching behind this same interface; today an .npz with arr_0 uint8 NHWC or an image folder.
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>

namespace repro::core {

class DataSource {
 public:
  virtual ~DataSource() = default;
  // The next n images of the run's stream, of which only `rows` (indices into those n) are
  // loaded: [rows.size(), C, H, W] float32 in [-1, 1] (x / 127.5 - 1, as the reference). With
  // several processes n is the global batch and every rank advances the same stream (same seed)
  // but loads only its rows: each image of a global batch goes to exactly one rank, and the
  // result does not depend on the number of processes.
  virtual torch::Tensor next_batch_rows(int64_t n, const std::vector<int64_t>& rows) = 0;
  torch::Tensor next_batch(int64_t n);  // every row
  virtual int64_t size() const = 0;
  virtual std::vector<int64_t> image_shape() const = 0;  // [C, H, W]
  // Position and RNG, so a resumed run sees exactly the images an uninterrupted one would.
  virtual std::string state() const = 0;
  virtual void load_state(const std::string& state) = 0;
  virtual std::string describe() const = 0;
};

// Images held in memory, uint8 [N, H, W, C]: shuffled by seed every epoch (a fresh permutation
// each pass, as DataLoader(shuffle=True) does), flipped horizontally with p = 0.5 when
// random_flip, looping forever.
class ImageArraySource : public DataSource {
 public:
  // `images` uint8 [N, H, W, 1 or 3], N > 0; `origin` names where they came from in messages.
  ImageArraySource(torch::Tensor images, std::string origin, bool random_flip, uint64_t seed);
  torch::Tensor next_batch_rows(int64_t n, const std::vector<int64_t>& rows) override;
  int64_t size() const override { return images_.size(0); }
  std::vector<int64_t> image_shape() const override;
  std::string state() const override;
  void load_state(const std::string& state) override;
  std::string describe() const override;

 private:
  void new_epoch();

  std::string origin_;
  bool random_flip_;
  torch::Tensor images_;  // [N, H, W, C] uint8
  torch::Generator generator_;
  torch::Tensor order_;   // [N] int64 permutation of this epoch
  int64_t position_ = 0;
  int64_t epoch_ = 0;
};

// An .npz with arr_0 uint8 [N, H, W, 1 or 3] (the reference's sample/reference-batch format).
// Throws IoError/DataError naming the file when it is missing, has no arr_0, or has another shape.
class NpzImageSource : public ImageArraySource {
 public:
  NpzImageSource(const std::string& path, bool random_flip, uint64_t seed);
};

// An image folder as the reference's image_datasets.py reads it (recursive listing, RGB,
// center_crop_arr to image_size, exact to Pillow), decoded once into memory. For datasets too
// large for memory the datasets issue's packed format is the way.
class ImageFolderSource : public ImageArraySource {
 public:
  ImageFolderSource(const std::string& dir, int image_size, bool random_flip, uint64_t seed);
};

// An image folder when `path` is a directory, else an .npz.
std::unique_ptr<DataSource> open_image_source(const std::string& path, int image_size, bool random_flip, uint64_t seed);

}  // namespace repro::core

#pragma once
// Where the trainer's images come from. The datasets issue brings the packed format, sharding and
// prefetching behind this same interface; today NpzImageSource reads an .npz with arr_0 uint8
// NHWC (the reference's sample/reference-batch format).
#include <torch/torch.h>

#include <cstdint>
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

// Shuffles by seed every epoch (a fresh permutation each pass, as DataLoader(shuffle=True) does),
// flips horizontally with p = 0.5 when random_flip, loops forever. Throws IoError/DataError naming
// the file when it is missing, has no arr_0, or is not uint8 [N, H, W, 1 or 3].
class NpzImageSource : public DataSource {
 public:
  NpzImageSource(const std::string& path, bool random_flip, uint64_t seed);
  torch::Tensor next_batch_rows(int64_t n, const std::vector<int64_t>& rows) override;
  int64_t size() const override { return images_.size(0); }
  std::vector<int64_t> image_shape() const override;
  std::string state() const override;
  void load_state(const std::string& state) override;
  std::string describe() const override;

 private:
  void new_epoch();

  std::string path_;
  bool random_flip_;
  torch::Tensor images_;  // [N, H, W, C] uint8
  torch::Generator generator_;
  torch::Tensor order_;   // [N] int64 permutation of this epoch
  int64_t position_ = 0;
  int64_t epoch_ = 0;
};

}  // namespace repro::core

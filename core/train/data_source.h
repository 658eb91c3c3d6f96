#pragma once
// Where the trainer's images come from: one interface that shards batches over ranks and
// prefetches. The sources reading files (.npz, image folders, prepared datasets) are in
// train_data/image_sources.h, so that this layer needs no image decoders.
#include <torch/torch.h>

#include <cstdint>
#include <future>
#include <memory>
#include <string>

#include "base/util/background_worker.h"

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
  // The SHA-256 of the images' uint8 bytes in their stored order (N x H x W x C): a prepared
  // dataset's manifest fingerprint, and the same digest for images held in memory, so an npz and
  // the directory prepared from it agree. "" when the source has none.
  virtual std::string fingerprint() const { return ""; }
};

// Where a source's N images are, in their stored order: a tensor in memory or memory-mapped, or
// files decoded on demand. load() runs on the prefetch thread.
class ImageStore {
 public:
  virtual ~ImageStore() = default;
  virtual int64_t size() const = 0;
  virtual std::vector<int64_t> shape() const = 0;  // [H, W, C]
  // uint8 [k, H, W, C]: the images at `indices` (int64 [k] in [0, size())), and no others.
  virtual torch::Tensor load(const torch::Tensor& indices) const = 0;
  // The SHA-256 of all N images' bytes in stored order.
  virtual std::string fingerprint() const = 0;
};

// `images` uint8 [N, H, W, C] as a store: load() copies only the rows asked for.
std::shared_ptr<const ImageStore> tensor_image_store(torch::Tensor images);

// A store's images shuffled by seed every epoch (a fresh permutation each pass, as
// DataLoader(shuffle=True) does), flipped horizontally with p = 0.5 when random_flip, looping
// forever. Every rank draws the order and flips of the whole global batch and loads only its own
// rows (the reference's per-rank shard): nothing outside them is read, decoded or copied. With
// prefetch, the next batch is assembled on a background thread while the caller trains on this
// one; the stream is the same either way.
class ImageArraySource : public DataSource {
 public:
  // `images` uint8 [N, H, W, 1 or 3], N > 0; `origin` names where they came from in messages.
  ImageArraySource(torch::Tensor images, std::string origin, bool random_flip, uint64_t seed, bool prefetch = true);
  ImageArraySource(std::shared_ptr<const ImageStore> store, std::string origin, bool random_flip, uint64_t seed,
                   bool prefetch = true);
  ~ImageArraySource() override;
  torch::Tensor next_batch_rows(int64_t n, const std::vector<int64_t>& rows) override;
  int64_t size() const override { return store_->size(); }
  std::vector<int64_t> image_shape() const override;
  std::string state() const override;
  void load_state(const std::string& state) override;
  std::string describe() const override;
  std::string fingerprint() const override;  // hashed once, on first use

 private:
  // Where the stream stands: the generator, this epoch's permutation and the position in it.
  struct Cursor {
    torch::Generator generator;
    torch::Tensor order;  // [N] int64
    int64_t position = 0;
    int64_t epoch = 0;
    Cursor clone() const { return {generator.clone(), order, position, epoch}; }
  };
  struct Batch {
    torch::Tensor x;
    Cursor after;
  };
  Batch assemble(Cursor cursor, int64_t n, const std::vector<int64_t>& rows) const;
  void drop_prefetch();

  std::string origin_;
  bool random_flip_;
  bool prefetch_;
  std::shared_ptr<const ImageStore> store_;
  Cursor cursor_;            // after the batches handed out: what state() saves
  std::future<Batch> next_;  // the prefetched batch for (next_n_, next_rows_)
  int64_t next_n_ = -1;
  std::vector<int64_t> next_rows_;
  mutable std::string fingerprint_;
  std::unique_ptr<BackgroundWorker> worker_;  // the prefetch thread (with prefetch); last, so it
                                              // finishes its job before the members above go
};

}  // namespace repro::core

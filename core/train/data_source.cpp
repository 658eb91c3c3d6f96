#include "core/train/data_source.h"

#include <filesystem>
#include <sstream>

#include "base/util/errors.h"
#include "base/util/sha256.h"
#include "core/train/train_state.h"

namespace repro::core {

namespace {
class TensorImageStore : public ImageStore {
 public:
  explicit TensorImageStore(torch::Tensor images) : images_(std::move(images)) {}
  int64_t size() const override { return images_.size(0); }
  std::vector<int64_t> shape() const override { return {images_.size(1), images_.size(2), images_.size(3)}; }
  torch::Tensor load(const torch::Tensor& indices) const override { return images_.index_select(0, indices); }
  std::string fingerprint() const override {
    const torch::Tensor bytes = images_.contiguous();
    Sha256Stream sha;
    sha.update(bytes.data_ptr<uint8_t>(), static_cast<size_t>(bytes.numel()));
    return sha.finish_hex();
  }

 private:
  torch::Tensor images_;
};
}  // namespace

std::shared_ptr<const ImageStore> tensor_image_store(torch::Tensor images) {
  TORCH_CHECK(images.dim() == 4 && images.scalar_type() == torch::kUInt8, "tensor_image_store: expected uint8 ",
              "[N, H, W, C], got ", images.scalar_type(), " ", images.sizes());
  return std::make_shared<TensorImageStore>(std::move(images));
}

ImageArraySource::ImageArraySource(torch::Tensor images, std::string origin, bool random_flip, uint64_t seed,
                                   bool prefetch)
    : ImageArraySource(tensor_image_store(std::move(images)), std::move(origin), random_flip, seed, prefetch) {}

ImageArraySource::ImageArraySource(std::shared_ptr<const ImageStore> store, std::string origin, bool random_flip,
                                   uint64_t seed, bool prefetch)
    : origin_(std::move(origin)),
      random_flip_(random_flip),
      prefetch_(prefetch),
      store_(std::move(store)),
      cursor_{at::detail::createCPUGenerator(seed), torch::Tensor(), 0, 0} {
  if (store_->size() == 0) throw DataError(origin_ + ": holds no images");
  cursor_.order = torch::randperm(store_->size(), cursor_.generator, torch::kInt64);
  if (prefetch_) worker_ = std::make_unique<BackgroundWorker>();
}

ImageArraySource::~ImageArraySource() { drop_prefetch(); }

std::string ImageArraySource::fingerprint() const {
  if (fingerprint_.empty()) fingerprint_ = store_->fingerprint();
  return fingerprint_;
}

std::vector<int64_t> ImageArraySource::image_shape() const {
  const auto hwc = store_->shape();
  return {hwc[2], hwc[0], hwc[1]};
}

torch::Tensor DataSource::next_batch(int64_t n) {
  std::vector<int64_t> rows(n);
  for (int64_t i = 0; i < n; ++i) rows[i] = i;
  return next_batch_rows(n, rows);
}

void ImageArraySource::drop_prefetch() {
  if (next_.valid()) next_.wait();
  next_ = {};
  next_n_ = -1;
}

ImageArraySource::Batch ImageArraySource::assemble(Cursor c, int64_t n, const std::vector<int64_t>& rows) const {
  const int64_t count = store_->size();
  std::vector<torch::Tensor> picked;
  int64_t need = n;
  while (need > 0) {
    if (c.position == count) {
      ++c.epoch;
      c.order = torch::randperm(count, c.generator, torch::kInt64);
      c.position = 0;
    }
    const int64_t take = std::min(need, count - c.position);
    picked.push_back(c.order.slice(0, c.position, c.position + take));
    c.position += take;
    need -= take;
  }
  // The flips are drawn for all n, so the stream stays the same whatever rows are loaded.
  auto flip = random_flip_ ? torch::rand({n}, c.generator) < 0.5 : torch::zeros({n}, torch::kBool);
  auto sel = torch::tensor(rows, torch::kInt64);
  TORCH_CHECK(sel.numel() == 0 || (sel.min().item<int64_t>() >= 0 && sel.max().item<int64_t>() < n),
              "next_batch_rows: a row outside [0, ", n, ")");
  const int64_t k = sel.numel();
  auto idx = torch::cat(picked).index_select(0, sel);
  auto x = store_->load(idx).permute({0, 3, 1, 2}).to(torch::kFloat32) / 127.5 - 1.0;
  x = torch::where(flip.index_select(0, sel).view({k, 1, 1, 1}), x.flip({3}), x);
  return {x.contiguous(), std::move(c)};
}

torch::Tensor ImageArraySource::next_batch_rows(int64_t n, const std::vector<int64_t>& rows) {
  Batch b;
  if (next_.valid() && next_n_ == n && next_rows_ == rows) {
    b = next_.get();
  } else {
    drop_prefetch();
    b = assemble(cursor_.clone(), n, rows);
  }
  cursor_ = std::move(b.after);
  next_n_ = -1;
  if (prefetch_) {
    // Training asks for the same rows every step: start on the next batch now.
    next_n_ = n;
    next_rows_ = rows;
    next_ = worker_->submit([this, c = cursor_.clone(), n, rows]() { return assemble(c, n, rows); });
  }
  return b.x;
}

std::string ImageArraySource::state() const {
  std::ostringstream s;
  s << cursor_.epoch << " " << cursor_.position << " " << tensor_to_hex(cursor_.order) << " "
    << tensor_to_hex(cursor_.generator.get_state());
  return s.str();
}

void ImageArraySource::load_state(const std::string& state) {
  std::istringstream s(state);
  std::string order_hex, gen_hex;
  Cursor c = cursor_.clone();
  if (!(s >> c.epoch >> c.position >> order_hex >> gen_hex))
    throw DataError(origin_ + ": unreadable data-source state in the checkpoint");
  c.order = tensor_from_hex(order_hex, torch::kInt64);
  if (c.order.numel() != size() || c.position < 0 || c.position > size())
    throw DataError(origin_ + ": the checkpoint's data state is for a dataset of " + std::to_string(c.order.numel()) +
                    " images, this source has " + std::to_string(size()));
  c.generator.set_state(tensor_from_hex(gen_hex, torch::kUInt8));
  drop_prefetch();
  cursor_ = std::move(c);
}

std::string ImageArraySource::describe() const {
  const auto hwc = store_->shape();
  return origin_ + " (" + std::to_string(size()) + " images " + std::to_string(hwc[0]) + "x" + std::to_string(hwc[1]) +
         "x" + std::to_string(hwc[2]) + (random_flip_ ? ", random flip" : "") + ")";
}

}  // namespace repro::core

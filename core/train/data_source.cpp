#include "core/train/data_source.h"

#include <filesystem>
#include <sstream>

#include "core/util/errors.h"
#include "datasets/image_folder.h"
#include "core/util/npy.h"
#include "core/util/tensor_npy.h"
#include "core/train/train_state.h"

namespace repro::core {

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

std::unique_ptr<DataSource> open_image_source(const std::string& path, int image_size, bool random_flip, uint64_t seed) {
  if (std::filesystem::is_directory(path)) return std::make_unique<ImageFolderSource>(path, image_size, random_flip, seed);
  return std::make_unique<NpzImageSource>(path, random_flip, seed);
}

ImageArraySource::ImageArraySource(torch::Tensor images, std::string origin, bool random_flip, uint64_t seed)
    : origin_(std::move(origin)), random_flip_(random_flip), images_(std::move(images)),
      generator_(at::detail::createCPUGenerator(seed)) {
  if (images_.size(0) == 0) throw DataError(origin_ + ": holds no images");
  new_epoch();
}

std::vector<int64_t> ImageArraySource::image_shape() const { return {images_.size(3), images_.size(1), images_.size(2)}; }

void ImageArraySource::new_epoch() {
  order_ = torch::randperm(images_.size(0), generator_, torch::kInt64);
  position_ = 0;
}

torch::Tensor DataSource::next_batch(int64_t n) {
  std::vector<int64_t> rows(n);
  for (int64_t i = 0; i < n; ++i) rows[i] = i;
  return next_batch_rows(n, rows);
}

torch::Tensor ImageArraySource::next_batch_rows(int64_t n, const std::vector<int64_t>& rows) {
  std::vector<torch::Tensor> picked;
  int64_t need = n;
  while (need > 0) {
    if (position_ == images_.size(0)) {
      ++epoch_;
      new_epoch();
    }
    const int64_t take = std::min(need, images_.size(0) - position_);
    picked.push_back(order_.slice(0, position_, position_ + take));
    position_ += take;
    need -= take;
  }
  // The flips are drawn for all n, so the stream stays the same whatever rows are loaded.
  auto flip = random_flip_ ? torch::rand({n}, generator_) < 0.5 : torch::zeros({n}, torch::kBool);
  auto sel = torch::tensor(rows, torch::kInt64);
  TORCH_CHECK(sel.numel() == 0 || (sel.min().item<int64_t>() >= 0 && sel.max().item<int64_t>() < n),
              "next_batch_rows: a row outside [0, ", n, ")");
  const int64_t k = sel.numel();
  auto idx = torch::cat(picked).index_select(0, sel);
  auto x = images_.index_select(0, idx).permute({0, 3, 1, 2}).to(torch::kFloat32) / 127.5 - 1.0;
  x = torch::where(flip.index_select(0, sel).view({k, 1, 1, 1}), x.flip({3}), x);
  return x.contiguous();
}

std::string ImageArraySource::state() const {
  std::ostringstream s;
  s << epoch_ << " " << position_ << " " << tensor_to_hex(order_) << " "
    << tensor_to_hex(generator_.get_state());
  return s.str();
}

void ImageArraySource::load_state(const std::string& state) {
  std::istringstream s(state);
  std::string order_hex, gen_hex;
  if (!(s >> epoch_ >> position_ >> order_hex >> gen_hex))
    throw DataError(origin_ + ": unreadable data-source state in the checkpoint");
  order_ = tensor_from_hex(order_hex, torch::kInt64);
  if (order_.numel() != images_.size(0) || position_ < 0 || position_ > images_.size(0))
    throw DataError(origin_ + ": the checkpoint's data state is for a dataset of " + std::to_string(order_.numel()) +
                    " images, this file has " + std::to_string(images_.size(0)));
  generator_.set_state(tensor_from_hex(gen_hex, torch::kUInt8));
}

std::string ImageArraySource::describe() const {
  return origin_ + " (" + std::to_string(images_.size(0)) + " images " + std::to_string(images_.size(1)) + "x" +
         std::to_string(images_.size(2)) + "x" + std::to_string(images_.size(3)) +
         (random_flip_ ? ", random flip" : "") + ")";
}

}  // namespace repro::core

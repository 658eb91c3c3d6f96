// The trainer's image sources: the npz and image-folder sources yield the same stream for the
// same images, and ranks loading disjoint rows of one global batch see what one process sees.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <memory>

#include "base/util/errors.h"
#include "base/util/npy.h"
#include "core/train/data_source.h"
#include "core/util/tensor_npy.h"
#include "datasets/prepare.h"
#include "tests/support/test_support.h"
#include "tests/support/tiny_data.h"
#include "train_data/image_sources.h"

using namespace repro;
using namespace repro::core;
using namespace repro::train_data;

namespace {
using test::write_dataset;
}  // namespace

TEST(DataSource, RowsAreSlicesOfTheSameStream) {
  test::TempDir dir;
  const std::string data_path = write_dataset(dir, 8);
  NpzImageSource whole(data_path, true, 5), rank0(data_path, true, 5), rank1(data_path, true, 5);
  for (int step = 0; step < 3; ++step) {  // crosses an epoch boundary (6 of 8 per step)
    auto all = whole.next_batch(6);
    auto a = rank0.next_batch_rows(6, {0, 1, 4});
    auto b = rank1.next_batch_rows(6, {2, 3, 5});
    EXPECT_TRUE(torch::equal(a, all.index_select(0, torch::tensor({0, 1, 4})))) << step;
    EXPECT_TRUE(torch::equal(b, all.index_select(0, torch::tensor({2, 3, 5})))) << step;
  }
  EXPECT_EQ(rank0.state(), whole.state());
  EXPECT_THROW(rank0.next_batch_rows(2, {2}), c10::Error);
}

TEST(DataSource, AFolderOfPngsIsTheSameStreamAsTheNpz) {
  // Pillow writes the npz's images as PNGs named in order; the folder reader lists them sorted.
  test::TempDir dir;
  const std::string npz = write_dataset(dir, 5);
  ASSERT_EQ(test::run_python("import numpy as np, os\nfrom PIL import Image\nos.makedirs('imgs/sub')\n"
                             "a = np.load('data.npz')['arr_0']\n"
                             "for i, x in enumerate(a):\n"
                             "    Image.fromarray(x).save(('imgs/sub/' if i >= 3 else 'imgs/') + f'{i:02d}.png')\n",
                             dir.path()),
            0);
  auto folder = open_image_source(dir.file("imgs"), 8, true, 9);
  auto array = open_image_source(npz, 8, true, 9);
  EXPECT_EQ(folder->size(), 5);
  EXPECT_EQ(folder->image_shape(), (std::vector<int64_t>{3, 8, 8}));
  for (int step = 0; step < 3; ++step) EXPECT_TRUE(torch::equal(folder->next_batch(4), array->next_batch(4))) << step;
  EXPECT_NE(folder->describe().find("imgs"), std::string::npos) << folder->describe();
}

TEST(DataSource, MissingOrEmptyInputsNameThePath) {
  test::TempDir dir;
  std::filesystem::create_directories(dir.file("empty"));
  EXPECT_NE(test::error_message([&] { open_image_source(dir.file("empty"), 8, true, 1); }).find("empty"),
            std::string::npos);
  EXPECT_NE(test::error_message([&] { open_image_source(dir.file("nope.npz"), 8, true, 1); }).find("nope.npz"),
            std::string::npos);
}

TEST(DataSource, PrefetchDoesNotChangeTheStreamOrItsState) {
  test::TempDir dir;
  const std::string npz = write_dataset(dir, 7);
  auto load = [&] {
    auto arrays = read_npz(npz);
    return to_tensor(arrays.at("arr_0"), npz);
  };
  ImageArraySource with(load(), "a", true, 3, /*prefetch=*/true), without(load(), "b", true, 3, /*prefetch=*/false);
  std::string saved;
  for (int step = 0; step < 5; ++step) {
    // Rows change at step 3: the prefetched batch is dropped, not served.
    const std::vector<int64_t> rows = step == 3 ? std::vector<int64_t>{1, 2} : std::vector<int64_t>{0, 1, 2, 3};
    EXPECT_TRUE(torch::equal(with.next_batch_rows(4, rows), without.next_batch_rows(4, rows))) << step;
    EXPECT_EQ(with.state(), without.state()) << step;  // the batches handed out, not the prefetched one
    if (step == 1) saved = with.state();
  }
  // Back to step 2 from the saved state: the same batches again.
  ImageArraySource resumed(load(), "c", true, 99, true), fresh(load(), "d", true, 3, false);
  resumed.load_state(saved);
  for (int step = 0; step < 2; ++step) fresh.next_batch(4);
  EXPECT_TRUE(torch::equal(resumed.next_batch(4), fresh.next_batch(4)));
  EXPECT_THROW(resumed.load_state("1 2"), DataError);
}

TEST(DataSource, APreparedDirectoryIsTheSameStreamAsItsNpz) {
  test::TempDir dir;
  const std::string npz = write_dataset(dir, 6);
  datasets::PrepareOptions o;
  o.dataset = "npz";
  o.source = npz;
  o.out = dir.file("packed");
  auto r = datasets::prepare_dataset(o);
  EXPECT_EQ(r.manifest.count, 6);
  auto packed = open_image_source(dir.file("packed"), 8, true, 4);
  auto array = open_image_source(npz, 8, true, 4);
  EXPECT_EQ(packed->fingerprint(), r.manifest.fingerprint);
  EXPECT_EQ(packed->fingerprint().size(), 64u);
  EXPECT_EQ(array->fingerprint(), r.manifest.fingerprint);  // the same images, the same digest
  for (int step = 0; step < 4; ++step) EXPECT_TRUE(torch::equal(packed->next_batch(4), array->next_batch(4))) << step;
}

namespace {
// A store that counts the images it is asked for.
class CountingStore : public ImageStore {
 public:
  explicit CountingStore(torch::Tensor images) : images_(std::move(images)) {}
  int64_t size() const override { return images_.size(0); }
  std::vector<int64_t> shape() const override { return {images_.size(1), images_.size(2), images_.size(3)}; }
  torch::Tensor load(const torch::Tensor& indices) const override {
    loaded += indices.numel();
    return images_.index_select(0, indices);
  }
  std::string fingerprint() const override { return "counting"; }
  mutable std::atomic<int64_t> loaded{0};

 private:
  torch::Tensor images_;
};

constexpr int64_t kWorld = 4, kPerRank = 2, kGlobal = kWorld * kPerRank;

// Rank r's rows of a global batch when microbatch = batch: [r * kPerRank, (r + 1) * kPerRank).
std::vector<int64_t> rank_rows(int64_t r) {
  std::vector<int64_t> rows;
  for (int64_t j = 0; j < kPerRank; ++j) rows.push_back(r * kPerRank + j);
  return rows;
}

// The ranks' rows of one global batch, concatenated in rank order (the trainer's all_gather).
template <typename Sources>
torch::Tensor gathered(Sources& ranks) {
  std::vector<torch::Tensor> parts;
  for (int64_t r = 0; r < kWorld; ++r) parts.push_back(ranks[r]->next_batch_rows(kGlobal, rank_rows(r)));
  return torch::cat(parts);
}
}  // namespace

TEST(DataSource, EachRankLoadsOnlyItsShardAndTheRanksMakeTheWholeBatch) {
  test::TempDir dir;
  const std::string npz = write_dataset(dir, 10);  // 8 per step: an epoch ends inside step 2
  const auto images = to_tensor(read_npz(npz).at("arr_0"), npz);
  NpzImageSource whole(npz, /*random_flip=*/true, 6);
  std::vector<std::shared_ptr<CountingStore>> stores;
  std::vector<std::unique_ptr<ImageArraySource>> ranks;
  for (int64_t r = 0; r < kWorld; ++r) {
    stores.push_back(std::make_shared<CountingStore>(images));
    ranks.push_back(std::make_unique<ImageArraySource>(stores[r], "rank", true, 6, /*prefetch=*/false));
  }
  std::string saved;
  for (int64_t step = 1; step <= 3; ++step) {
    EXPECT_TRUE(torch::equal(gathered(ranks), whole.next_batch(kGlobal))) << step;
    for (int64_t r = 0; r < kWorld; ++r) EXPECT_EQ(stores[r]->loaded.load(), step * kPerRank) << r;
    if (step == 2) saved = ranks[0]->state();
  }
  EXPECT_EQ(ranks[3]->state(), whole.state());
  // Resume after step 2 (mid-epoch with this epoch's own permutation): step 3 again, then step 4.
  std::vector<std::unique_ptr<ImageArraySource>> resumed;
  for (int64_t r = 0; r < kWorld; ++r) {
    resumed.push_back(
        std::make_unique<ImageArraySource>(std::make_shared<CountingStore>(images), "r", true, 99, false));
    resumed[r]->load_state(saved);
  }
  auto step3 = gathered(resumed);
  auto step4 = gathered(resumed);
  NpzImageSource fresh(npz, true, 6);
  for (int step = 0; step < 2; ++step) fresh.next_batch(kGlobal);
  EXPECT_TRUE(torch::equal(step3, fresh.next_batch(kGlobal)));
  EXPECT_TRUE(torch::equal(step4, whole.next_batch(kGlobal)));
}

TEST(DataSource, AnImageFolderDecodesOnlyTheRanksRows) {
  // 10 PNGs written by Pillow from the npz; the folder lists them in the npz's order.
  test::TempDir dir;
  const std::string npz = write_dataset(dir, 10);
  ASSERT_EQ(test::run_python("import numpy as np, os\nfrom PIL import Image\nos.makedirs('imgs')\n"
                             "for i, x in enumerate(np.load('data.npz')['arr_0']):\n"
                             "    Image.fromarray(x).save(f'imgs/{i:02d}.png')\n",
                             dir.path()),
            0);
  NpzImageSource whole(npz, true, 8);
  std::vector<std::unique_ptr<ImageFolderSource>> ranks;
  for (int64_t r = 0; r < kWorld; ++r)
    ranks.push_back(std::make_unique<ImageFolderSource>(dir.file("imgs"), 8, true, 8, /*prefetch=*/false));
  EXPECT_EQ(ranks[0]->decoded(), 0);  // listing decodes nothing
  for (int64_t step = 1; step <= 3; ++step) {
    EXPECT_TRUE(torch::equal(gathered(ranks), whole.next_batch(kGlobal))) << step;
    for (int64_t r = 0; r < kWorld; ++r) EXPECT_EQ(ranks[r]->decoded(), step * kPerRank) << r;
  }
  // With prefetch, a rank decodes its rows of the batch handed out and of the next one, no more.
  ImageFolderSource prefetching(dir.file("imgs"), 8, true, 8, /*prefetch=*/true);
  for (int64_t step = 1; step <= 3; ++step) {
    prefetching.next_batch_rows(kGlobal, rank_rows(1));
    EXPECT_GE(prefetching.decoded(), step * kPerRank);
    EXPECT_LE(prefetching.decoded(), (step + 1) * kPerRank);
  }
  // The fingerprint decodes every image once: the digest of the same images held in memory.
  EXPECT_EQ(ranks[0]->fingerprint(), whole.fingerprint());
}

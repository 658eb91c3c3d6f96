// Both CelebA pipelines against the reference code run by Debian's python3-opencv (DDPM-IP:
// cv2.imread, BGR->RGB, cv2.resize to 64x64) and python3-pil + torchvision's semantics (DDIM:
// crop top 57 left 25 128x128, Image.resize((64, 64), BILINEAR)), on JPEGs Pillow writes.
#include "datasets/celeba.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/util/errors.h"
#include "base/util/npy.h"
#include "datasets/image_decode.h"
#include "tests/datasets/pillow_reference.h"
#include "tests/support/test_support.h"

namespace repro::datasets {
namespace {

namespace fs = std::filesystem;

TEST(Celeba, BothPipelinesMatchOpenCvAndPillow) {
  test::TempDir dir;
  ASSERT_EQ(test::run_python(std::string(test_util::kPillowPrelude) + R"(
import cv2
os.makedirs("img_align_celeba")
names = ["000001.jpg", "000002.jpg", "000003.jpg", "000010.jpg"]
for i, name in enumerate(names):  # 4:4:4, 4:2:2, 4:2:0 and a grey JPEG, as CelebA-like 178x218
    im = photo(178, 218, seed=i)
    if i == 3: im = im.convert("L")
    im.save("img_align_celeba/" + name, quality=[95, 90, 75, 85][i], subsampling=[0, 1, 2, 2][i])
ddpm_ip, ddim, decoded = [], [], []
for name in names:
    p = "img_align_celeba/" + name
    img = cv2.imread(p)                                 # DDPM-IP datasets/celeba64_npz.py
    img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    decoded.append(img)
    ddpm_ip.append(cv2.resize(img, (64, 64)))
    pil = Image.open(p).convert("RGB")                  # DDIM datasets/celeba.py
    ddim.append(np.array(pil.crop((25, 57, 25 + 128, 57 + 128)).resize((64, 64), Image.BILINEAR)))
np.save("ddpm_ip.npy", np.stack(ddpm_ip)); np.save("ddim.npy", np.stack(ddim)); np.save("decoded.npy", np.stack(decoded))
)",
                             dir.path()),
            0);
  const std::vector<std::string> files = list_celeba_images(dir.file("img_align_celeba"));
  ASSERT_EQ(files.size(), 4u);
  EXPECT_EQ(files[3], dir.file("img_align_celeba/000010.jpg"));

  // cv2.imread's decode is the one ours reproduces (the DDPM-IP path relies on it).
  const NpyArray decoded = read_npy(dir.file("decoded.npy"));
  int decode_max = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    const RgbImage ours = decode_image_file(files[i]);
    ASSERT_EQ(ours.pixels.size(), 178u * 218 * 3);
    for (size_t k = 0; k < ours.pixels.size(); ++k)
      decode_max =
          std::max(decode_max, std::abs(int(ours.pixels[k]) - int(uint8_t(decoded.data[i * ours.pixels.size() + k]))));
  }
  EXPECT_EQ(decode_max, 0);
  test_util::report("CelebA JPEG decode vs cv2.imread, 4 images", {decode_max, 0.0});

  for (const auto& [pipeline, npy] :
       {std::pair{CelebaPipeline::kDdpmIpResize, "ddpm_ip.npy"}, std::pair{CelebaPipeline::kDdimCrop, "ddim.npy"}}) {
    LabeledImages got(64, 64);
    EXPECT_EQ(read_celeba(files, pipeline, got.sink()), 4);
    const NpyArray want = read_npy(dir.file(npy));
    ASSERT_EQ(want.shape, (std::vector<int64_t>{4, 64, 64, 3}));
    RgbImage a(64, 256), b(64, 256);
    a.pixels = got.images;
    b.pixels.assign(want.data.begin(), want.data.end());
    const test_util::PixelDiff d = test_util::pixel_diff(a, b);
    EXPECT_EQ(d.max, 0) << celeba_pipeline_name(pipeline);
    test_util::report(std::string("CelebA ") + celeba_pipeline_name(pipeline) + " 178x218 -> 64, 4 images", d);
  }
}

// cv2.resize INTER_LINEAR at other sizes (up, down by non-integer and by exactly 2, which OpenCV
// turns into INTER_AREA), the resize helper on its own.
TEST(Celeba, Cv2ResizeLinearMatchesOpenCv) {
  test::TempDir dir;
  ASSERT_EQ(test::run_python(std::string(test_util::kPillowPrelude) + R"(
import cv2
src = np.array(photo(178, 218, seed=7))
np.save("src.npy", src)
for w, h in [(64, 64), (32, 40), (89, 109), (300, 250), (178, 218)]:
    np.save("cv_%dx%d.npy" % (w, h), cv2.resize(src, (w, h)))
)",
                             dir.path()),
            0);
  const RgbImage src = test_util::read_rgb_npy(dir.file("src.npy"));
  for (const auto& [w, h] : std::vector<std::pair<int, int>>{{64, 64}, {32, 40}, {89, 109}, {300, 250}, {178, 218}}) {
    const std::string tag = std::to_string(w) + "x" + std::to_string(h);
    const test_util::PixelDiff d =
        test_util::pixel_diff(cv2_resize_linear(src, w, h), test_util::read_rgb_npy(dir.file("cv_" + tag + ".npy")));
    EXPECT_EQ(d.max, 0) << tag;
    test_util::report("cv2.resize INTER_LINEAR 178x218 -> " + tag, d);
  }
  EXPECT_THROW(cv2_resize_linear(src, 0, 64), DataError);
}

TEST(Celeba, BadInputIsNamed) {
  test::TempDir dir;
  ASSERT_EQ(test::run_python(std::string(test_util::kPillowPrelude) + R"(
os.makedirs("img_align_celeba"); os.makedirs("empty"); os.makedirs("small")
photo(178, 218, seed=1).save("img_align_celeba/000001.jpg", quality=90)
raw = open("img_align_celeba/000001.jpg", "rb").read()
open("img_align_celeba/000002.jpg", "wb").write(raw[:900])           # truncated JPEG
open("img_align_celeba/000003.jpg", "wb").write(b"\xff\xd8" + b"garbage" * 50)
photo(64, 64, seed=2).save("small/000001.jpg", quality=90)           # not an aligned CelebA face
open("empty/notes.txt", "w").write("x")
)",
                             dir.path()),
            0);
  const std::vector<std::string> files = list_celeba_images(dir.file("img_align_celeba"));
  ASSERT_EQ(files.size(), 3u);
  for (size_t bad : {1, 2}) {
    for (const auto pipeline : {CelebaPipeline::kDdpmIpResize, CelebaPipeline::kDdimCrop}) {
      const std::vector<std::string> one = {files[bad]};
      const std::string msg = test::error_message([&] { read_celeba(one, pipeline, [](const uint8_t*, int64_t) {}); });
      EXPECT_NE(msg.find(files[bad]), std::string::npos) << msg;
      EXPECT_THROW(read_celeba(one, pipeline, [](const uint8_t*, int64_t) {}), IoError);
    }
  }
  const std::vector<std::string> small = list_celeba_images(dir.file("small"));
  const std::string msg =
      test::error_message([&] { read_celeba(small, CelebaPipeline::kDdpmIpResize, [](const uint8_t*, int64_t) {}); });
  EXPECT_NE(msg.find(small[0]), std::string::npos) << msg;
  EXPECT_NE(msg.find("64x64"), std::string::npos) << msg;
  EXPECT_THROW(read_celeba(small, CelebaPipeline::kDdimCrop, [](const uint8_t*, int64_t) {}), DataError);
  EXPECT_THROW(list_celeba_images(dir.file("empty")), DataError);
  EXPECT_NE(test::error_message([&] { list_celeba_images(dir.file("empty")); }).find(dir.file("empty")),
            std::string::npos);
  EXPECT_THROW(list_celeba_images(dir.file("absent")), IoError);
}

TEST(Celeba, PartitionFile) {
  test::TempDir dir;
  std::ofstream(dir.file("list_eval_partition.txt"))
      << "000001.jpg 0\n000002.jpg 0\n000003.jpg 1\n000004.jpg 2\n000005.jpg 0\n";
  EXPECT_EQ(read_celeba_partition(dir.file("list_eval_partition.txt"), 0),
            (std::vector<std::string>{"000001.jpg", "000002.jpg", "000005.jpg"}));
  EXPECT_EQ(read_celeba_partition(dir.file("list_eval_partition.txt"), 2), (std::vector<std::string>{"000004.jpg"}));
  std::ofstream(dir.file("bad.txt")) << "000001.jpg 0\n000002.jpg x\n";
  const std::string msg = test::error_message([&] { read_celeba_partition(dir.file("bad.txt"), 0); });
  EXPECT_NE(msg.find(dir.file("bad.txt") + ": line 2"), std::string::npos) << msg;
}

}  // namespace
}  // namespace repro::datasets

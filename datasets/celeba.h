#pragma once
// CelebA from img_align_celeba/*.jpg (202,599 aligned faces, 178x218), by either published
// pipeline (paper-spec 6.2; which one produced the paper's numbers is not stated):
//   kDdpmIpResize (default) DDPM-IP's datasets/celeba64_npz.py:
//       img = cv2.imread(p); img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB); cv2.resize(img, (64, 64))
//     OpenCV's INTER_LINEAR straight to 64x64, aspect ratio not kept (178x218 is squashed).
//     Debian's OpenCV does the resize itself: its 8-bit INTER_LINEAR runs fixed-point SIMD paths
//     whose rounding a re-implementation would have to copy. The JPEG decode is the Pillow-exact
//     one (image_decode.h): cv2.imread's libjpeg-turbo output is the same (checked in the test).
//   kDdimCrop  DDIM's datasets/celeba.py: cx = 89, cy = 121,
//       Crop(x1=cy-64, x2=cy+64, y1=cx-64, y2=cx+64) = F.crop(img, top=57, left=25, 128, 128)
//       transforms.Resize(64)  (PIL image: Image.resize((64, 64), BILINEAR))
//     then RandomHorizontalFlip, which is the loader's (not stored).
#include <cstdint>
#include <string>
#include <vector>

#include "datasets/image_sink.h"
#include "datasets/rgb_image.h"

namespace repro::datasets {

enum class CelebaPipeline { kDdpmIpResize, kDdimCrop };

inline constexpr int kCelebaImageSize = 64;
inline constexpr int kCelebaAlignedWidth = 178;
inline constexpr int kCelebaAlignedHeight = 218;
inline constexpr int64_t kCelebaPublishedCount = 202599;
inline constexpr int64_t kCelebaPublishedTrainCount = 162770;  // list_eval_partition.txt, partition 0

// "ddpm_ip_resize" / "ddim_crop", the names recipes and the CLI use.
const char* celeba_pipeline_name(CelebaPipeline pipeline);

// cv2.resize(image, (size, size)) with INTER_LINEAR. Throws DataError when size < 1 or the image
// is empty.
RgbImage cv2_resize_linear(const RgbImage& image, int width, int height);

// One aligned face through `pipeline` to 64x64. Throws DataError naming `name` when the image is
// not 178x218 (the crop box and the squash assume the aligned geometry; other faces belong in a
// generic image folder).
RgbImage celeba_preprocess(const RgbImage& image, CelebaPipeline pipeline, const std::string& name);

// The *.jpg files directly in `img_dir` (file names sorted byte-wise: 000001.jpg, ...). Throws
// IoError when the directory cannot be listed, DataError "<img_dir>: no images" when none.
std::vector<std::string> list_celeba_images(const std::string& img_dir);

// The file names of one partition of list_eval_partition.txt ("000001.jpg 0" per line; 0 train,
// 1 valid, 2 test), in file order. Throws IoError naming the file and line when malformed.
std::vector<std::string> read_celeba_partition(const std::string& partition_file, int partition);

// Decodes and preprocesses `files` (paths) in order, streaming 64x64 images with kNoLabel; returns
// the count. Throws IoError naming the file for an undecodable JPEG, DataError for a wrong size.
int64_t read_celeba(const std::vector<std::string>& files, CelebaPipeline pipeline, const ImageSink& sink);

}  // namespace repro::datasets

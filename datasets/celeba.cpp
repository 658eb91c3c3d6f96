#include "datasets/celeba.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/util/errors.h"
#include "datasets/image_decode.h"
#include "datasets/pil_resize.h"

namespace repro::datasets {
namespace {

// DDIM's box: top = cy - 64, left = cx - 64 with (cx, cy) = (89, 121), 128 square.
constexpr int kDdimTop = 57, kDdimLeft = 25, kDdimSide = 128;

RgbImage crop(const RgbImage& image, int top, int left, int side) {
  RgbImage out(side, side);
  for (int y = 0; y < side; ++y) std::memcpy(out.row(y), image.row(top + y) + 3 * left, 3 * static_cast<size_t>(side));
  return out;
}

}  // namespace

const char* celeba_pipeline_name(CelebaPipeline pipeline) {
  return pipeline == CelebaPipeline::kDdimCrop ? "ddim_crop" : "ddpm_ip_resize";
}

RgbImage cv2_resize_linear(const RgbImage& image, int width, int height) {
  if (width < 1 || height < 1 || image.width < 1 || image.height < 1)
    throw DataError("cv2_resize_linear: empty image or size " + std::to_string(width) + "x" + std::to_string(height));
  const cv::Mat src(image.height, image.width, CV_8UC3, const_cast<uint8_t*>(image.pixels.data()));
  RgbImage out(width, height);
  cv::Mat dst(height, width, CV_8UC3, out.pixels.data());
  cv::resize(src, dst, cv::Size(width, height), 0, 0, cv::INTER_LINEAR);  // per channel: RGB == BGR
  REPRO_CHECK(dst.data == out.pixels.data(), "cv::resize reallocated its output");
  return out;
}

RgbImage celeba_preprocess(const RgbImage& image, CelebaPipeline pipeline, const std::string& name) {
  if (image.width != kCelebaAlignedWidth || image.height != kCelebaAlignedHeight)
    throw DataError(name + ": " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                    ", CelebA's img_align_celeba images are 178x218");
  if (pipeline == CelebaPipeline::kDdpmIpResize) return cv2_resize_linear(image, kCelebaImageSize, kCelebaImageSize);
  return pil_resize(crop(image, kDdimTop, kDdimLeft, kDdimSide), kCelebaImageSize, kCelebaImageSize,
                    Resampling::kBilinear);
}

std::vector<std::string> list_celeba_images(const std::string& img_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> names;
  for (fs::directory_iterator it(img_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".jpg") == 0) names.push_back(name);
  }
  if (ec) throw IoError("cannot list " + img_dir + ": " + ec.message());
  if (names.empty()) throw DataError(img_dir + ": no images (*.jpg; CelebA's img_align_celeba folder)");
  std::sort(names.begin(), names.end());
  for (std::string& n : names) n = img_dir + "/" + n;
  return names;
}

std::vector<std::string> read_celeba_partition(const std::string& partition_file, int partition) {
  std::ifstream in(partition_file);
  if (!in) throw IoError("cannot read " + partition_file + ": " + std::strerror(errno));
  std::vector<std::string> names;
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    if (line.empty() || line == "\r") continue;
    std::istringstream fields(line);
    std::string name;
    int p = -1;
    if (!(fields >> name >> p) || p < 0 || p > 2)
      throw IoError(partition_file + ": line " + std::to_string(line_no) + ": expected '<file>.jpg <0|1|2>', got '" +
                    line + "'");
    if (p == partition) names.push_back(name);
  }
  return names;
}

int64_t read_celeba(const std::vector<std::string>& files, CelebaPipeline pipeline, const ImageSink& sink) {
  for (const std::string& path : files) {
    const RgbImage out = celeba_preprocess(decode_image_file(path), pipeline, path);
    sink(out.pixels.data(), kNoLabel);
  }
  return static_cast<int64_t>(files.size());
}

}  // namespace repro::datasets

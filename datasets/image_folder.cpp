#include "datasets/image_folder.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "core/util/errors.h"
#include "datasets/center_crop.h"
#include "datasets/image_decode.h"

namespace repro::datasets {
namespace {

namespace fs = std::filesystem;

// The reference's list plus "webp" (LSUN ships webp).
bool has_image_extension(const std::string& entry) {
  const size_t dot = entry.rfind('.');
  if (dot == std::string::npos) return false;
  std::string ext = entry.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == "jpg" || ext == "jpeg" || ext == "png" || ext == "gif" || ext == "webp";
}

// os.path.join(a, b) for a relative entry name.
std::string join(const std::string& dir, const std::string& entry) {
  return (dir.empty() || dir.back() == '/') ? dir + entry : dir + "/" + entry;
}

std::vector<std::string> sorted_listdir(const std::string& dir) {
  std::error_code ec;
  std::vector<std::string> names;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    names.push_back(it->path().filename().string());
  if (ec) throw IoError("cannot list " + dir + ": " + ec.message());
  std::sort(names.begin(), names.end());  // char_traits<char> compares as unsigned bytes
  return names;
}

void list_into(const std::string& data_dir, std::vector<std::string>& results) {
  for (const std::string& entry : sorted_listdir(data_dir)) {
    const std::string full_path = join(data_dir, entry);
    std::error_code ec;
    if (has_image_extension(entry)) {
      results.push_back(full_path);
    } else if (fs::is_directory(full_path, ec)) {
      list_into(full_path, results);
    }
  }
}

}  // namespace

std::vector<std::string> list_image_files_recursively(const std::string& data_dir) {
  std::vector<std::string> results;
  list_into(data_dir, results);
  return results;
}

ImageFolder load_image_folder(const std::string& data_dir, int image_size) {
  if (image_size < 1) throw DataError("load_image_folder: image_size must be >= 1, got " + std::to_string(image_size));
  ImageFolder folder;
  folder.image_size = image_size;
  folder.paths = list_image_files_recursively(data_dir);
  if (folder.paths.empty())
    throw DataError(data_dir + ": no images (jpg, jpeg, png, gif, webp; searched recursively)");
  const size_t bytes_per_image = static_cast<size_t>(image_size) * image_size * 3;
  folder.images.resize(folder.paths.size() * bytes_per_image);
  for (size_t i = 0; i < folder.paths.size(); ++i) {
    const RgbImage arr = center_crop_arr(decode_image_file(folder.paths[i]), image_size);
    std::memcpy(folder.images.data() + i * bytes_per_image, arr.pixels.data(), bytes_per_image);
  }
  return folder;
}

}  // namespace repro::datasets

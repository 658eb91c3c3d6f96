#include "datasets/image_folder.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <set>
#include <system_error>
#include <utility>

#include "base/util/errors.h"
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
std::string path_join(const std::string& dir, const std::string& entry) {
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

// A directory as the file system knows it, whatever path (through whatever symlinks) reached it.
using DirId = std::pair<dev_t, ino_t>;

// os.path.isdir(path) (follows symlinks; any error is "no"), and the directory's identity.
bool is_directory(const std::string& path, DirId* id) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return false;
  *id = {st.st_dev, st.st_ino};
  return true;
}

// The reference's recursion, except that a directory already listed is never entered again: a
// symlink to an ancestor would otherwise repeat the tree until the path hits ELOOP (1 image became
// 41), and links between siblings can multiply it exponentially. Depth is bounded by PATH_MAX, as
// every descent lengthens the path listed.
void list_into(const std::string& data_dir, std::set<DirId>& visited, std::vector<std::string>& results) {
  for (const std::string& entry : sorted_listdir(data_dir)) {
    const std::string full_path = path_join(data_dir, entry);
    DirId id;
    if (has_image_extension(entry)) {
      results.push_back(full_path);
    } else if (is_directory(full_path, &id) && visited.insert(id).second) {
      list_into(full_path, visited, results);
    }
  }
}

}  // namespace

std::vector<std::string> list_image_files_recursively(const std::string& data_dir) {
  std::vector<std::string> results;
  std::set<DirId> visited;
  DirId root;
  if (is_directory(data_dir, &root)) visited.insert(root);
  list_into(data_dir, visited, results);
  return results;
}

ImageFolder load_image_folder(const std::string& data_dir, int image_size) {
  if (image_size < 1) throw DataError("load_image_folder: image_size must be >= 1, got " + std::to_string(image_size));
  ImageFolder folder;
  folder.image_size = image_size;
  folder.paths = list_image_files_recursively(data_dir);
  if (folder.paths.empty()) throw DataError(data_dir + ": no images (jpg, jpeg, png, gif, webp; searched recursively)");
  const size_t bytes_per_image = static_cast<size_t>(image_size) * image_size * 3;
  folder.images.resize(folder.paths.size() * bytes_per_image);
  for (size_t i = 0; i < folder.paths.size(); ++i) {
    const RgbImage arr = center_crop_arr(decode_image_file(folder.paths[i]), image_size);
    std::memcpy(folder.images.data() + i * bytes_per_image, arr.pixels.data(), bytes_per_image);
  }
  return folder;
}

}  // namespace repro::datasets

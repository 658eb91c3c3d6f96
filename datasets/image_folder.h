#pragma once
// An image folder read as guided-diffusion's image_datasets.py reads it: the file list of
// _list_image_files_recursively, each file opened with Pillow, convert("RGB"), center_crop_arr.
// The random flip and the scaling to [-1, 1] happen later, per batch, in the training loader.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace repro::datasets {

// _list_image_files_recursively(data_dir), plus "webp":
//   for entry in sorted(bf.listdir(data_dir)):
//       full_path = bf.join(data_dir, entry); ext = entry.split(".")[-1]
//       if "." in entry and ext.lower() in ["jpg", "jpeg", "png", "gif"]: results.append(full_path)
//       elif bf.isdir(full_path): results.extend(_list_image_files_recursively(full_path))
// So each directory's entries are sorted by name and a subdirectory's files come at the
// subdirectory's place among them (depth first). This is not sorted() of the full paths:
// "d/a/x.png" comes before "d/a-b.png" here ('a' < 'a-b.png') though "d/a-b.png" < "d/a/x.png".
// Names are compared byte-wise, which is Python's code-point order for UTF-8 names. Directories
// are followed through symlinks (os.path.isdir), but each directory (by device and inode) is
// entered once, at the first path that reaches it: the reference follows a symlink loop until the
// path fails with ELOOP (41 copies of the tree) and lists a directory linked twice twice; here a
// symlink to a directory already listed adds nothing. Hidden files count. A directory whose name
// has an image extension is listed as a file, as in the reference (and then fails to load).
// Throws IoError when a directory cannot be listed.
std::vector<std::string> list_image_files_recursively(const std::string& data_dir);

// Every image of a folder, preprocessed to image_size x image_size.
struct ImageFolder {
  int image_size = 0;
  std::vector<std::string> paths;  // [N], in listing order
  std::vector<uint8_t> images;     // [N, image_size, image_size, 3] uint8 RGB, row i from paths[i]

  size_t size() const { return paths.size(); }
  const uint8_t* image(size_t i) const { return images.data() + i * image_size * image_size * 3; }
};

// Lists `data_dir`, decodes every file (decode_image_file) and applies center_crop_arr.
// Throws DataError "<data_dir>: no images ..." when the folder holds no image files,
// DataError when image_size < 1, IoError naming the file when one cannot be decoded.
ImageFolder load_image_folder(const std::string& data_dir, int image_size);

}  // namespace repro::datasets

#include "datasets/packed_format.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "base/util/errors.h"
#include "base/util/limits.h"
#include "base/util/sha256.h"

namespace repro::datasets {

static_assert(sizeof(PackedHeader) == 64, "packed.bin header is 64 bytes");
static_assert(offsetof(PackedHeader, count) == 16 && offsetof(PackedHeader, file_bytes) == 56,
              "packed.bin header layout");
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "packed.bin is little-endian; this code stores structs as their bytes"
#endif

PackedHeader make_packed_header(uint64_t count, uint32_t height, uint32_t width, uint32_t channels, bool has_labels) {
  PackedHeader h{};
  std::memcpy(h.magic, "RPACKED", 8);
  h.format_version = kPackedFormatVersion;
  h.header_bytes = sizeof(PackedHeader);
  h.count = count;
  h.height = height;
  h.width = width;
  h.channels = channels;
  h.has_labels = has_labels ? 1 : 0;
  h.images_offset = sizeof(PackedHeader);
  // A header read from a file may claim any count: the sizes are checked, never wrapped.
  const std::string what = "packed.bin header (count " + std::to_string(count) + ", " + std::to_string(height) + "x" +
                           std::to_string(width) + "x" + std::to_string(channels) + ")";
  const uint64_t image_bytes = checked_product({count, height, width, channels}, what);
  const uint64_t images_end = checked_add(h.images_offset, image_bytes, what);
  h.labels_offset = has_labels ? checked_add(images_end, 7, what) / 8 * 8 : 0;
  h.file_bytes = has_labels ? checked_add(h.labels_offset, checked_mul(8, count, what), what) : images_end;
  return h;
}

PackedSource describe_source(const std::string& path) {
  PackedSource s;
  s.path = path;
  s.sha256 = sha256_file_hex(path);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw IoError("cannot read " + path + ": " + std::strerror(errno));
  s.bytes = static_cast<uint64_t>(st.st_size);
  return s;
}

nlohmann::json PackedManifest::to_json() const {
  nlohmann::json src = nlohmann::json::array();
  for (const PackedSource& s : sources) src.push_back({{"path", s.path}, {"sha256", s.sha256}, {"bytes", s.bytes}});
  return {{"format", "repro-packed"},
          {"format_version", format_version},
          {"data_file", kPackedDataFile},
          {"layout", "NHWC"},
          {"dtype", "uint8"},
          {"count", count},
          {"shape", shape},
          {"has_labels", has_labels},
          {"labels_dtype", "int64"},
          {"data_bytes", data_bytes},
          {"fingerprint", fingerprint},
          {"labels_sha256", labels_sha256},
          {"recipe", recipe},
          {"recipe_version", recipe_version},
          {"sources", src}};
}

PackedManifest PackedManifest::from_json(const nlohmann::json& j, const std::string& where) {
  const auto get = [&](const nlohmann::json& obj, const char* key, const std::string& path) -> const nlohmann::json& {
    if (!obj.is_object() || !obj.contains(key)) throw IoError(where + ": missing key '" + path + key + "'");
    return obj.at(key);
  };
  // nlohmann converts a float to an integer type with a plain cast (undefined past its range):
  // integer fields must be JSON integers.
  const auto integer = [&](const nlohmann::json& obj, const char* key) -> const nlohmann::json& {
    const nlohmann::json& v = get(obj, key, "");
    if (!v.is_number_integer()) throw IoError(where + ": '" + key + "' is not an integer");
    return v;
  };
  PackedManifest m;
  try {
    if (get(j, "format", "") != "repro-packed") throw IoError(where + ": 'format' is not \"repro-packed\"");
    m.format_version = integer(j, "format_version").get<uint32_t>();
    m.count = integer(j, "count").get<int64_t>();
    for (const nlohmann::json& d : get(j, "shape", "")) {
      if (!d.is_number_integer()) throw IoError(where + ": 'shape' holds a value that is not an integer");
      m.shape.push_back(d.get<int64_t>());
    }
    m.has_labels = get(j, "has_labels", "").get<bool>();
    m.data_bytes = integer(j, "data_bytes").get<uint64_t>();
    m.fingerprint = get(j, "fingerprint", "").get<std::string>();
    m.labels_sha256 = get(j, "labels_sha256", "").get<std::string>();
    m.recipe = get(j, "recipe", "");
    m.recipe_version = integer(j, "recipe_version").get<int>();
    for (const nlohmann::json& s : get(j, "sources", "")) {
      m.sources.push_back({get(s, "path", "sources[].").get<std::string>(),
                           get(s, "sha256", "sources[].").get<std::string>(), integer(s, "bytes").get<uint64_t>()});
    }
  } catch (const nlohmann::json::exception& e) {
    throw IoError(where + ": malformed manifest: " + e.what());
  }
  return m;
}

}  // namespace repro::datasets

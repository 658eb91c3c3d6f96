#pragma once
// The prepared-dataset format: a directory with
//   packed.bin     a 64-byte header, then the images uint8 [N, H, W, C] (NHWC, C = 3), then, when
//                  the source has labels, int64 little-endian labels [N] at an 8-aligned offset;
//                  made to be mmapped, so image i is one pointer with no parsing;
//   manifest.json  what the file holds and where it came from (PackedManifest below).
// The manifest is written last: a directory without it is an unfinished prepare, never data.
// All integers are little-endian (the only byte order this code builds for).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace repro::datasets {

inline constexpr char kPackedDataFile[] = "packed.bin";
inline constexpr char kPackedManifestFile[] = "manifest.json";
// Bumped when the header, the layout or the manifest's meaning changes; readers refuse others.
inline constexpr uint32_t kPackedFormatVersion = 1;

// packed.bin's first 64 bytes, stored as this struct's bytes (static_asserts in the .cpp).
struct PackedHeader {
  char magic[8];            // "RPACKED\0"
  uint32_t format_version;  // kPackedFormatVersion
  uint32_t header_bytes;    // 64
  uint64_t count;           // N
  uint32_t height;          // H
  uint32_t width;           // W
  uint32_t channels;        // C, 3 (RGB)
  uint32_t has_labels;      // 0 or 1
  uint64_t images_offset;   // 64: the header is the only thing before the images
  uint64_t labels_offset;   // images_offset + N*H*W*C rounded up to 8, or 0 without labels
  uint64_t file_bytes;      // the whole file's size, so truncation is seen without the manifest
};

// The header for a file of `count` images; labels_offset and file_bytes follow from the rest.
// Throws DataError when the sizes overflow 64 bits (a crafted header's count).
PackedHeader make_packed_header(uint64_t count, uint32_t height, uint32_t width, uint32_t channels, bool has_labels);

// One file the images were read from, so a later prepare can tell whether its input changed.
struct PackedSource {
  std::string path;    // as given to the reader
  std::string sha256;  // of the whole file (sha256_file_hex)
  uint64_t bytes = 0;  // its size
};

// Hashes `path` (constant memory). Throws IoError when it cannot be read.
PackedSource describe_source(const std::string& path);

// manifest.json. Keys are these field names.
struct PackedManifest {
  uint32_t format_version = kPackedFormatVersion;
  int64_t count = 0;                  // N
  std::vector<int64_t> shape;         // [N, H, W, C]
  bool has_labels = false;            // labels present in packed.bin
  uint64_t data_bytes = 0;            // size of packed.bin
  std::string fingerprint;            // SHA-256 of the N*H*W*C image bytes, in order
  std::string labels_sha256;          // SHA-256 of the 8*N label bytes ("" without labels)
  nlohmann::json recipe;              // how the images were made: dataset, split, pipeline...
  int recipe_version = 0;             // bumped by the preparer when its output would change
  std::vector<PackedSource> sources;  // every input file, in reading order

  nlohmann::json to_json() const;
  // Throws IoError "<where>: ..." naming the missing or mistyped key.
  static PackedManifest from_json(const nlohmann::json& j, const std::string& where);
};

}  // namespace repro::datasets

#pragma once
// A prepared dataset (packed_format.h) opened read-only with mmap: image i is a pointer into the
// page cache, so loaders share one copy of the data however many threads read it.
// open() checks everything that costs no pass over the data: manifest keys, header magic and
// version, header vs manifest (count, shape, labels, file size) vs the file's real size.
// verify_content() re-hashes the images (and labels) against the manifest: a full read.
// Thread-safe for concurrent reads once opened.
#include <cstddef>
#include <cstdint>
#include <string>

#include "datasets/packed_format.h"

namespace repro::datasets {

class PackedDataset {
 public:
  // Opens `dir`. Throws IoError naming the file and what disagrees: no manifest.json (an
  // unfinished or missing prepare), malformed manifest, bad magic or unsupported version, header
  // and manifest disagreeing, or packed.bin's size not the one the header and manifest state.
  static PackedDataset open(const std::string& dir);

  PackedDataset(PackedDataset&& other) noexcept;
  PackedDataset& operator=(PackedDataset&& other) noexcept;
  PackedDataset(const PackedDataset&) = delete;
  PackedDataset& operator=(const PackedDataset&) = delete;
  ~PackedDataset();

  int64_t size() const { return static_cast<int64_t>(header_.count); }
  int height() const { return static_cast<int>(header_.height); }
  int width() const { return static_cast<int>(header_.width); }
  int channels() const { return static_cast<int>(header_.channels); }
  size_t bytes_per_image() const { return static_cast<size_t>(header_.height) * header_.width * header_.channels; }
  bool has_labels() const { return header_.has_labels != 0; }
  const PackedManifest& manifest() const { return manifest_; }
  const std::string& dir() const { return dir_; }

  // Image i, [height, width, channels] uint8, valid while this object lives. 0 <= i < size().
  const uint8_t* image(int64_t i) const;
  // Label i; DataError when the dataset has no labels. 0 <= i < size().
  int64_t label(int64_t i) const;

  // Re-hashes the image bytes (and labels) and compares with the manifest. Throws IoError
  // "<packed.bin>: content fingerprint ... does not match manifest ..." on a mismatch.
  void verify_content() const;

 private:
  PackedDataset() = default;

  std::string dir_;
  std::string data_path_;
  PackedManifest manifest_;
  PackedHeader header_{};
  const uint8_t* map_ = nullptr;
  size_t map_bytes_ = 0;
};

}  // namespace repro::datasets

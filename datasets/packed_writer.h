#pragma once
// Writes a prepared dataset (packed_format.h) so that an interrupted prepare leaves nothing that
// looks complete and running it again simply starts over:
//   1. manifest.json is removed first (a directory without it is unfinished);
//   2. images stream into packed.bin.partial (a fixed name: a leftover from a killed prepare is
//      truncated and replaced, not accumulated), hashed as they go;
//   3. finish() writes the labels and the real header, fsyncs, renames to packed.bin, then writes
//      manifest.json atomically.
// One writer per directory: the partial file is flock()ed, a second writer gets IoError.
// Not thread-safe.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/util/sha256.h"
#include "datasets/image_sink.h"
#include "datasets/packed_format.h"

namespace repro::datasets {

class PackedWriter {
 public:
  // Starts writing images of height x width x 3 into `dir` (created when missing). Throws
  // DataError for a non-positive size, IoError when the directory or file cannot be written or
  // another writer holds it.
  PackedWriter(const std::string& dir, int height, int width, bool has_labels);
  // Without finish(), the partial file is removed, and the directory when this writer created it.
  ~PackedWriter();
  PackedWriter(const PackedWriter&) = delete;
  PackedWriter& operator=(const PackedWriter&) = delete;

  // Appends one image [height, width, 3]; `label` is stored only when has_labels. Throws IoError
  // when writing fails.
  void add(const uint8_t* image, int64_t label);
  // add() as an ImageSink for the source readers; this writer must outlive it.
  ImageSink sink();
  int64_t count() const { return count_; }

  // Completes the directory and returns what manifest.json holds. Throws DataError when no image
  // was added, IoError when writing fails (then nothing complete is left).
  PackedManifest finish(const nlohmann::json& recipe, int recipe_version, std::vector<PackedSource> sources);

 private:
  void flush();

  std::string dir_;
  std::string partial_path_;
  int fd_ = -1;
  int height_, width_;
  bool has_labels_;
  int64_t count_ = 0;
  uint64_t written_ = 0;         // bytes of packed.bin.partial written so far
  std::vector<uint8_t> buffer_;  // pending image bytes
  std::vector<int64_t> labels_;  // written after the images, at finish
  Sha256Stream fingerprint_;     // of the image bytes added so far
  bool finished_ = false;
  bool created_dir_ = false;  // dir_ was made by this writer (removed again if unfinished)
};

}  // namespace repro::datasets

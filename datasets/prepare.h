#pragma once
// `repro data prepare`: one of the paper's datasets (or any folder or npz) from its official
// files into the packed format (packed_format.h), preprocessed as the reference does. Running it
// again on a finished directory with the same recipe and sources does nothing; an interrupted
// one starts over (packed_writer.h).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "datasets/packed_format.h"

namespace repro::datasets {

struct PrepareOptions {
  // cifar10 | imagenet32 | lsun_tower | celeba | ffhq | fashion_mnist | folder | npz
  std::string dataset;
  // cifar10: cifar-10-binary.tar.gz; imagenet32: the folder of train_data_batch_*.npz / val_data.npz;
  // lsun_tower: tower_train_lmdb; celeba: img_align_celeba; ffhq: thumbnails128x128 or
  // images1024x1024; fashion_mnist: the IDX folder ("" = Debian's dataset-fashion-mnist);
  // folder: any image folder; npz: an .npz with arr_0 uint8 [N, H, W, 3 or 1].
  std::string source;
  std::string out;        // the prepared directory (packed.bin + manifest.json)
  int size = 0;           // image size; 0 = the dataset's own (required for folder)
  std::string split;      // train (default) | test | val | all (celeba: all = the 202,599 DDPM-IP used)
  std::string pipeline;   // celeba only: ddpm-ip (default, cv2 INTER_LINEAR 64x64) | ddim-crop
  bool skip_bad = false;  // folder-like sources: skip an undecodable image (listed) instead of failing
};

struct PrepareResult {
  PackedManifest manifest;
  bool up_to_date = false;            // nothing was written: the directory already held this recipe
  std::vector<std::string> warnings;  // e.g. fewer images than published
  std::vector<std::string> skipped;   // "file: why", with skip_bad
};

// Validates the options (ConfigError naming the option), reads the source (IoError/DataError
// naming the file and record), writes `out`. `progress(n)` is called with the count so far.
PrepareResult prepare_dataset(const PrepareOptions& options, const std::function<void(int64_t)>& progress = {});

// The names accepted as PrepareOptions::dataset.
const std::vector<std::string>& preparable_datasets();

}  // namespace repro::datasets

#pragma once
// Downsampled ImageNet 32x32 (Chrabaszcz et al. 2017) from its official npz files:
// train_data_batch_1..10.npz and val_data.npz, each with `data` uint8 [N, 3072] (rows
// channel-planar: R[0:1024], G[1024:2048], B[2048:3072]) and `labels` [N]; train batches also
// hold `mean`, unused. The reference (datasets/imagenet32_npz.py) does
//   np.dstack((x[:, :1024], x[:, 1024:2048], x[:, 2048:])).reshape((N, 32, 32, 3))
// per batch, batches in order, and ignores the labels (the model is unconditional).
// Labels are kept as the files give them: 1-based (1..1000) in the official files. They are
// int64 in the official npz (np.savez of a Python list); any integer dtype is accepted.
#include <cstdint>
#include <string>
#include <vector>

#include "datasets/image_sink.h"

namespace repro::datasets {

enum class Imagenet32Split { kTrain, kVal };

inline constexpr int kImagenet32Size = 32;
inline constexpr int64_t kImagenet32PublishedCount[2] = {1281167, 50000};  // train, val

// The official files of `split` in `dir`, in the reference's order.
std::vector<std::string> imagenet32_files(const std::string& dir, Imagenet32Split split);

// Streams one npz's images (HWC RGB) and labels (as stored; kNoLabel when the file has no
// `labels`) to `sink`; returns the count. Throws IoError naming the file for an unreadable or
// truncated npz, DataError naming file and array when `data` is missing, not uint8, or not
// [N, 3072] (64x64 rows, [N, 12288], are named as such), or `labels` is not an integer [N].
int64_t read_imagenet32_npz(const std::string& path, const ImageSink& sink);

// read_imagenet32_npz over imagenet32_files(dir, split); returns the total.
int64_t read_imagenet32(const std::string& dir, Imagenet32Split split, const ImageSink& sink);

}  // namespace repro::datasets

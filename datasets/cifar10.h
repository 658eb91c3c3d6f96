#pragma once
// CIFAR-10 from the official `cifar-10-binary.tar.gz`, read in place (libarchive), no extraction.
// The binary version's members cifar-10-batches-bin/data_batch_1..5.bin (train, 10,000 records
// each) and test_batch.bin (10,000): each record is 1 label byte (0..9) then 3072 bytes, the
// 32x32 image channel-planar (R, G, B planes, rows top to bottom). Images come out HWC RGB, the
// arrays torchvision's CIFAR10 gives the reference's datasets/cifar10.py (which unpickles the
// python version of the same data).
// Order: train is data_batch_1..5 in that order, records in file order, so image i here is the
// reference's cifar_train image i (its PNG names number them the same way).
#include <cstdint>
#include <string>
#include <vector>

#include "datasets/image_sink.h"

namespace repro::datasets {

enum class Cifar10Split { kTrain, kTest };

inline constexpr int kCifar10Size = 32;
inline constexpr int kCifar10RecordBytes = 1 + 3 * 32 * 32;
inline constexpr int64_t kCifar10PublishedCount[2] = {50000, 10000};  // train, test

// The member file names (no directory) a split reads, in order.
std::vector<std::string> cifar10_members(Cifar10Split split);

// Streams every image of `split` to `sink` with its label; returns the count. A member with fewer
// records than published (a subset, a test fixture) is read as it is; the caller compares the count
// with kCifar10PublishedCount. Directory prefixes of members are ignored (only the file name counts).
// Throws IoError "<archive>: <member>: ..." when the archive cannot be read, is not a tar, or is
// truncated; DataError "<archive>: <member>: ..." when a member is missing, the size its tar header
// declares is larger than an official batch (10,000 records) or not a whole number of 3073-byte
// records (naming the record that is cut short; 64x64 records are recognised), both checked before
// the member is read, or a label is not 0..9 (naming the record).
int64_t read_cifar10_archive(const std::string& archive_path, Cifar10Split split, const ImageSink& sink);

}  // namespace repro::datasets

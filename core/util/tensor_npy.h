#pragma once
// Conversions between NpyArray (torch-free .npy data) and torch::Tensor.
#include <torch/torch.h>

#include <string>

#include "base/util/npy.h"

namespace repro::core {

// A CPU tensor with the array's dtype and shape (copies the bytes).
// Throws DataError for dtypes LibTorch lacks (unsigned > 8 bits, complex).
torch::Tensor to_tensor(const NpyArray& array, const std::string& what = "npy array");

// The tensor (moved to CPU, made contiguous) as an array of the same dtype and shape.
NpyArray to_npy(const torch::Tensor& tensor);

// read_npy + to_tensor, with the file name in errors.
torch::Tensor read_npy_tensor(const std::string& path);

// Maps a LibTorch dtype to the dtype names of torch_pickle ("float32", ...) and back.
std::string dtype_name(torch::ScalarType t);
torch::ScalarType dtype_from_name(const std::string& name);

}  // namespace repro::core

#pragma once
// NumPy .npy / .npz files (format versions 1.0 to 3.0 on read, 1.0 on write), the interchange
// format with the Python reference (FID statistics, sample batches, golden tensors). Torch-free;
// data is kept as raw little-endian bytes and only converted by the as_* helpers.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace repro {

struct NpyArray {
  // numpy dtype string, little-endian or byte-order free: "<f4", "<f8", "<f2", "|u1", "|i1",
  // "<i2", "<i4", "<i8", "<u2", "<u4", "<u8", "|b1", "<c8", "<c16".
  std::string descr;
  std::vector<int64_t> shape;  // () for a 0-d array (one element)
  bool fortran_order = false;  // always false for arrays this module returns or writes
  std::string data;            // numel() * word_size() raw bytes, C order

  // Bytes per element from descr. Throws DataError for a descr this module does not support.
  size_t word_size() const;
  // Product of shape (1 for a 0-d array).
  int64_t numel() const;
};

// Parses a whole .npy file. `what` names the source (file name) in error messages.
// Throws IoError when the bytes are not a .npy file (bad magic, truncated or malformed header)
// and DataError when it is one this code cannot use: Fortran order, big-endian, object or
// structured dtype, or data length != numel * itemsize.
NpyArray parse_npy(const std::string& bytes, const std::string& what);
// As above, taking the bytes over: the data is moved into the array, not copied (a 10 GB
// reference batch is held once, not twice).
NpyArray parse_npy(std::string&& bytes, const std::string& what);

// The .npy bytes numpy's np.save would write for `array` (version 1.0, header padded to a
// multiple of 64 bytes including numpy's spare space for growing the first axis).
// Throws DataError when the array is inconsistent (see write_npy).
std::string serialize_npy(const NpyArray& array);

// read_file + parse_npy. Throws IoError "cannot read <path>: ..." when missing.
NpyArray read_npy(const std::string& path);

// Writes atomically (write_file_atomic). Throws DataError when descr is unsupported,
// fortran_order is set or data.size() != numel * word_size(); IoError when writing fails.
void write_npy(const std::string& path, const NpyArray& array);

// All arrays of an .npz (np.savez or np.savez_compressed), keyed without the ".npy" suffix.
// Throws IoError for an unreadable archive or an entry not ending in ".npy", plus the errors of
// parse_npy with "<path>:<entry>" as the name.
std::map<std::string, NpyArray> read_npz(const std::string& path);

// Writes an uncompressed .npz (entries "<key>.npy", in the given order) atomically.
// Throws DataError for duplicate or empty keys and for inconsistent arrays.
void write_npz(const std::string& path, const std::vector<std::pair<std::string, NpyArray>>& arrays);

// Builds an array from typed values. Throws DataError when values.size() != product(shape).
NpyArray make_npy_array(const std::vector<float>& values, const std::vector<int64_t>& shape);
NpyArray make_npy_array(const std::vector<double>& values, const std::vector<int64_t>& shape);
NpyArray make_npy_array(const std::vector<uint8_t>& values, const std::vector<int64_t>& shape);
NpyArray make_npy_array(const std::vector<int32_t>& values, const std::vector<int64_t>& shape);
NpyArray make_npy_array(const std::vector<int64_t>& values, const std::vector<int64_t>& shape);

// Element values converted to float (f2/f4/f8, signed and unsigned integers, bool; f8 and large
// integers are rounded). Throws DataError for other dtypes (complex). `what` names the array in
// messages.
std::vector<float> as_float32(const NpyArray& array, const std::string& what = "npy array");
// As as_float32 but to double (exact for every supported dtype except u8/i8 beyond 2^53).
std::vector<double> as_float64(const NpyArray& array, const std::string& what = "npy array");
// Element values as int64 from integer and bool dtypes, and from float dtypes when every value is
// integral and in range. Throws DataError otherwise (naming the first offending index).
std::vector<int64_t> as_int64(const NpyArray& array, const std::string& what = "npy array");

// "(2, 3)", "(5,)", "()": Python's repr of the shape tuple, used in headers and messages.
std::string shape_repr(const std::vector<int64_t>& shape);

}  // namespace repro

#pragma once
// Reads and writes the zip checkpoint format of Python's torch.save(state_dict) without LibTorch
// (LibTorch 1.13's unpickler cannot rebuild collections.OrderedDict). Torch-free: tensors are
// described by TensorRecord and their bytes stay in the raw storages; core/util/checkpoint turns
// them into torch::Tensor.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace repro {

// One tensor of a state dict, as torch._utils._rebuild_tensor_v2 describes it.
struct TensorRecord {
  std::string name;
  // "float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8",
  // "bool": the storage's element type.
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<int64_t> stride;  // in elements
  int64_t storage_offset = 0;   // in elements
  std::string storage_key;      // key into StateDictFile::storages (shared by views)
  bool requires_grad = false;   // true for an nn.Parameter saved as such
};

struct StateDictFile {
  std::string path;                               // source file, for messages
  std::vector<TensorRecord> tensors;              // in file (insertion) order
  std::map<std::string, std::string> storages;    // storage key -> raw little-endian bytes
  std::map<std::string, uint64_t> storage_bytes;  // storage key -> its size (filled by both readers)

  // The tensor's elements gathered into C-contiguous order (numel * element size bytes).
  // Throws DataError naming the file and tensor when the storage is missing (always after
  // read_state_dict_records), a stride is negative or the view reaches outside its storage.
  std::string contiguous_bytes(const TensorRecord& tensor) const;
  // The tensor called `name`, or nullptr.
  const TensorRecord* find(const std::string& name) const;
};

// Checks that `tensor`'s view (sizes, strides, storage offset) lies inside a storage of
// `storage_bytes` bytes with no arithmetic overflow and has no more elements than the storage
// (no expanded views); returns its element count. Throws DataError "<where>: shape ... stride ...
// offset ...: <what is wrong>". Every reader of tensor bytes goes through this.
uint64_t check_tensor_view(const TensorRecord& tensor, uint64_t storage_bytes, const std::string& where);

// Bytes per element of a dtype name above. Throws DataError for any other name.
size_t torch_dtype_size(const std::string& dtype);

// Reads a torch.save zip file whose top-level object is a dict (or OrderedDict) of
// name -> tensor/Parameter. Throws IoError when the file is missing, is not a zip, is in the
// legacy pre-1.6 format (the message says how to re-save it), has no or several
// "<prefix>/data.pkl" entries, or its pickle uses an opcode or global outside what torch.save
// emits for tensors (the message names it and the byte offset). Throws DataError when the
// top-level object is not such a dict: nested dicts (optimizer state, {"model": sd}) and
// non-tensor values are refused, not flattened.
StateDictFile read_state_dict_file(const std::string& path);

// As read_state_dict_file, with the same checks and errors (every view checked against its
// storage entry's size as the zip directory gives it), but without reading the storages' bytes:
// names, dtypes and shapes of a released checkpoint for a key check, in the time it takes to read
// data.pkl. `storages` stays empty.
StateDictFile read_state_dict_records(const std::string& path);

// One C-contiguous tensor to write.
struct TensorBlob {
  std::string name;
  std::string dtype;           // as TensorRecord::dtype
  std::vector<int64_t> shape;  // () for a 0-d tensor
  std::string data;            // numel * element size bytes, C order, little-endian
};

// Writes what torch.save(OrderedDict(name -> tensor)) writes for contiguous CPU tensors:
// "<archive_name>/data.pkl" (pickle protocol 2), "<archive_name>/data/<i>" (one storage per
// tensor) and "<archive_name>/version" ("3\n"), atomically (write_zip). torch.load returns an
// OrderedDict (without _metadata) that nn.Module.load_state_dict accepts.
// Throws DataError for an unknown dtype, a data size that does not match the shape, or empty or
// duplicate names; IoError when writing fails. archive_name must be non-empty without '/'.
void write_state_dict_file(const std::string& path, const std::vector<TensorBlob>& tensors,
                           const std::string& archive_name = "archive");

}  // namespace repro

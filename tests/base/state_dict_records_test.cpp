// read_state_dict_records: a torch.save file's names, dtypes and shapes without its storages'
// bytes, checked against what Python's torch wrote and against write_state_dict_file.
#include <gtest/gtest.h>

#include <sstream>

#include "base/util/errors.h"
#include "base/util/file_io.h"
#include "base/util/torch_pickle.h"
#include "base/util/zip_archive.h"
#include "tests/support/test_support.h"

namespace repro {
namespace {

using test::error_message;
using test::run_python;
using test::TempDir;

struct PyRecord {
  std::string name, dtype;
  std::vector<int64_t> shape;
  uint64_t storage_bytes = 0;
};

// Lines "name dtype storage_bytes dim0 dim1 ..." as Python wrote them.
std::vector<PyRecord> read_py_records(const std::string& path) {
  std::vector<PyRecord> out;
  std::istringstream in(read_file(path));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    PyRecord r;
    fields >> r.name >> r.dtype >> r.storage_bytes;
    for (int64_t d; fields >> d;) r.shape.push_back(d);
    out.push_back(r);
  }
  return out;
}

// A module's state dict plus a view sharing a storage; `corrupt.pt` is the same file with one
// byte of the GroupNorm weight's storage flipped, so that reading that entry fails its CRC.
const char* kMakeCheckpoints = R"(
import torch, zipfile
torch.manual_seed(0)
sd = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.GroupNorm(2, 8), torch.nn.Linear(8, 4)).state_dict()
base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
sd['slice'] = base[1:, 2:5]
sd['half'] = torch.ones(5, dtype=torch.float16)
sd['scalar'] = torch.tensor(2.75, dtype=torch.float64)
torch.save(sd, 'sd.pt')
with open('records.txt', 'w') as f:
    for k, v in sd.items():
        nbytes = v.untyped_storage().nbytes() if hasattr(v, 'untyped_storage') else v.storage().nbytes()
        f.write(' '.join([k, str(v.dtype).replace('torch.', ''), str(nbytes)] + [str(d) for d in v.shape]) + '\n')
z = zipfile.ZipFile('sd.pt')
data = bytearray(open('sd.pt', 'rb').read())
names = [i for i in z.infolist() if '/data/' in i.filename]
target = None
for info in names:
    if z.read(info.filename) == sd['1.weight'].numpy().tobytes():
        target = info
assert target is not None and target.compress_type == zipfile.ZIP_STORED
header = target.header_offset
name_len = int.from_bytes(data[header + 26:header + 28], 'little')
extra_len = int.from_bytes(data[header + 28:header + 30], 'little')
data[header + 30 + name_len + extra_len] ^= 0x5a
open('corrupt.pt', 'wb').write(bytes(data))
)";

TEST(StateDictRecords, TorchSaveFileNamesDtypesShapesAsPythonSees) {
  TempDir dir;
  ASSERT_EQ(run_python(kMakeCheckpoints, dir.path()), 0);
  const StateDictFile file = read_state_dict_records(dir.file("sd.pt"));
  const std::vector<PyRecord> refs = read_py_records(dir.file("records.txt"));
  ASSERT_EQ(refs.size(), 9u);
  ASSERT_EQ(file.tensors.size(), refs.size());
  for (size_t i = 0; i < refs.size(); ++i) {
    const TensorRecord& t = file.tensors[i];
    SCOPED_TRACE(refs[i].name);
    EXPECT_EQ(t.name, refs[i].name);
    EXPECT_EQ(t.dtype, refs[i].dtype);
    EXPECT_EQ(t.shape, refs[i].shape);
    EXPECT_EQ(file.storage_bytes.at(t.storage_key), refs[i].storage_bytes);
  }
  EXPECT_TRUE(file.storages.empty());
  EXPECT_THROW(file.contiguous_bytes(file.tensors[0]), DataError);  // no bytes to gather
  // The full read agrees record by record.
  const StateDictFile full = read_state_dict_file(dir.file("sd.pt"));
  ASSERT_EQ(full.tensors.size(), file.tensors.size());
  for (size_t i = 0; i < full.tensors.size(); ++i) {
    EXPECT_EQ(full.tensors[i].stride, file.tensors[i].stride) << full.tensors[i].name;
    EXPECT_EQ(full.tensors[i].storage_offset, file.tensors[i].storage_offset) << full.tensors[i].name;
  }
  EXPECT_EQ(full.storage_bytes, file.storage_bytes);
}

TEST(StateDictRecords, DoesNotReadTheStorages) {
  // A flipped storage byte fails the full read's CRC check; the records never touch it.
  TempDir dir;
  ASSERT_EQ(run_python(kMakeCheckpoints, dir.path()), 0);
  EXPECT_THROW(read_state_dict_file(dir.file("corrupt.pt")), IoError);
  const StateDictFile file = read_state_dict_records(dir.file("corrupt.pt"));
  ASSERT_NE(file.find("1.weight"), nullptr);
  EXPECT_EQ(file.find("1.weight")->shape, (std::vector<int64_t>{8}));
}

TEST(StateDictRecords, WrittenFileRecordsAreTheBlobs) {
  TempDir dir;
  const std::string path = dir.file("w.pt");
  const std::vector<TensorBlob> blobs = {
      {"conv.weight", "float32", {4, 3, 3, 3}, std::string(size_t{4} * 27 * 4, '\1')},
      {"conv.bias", "float32", {4}, std::string(16, '\2')},
      {"steps", "int64", {}, std::string(8, '\3')},
      {"mask", "bool", {2, 0}, ""}};
  write_state_dict_file(path, blobs);
  const StateDictFile file = read_state_dict_records(path);
  ASSERT_EQ(file.tensors.size(), blobs.size());
  for (size_t i = 0; i < blobs.size(); ++i) {
    EXPECT_EQ(file.tensors[i].name, blobs[i].name);
    EXPECT_EQ(file.tensors[i].dtype, blobs[i].dtype);
    EXPECT_EQ(file.tensors[i].shape, blobs[i].shape);
    EXPECT_EQ(file.storage_bytes.at(file.tensors[i].storage_key), blobs[i].data.size()) << blobs[i].name;
  }
}

TEST(StateDictRecords, ViewsAreCheckedAgainstTheEntrySize) {
  // The storage entry of "b" cut to 3 of its 4 floats: the view [4] reaches past it.
  TempDir dir;
  const std::string path = dir.file("w.pt");
  write_state_dict_file(path,
                        {{"a", "float32", {2}, std::string(8, '\0')}, {"b", "float32", {4}, std::string(16, '\0')}});
  std::vector<std::pair<std::string, std::string>> entries;
  {
    const ZipReader zip(path);
    for (const std::string& name : zip.names())
      entries.emplace_back(name, name == "archive/data/1" ? std::string(12, '\0') : zip.read(name));
  }
  write_zip(path, entries);
  const std::string msg = error_message([&] { read_state_dict_records(path); });
  EXPECT_NE(msg.find("tensor 'b'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("3 float32 elements"), std::string::npos) << msg;
  EXPECT_THROW(read_state_dict_records(path), DataError);
  EXPECT_THROW(read_state_dict_records(dir.file("absent.pt")), IoError);
  EXPECT_EQ(ZipReader(path).entry_size("archive/data/1"), 12u);
  EXPECT_THROW(ZipReader(path).entry_size("archive/data/9"), IoError);
}

}  // namespace
}  // namespace repro

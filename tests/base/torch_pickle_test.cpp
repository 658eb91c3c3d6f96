// Reading torch.save checkpoints and writing ones torch.load accepts, checked against Python torch.
#include "base/util/torch_pickle.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <sstream>

#include "base/util/errors.h"
#include "base/util/file_io.h"
#include "base/util/npy.h"
#include "base/util/zip_archive.h"
#include "tests/support/test_support.h"

namespace repro {
namespace {

using test::run_python;
using test::TempDir;

using test::error_message;

// A real module state dict plus extra dtypes and views. For every entry Python also writes
// ref_<name>.npy with tensor.contiguous() (bfloat16 as its raw uint16 bits) and a names.txt with
// "name dtype requires_grad" lines in state-dict order.
const char* kMakeCheckpoint = R"(
import collections, numpy as np, torch
torch.manual_seed(0)
def make_model():
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.GroupNorm(2, 8), torch.nn.Linear(8, 4))
model = make_model()
sd = model.state_dict()
base = torch.arange(24, dtype=torch.float32).reshape(4, 6) * 0.5 - 3
sd['transposed'] = base.t()                       # non-contiguous, shares base's storage
sd['slice'] = base[1:, 2:5]                       # storage_offset > 0, non-contiguous rows
sd['double'] = torch.randn(3, 2, dtype=torch.float64)
sd['long'] = torch.tensor([-(2**40), 0, 2**62], dtype=torch.int64)
sd['half'] = torch.tensor([[1.5, -2.0], [65504.0, 0.1]], dtype=torch.float16)
sd['bf16'] = torch.tensor([1.0, -3.5, 1e30], dtype=torch.bfloat16)
sd['int32'] = torch.tensor([7, -8], dtype=torch.int32)
sd['uint8'] = torch.arange(250, 256, dtype=torch.uint8)
sd['bool'] = torch.tensor([True, False, True])
sd['scalar'] = torch.tensor(2.75)
sd['empty'] = torch.zeros(0, 5)
sd['param'] = torch.nn.Parameter(torch.ones(2, 2) * 4)
assert not sd['transposed'].is_contiguous() and sd['slice'].storage_offset() > 0
def write_refs(sd):
    with open('names.txt', 'w') as f:
        for k, v in sd.items():
            f.write(f"{k} {str(v.dtype).replace('torch.', '')} {int(v.requires_grad)}\n")
            c = v.detach().contiguous()
            a = c.view(torch.int16).numpy() if c.dtype == torch.bfloat16 else c.numpy()
            np.save(f'ref_{k}.npy', a)
)";

struct RefEntry {
  std::string name, dtype;
  bool requires_grad;
};

std::vector<RefEntry> read_names(const std::string& path) {
  std::vector<RefEntry> out;
  std::istringstream in(read_file(path));
  RefEntry e;
  int rg;
  while (in >> e.name >> e.dtype >> rg) {
    e.requires_grad = rg != 0;
    out.push_back(e);
  }
  return out;
}

void expect_matches_refs(const StateDictFile& file, const TempDir& dir) {
  auto refs = read_names(dir.file("names.txt"));
  ASSERT_EQ(refs.size(), 18u);
  ASSERT_EQ(file.tensors.size(), refs.size());
  for (size_t i = 0; i < refs.size(); ++i) {
    const TensorRecord& t = file.tensors[i];
    SCOPED_TRACE(refs[i].name);
    EXPECT_EQ(t.name, refs[i].name);
    EXPECT_EQ(t.dtype, refs[i].dtype);
    EXPECT_EQ(t.requires_grad, refs[i].requires_grad);
    NpyArray ref = read_npy(dir.file("ref_" + t.name + ".npy"));
    EXPECT_EQ(t.shape, ref.shape);
    EXPECT_EQ(file.contiguous_bytes(t), ref.data);
  }
}

TEST(TorchPickle, ReadsTorchSaveOfModuleStateDict) {
  TempDir dir;
  ASSERT_EQ(run_python(std::string(kMakeCheckpoint) + R"(
torch.save(sd, 'sd.pt')
write_refs(sd)
)",
                       dir.path()),
            0);
  StateDictFile file = read_state_dict_file(dir.file("sd.pt"));
  expect_matches_refs(file, dir);
  EXPECT_EQ(file.path, dir.file("sd.pt"));
  // The views keep their layout: they share the base storage.
  const TensorRecord* tr = file.find("transposed");
  const TensorRecord* sl = file.find("slice");
  ASSERT_TRUE(tr && sl);
  EXPECT_EQ(tr->stride, (std::vector<int64_t>{1, 6}));
  EXPECT_EQ(sl->storage_offset, 8);
  EXPECT_EQ(tr->storage_key, sl->storage_key);
  EXPECT_EQ(file.find("nope"), nullptr);
}

TEST(TorchPickle, ReadsProtocol4AndPlainDict) {
  TempDir dir;
  ASSERT_EQ(run_python(std::string(kMakeCheckpoint) + R"(
import pickletools, zipfile
torch.save(sd, 'sd4.pt', pickle_protocol=4)
ops = {op.name for op, _, _ in pickletools.genops(zipfile.ZipFile('sd4.pt').read('sd4/data.pkl'))}
assert {'FRAME', 'STACK_GLOBAL', 'MEMOIZE', 'SHORT_BINUNICODE'} <= ops, ops
torch.save(dict(sd), 'plain.pt')
write_refs(sd)
)",
                       dir.path()),
            0);
  expect_matches_refs(read_state_dict_file(dir.file("sd4.pt")), dir);
  expect_matches_refs(read_state_dict_file(dir.file("plain.pt")), dir);
}

TEST(TorchPickle, TorchLoadsWhatWeWriteIntoTheModule) {
  TempDir dir;
  ASSERT_EQ(run_python(std::string(kMakeCheckpoint) + R"(
torch.save(sd, 'sd.pt')
)",
                       dir.path()),
            0);
  // Re-write every tensor of Python's checkpoint (views made contiguous) with our writer.
  StateDictFile in = read_state_dict_file(dir.file("sd.pt"));
  std::vector<TensorBlob> blobs;
  for (const TensorRecord& t : in.tensors) blobs.push_back({t.name, t.dtype, t.shape, in.contiguous_bytes(t)});
  blobs.push_back({"big_long", "int64", {2}, std::string()});
  int64_t big[2] = {-(int64_t{1} << 62) - 5, int64_t{1} << 40};
  blobs.back().data.assign(reinterpret_cast<const char*>(big), sizeof(big));
  const std::string out = dir.file("ours.pt");
  write_state_dict_file(out, blobs);

  EXPECT_EQ(run_python(std::string(kMakeCheckpoint) + R"(
import zipfile
ours = torch.load('ours.pt')
assert type(ours) is collections.OrderedDict, type(ours)
assert list(ours.keys()) == list(sd.keys()) + ['big_long'], list(ours.keys())
for k, v in sd.items():
    o = ours[k]
    assert o.dtype == v.dtype and o.shape == v.shape, (k, o.dtype, v.dtype, o.shape, v.shape)
    assert o.is_contiguous() and not o.requires_grad, k
    assert torch.equal(o, v.detach()), (k, o, v)
assert ours['big_long'].tolist() == [-(2**62) - 5, 2**40]
fresh = make_model()
missing, unexpected = fresh.load_state_dict({k: ours[k] for k in model.state_dict()}, strict=True)
for k, v in model.state_dict().items():
    assert torch.equal(fresh.state_dict()[k], v), k
x = torch.randn(1, 3, 5, 5)
assert torch.equal(fresh[0](x), model[0](x))
# Layout torch's own reader relies on: data.pkl first, version last.
names = zipfile.ZipFile('ours.pt').namelist()
assert names[0] == 'archive/data.pkl' and names[-1] == 'archive/version', names
assert zipfile.ZipFile('ours.pt').read('archive/version') == b'3\n'
)",
                       dir.path()),
            0);

  // And our reader reads it back.
  StateDictFile back = read_state_dict_file(out);
  ASSERT_EQ(back.tensors.size(), blobs.size());
  for (size_t i = 0; i < blobs.size(); ++i) {
    EXPECT_EQ(back.tensors[i].name, blobs[i].name);
    EXPECT_EQ(back.tensors[i].dtype, blobs[i].dtype);
    EXPECT_EQ(back.tensors[i].shape, blobs[i].shape);
    EXPECT_EQ(back.contiguous_bytes(back.tensors[i]), blobs[i].data);
  }
}

TEST(TorchPickle, WritesModuleLoadableCheckpointFromScratch) {
  TempDir dir;
  // Values C++ makes up; Python rebuilds the same formula and compares.
  std::vector<TensorBlob> blobs;
  auto add_f32 = [&](const std::string& name, std::vector<int64_t> shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::vector<float> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i % 7) * 0.125f - 0.25f;
    blobs.push_back({name, "float32", shape, std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4)});
  };
  add_f32("0.weight", {8, 3, 3, 3});
  add_f32("0.bias", {8});
  add_f32("1.weight", {8});
  add_f32("1.bias", {8});
  add_f32("2.weight", {4, 8});
  add_f32("2.bias", {4});
  write_state_dict_file(dir.file("scratch.pt"), blobs, "scratch");
  EXPECT_EQ(run_python(R"(
import torch
m = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.GroupNorm(2, 8), torch.nn.Linear(8, 4))
sd = torch.load('scratch.pt')
m.load_state_dict(sd, strict=True)
for k, v in m.state_dict().items():
    ref = (torch.arange(v.numel()) % 7).float().mul(0.125).sub(0.25).reshape(v.shape)
    assert torch.equal(v, ref), k
)",
                       dir.path()),
            0);
}

TEST(TorchPickle, RefusesLegacyFormatWithHowTo) {
  TempDir dir;
  ASSERT_EQ(run_python(R"(
import torch
torch.save({'w': torch.ones(2)}, 'legacy.pt', _use_new_zipfile_serialization=False)
assert open('legacy.pt', 'rb').read(1) == b'\x80'
)",
                       dir.path()),
            0);
  const std::string path = dir.file("legacy.pt");
  std::string msg = error_message([&] { read_state_dict_file(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("legacy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("torch.save(torch.load("), std::string::npos) << msg;
  EXPECT_THROW(read_state_dict_file(path), IoError);
}

TEST(TorchPickle, RefusesUnknownGlobalsNamingThem) {
  TempDir dir;
  ASSERT_EQ(run_python(R"(
import torch, datetime
torch.save({'w': torch.ones(2), 'when': datetime.date(2020, 1, 2)}, 'global.pt')
)",
                       dir.path()),
            0);
  const std::string path = dir.file("global.pt");
  std::string msg = error_message([&] { read_state_dict_file(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("datetime.date"), std::string::npos) << msg;
  EXPECT_NE(msg.find("at byte"), std::string::npos) << msg;
  EXPECT_THROW(read_state_dict_file(path), IoError);
}

TEST(TorchPickle, RefusesNestedAndNonTensorEntries) {
  TempDir dir;
  ASSERT_EQ(run_python(R"(
import torch
m = torch.nn.Linear(2, 2)
torch.save({'model': m.state_dict(), 'step': 3}, 'nested.pt')
torch.save({'w': torch.ones(1), 'step': 3}, 'int.pt')
torch.save(torch.ones(3), 'tensor.pt')
)",
                       dir.path()),
            0);
  for (const char* file : {"nested.pt", "int.pt", "tensor.pt"}) {
    const std::string path = dir.file(file);
    std::string msg = error_message([&] { read_state_dict_file(path); });
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_THROW(read_state_dict_file(path), DataError) << file;
  }
  std::string msg = error_message([&] { read_state_dict_file(dir.file("nested.pt")); });
  EXPECT_NE(msg.find("'model' is a dict"), std::string::npos) << msg;
}

TEST(TorchPickle, MissingAndNonCheckpointFiles) {
  TempDir dir;
  const std::string missing = dir.file("missing.pt");
  std::string msg = error_message([&] { read_state_dict_file(missing); });
  EXPECT_NE(msg.find(missing), std::string::npos) << msg;
  EXPECT_THROW(read_state_dict_file(missing), IoError);

  const std::string text = dir.file("text.pt");
  write_file_atomic(text, "hello");
  EXPECT_THROW(read_state_dict_file(text), IoError);
  const std::string zip = dir.file("plain.zip");
  write_zip(zip, {{"a.txt", "x"}});
  msg = error_message([&] { read_state_dict_file(zip); });
  EXPECT_NE(msg.find("data.pkl"), std::string::npos) << msg;
  EXPECT_THROW(read_state_dict_file(zip), IoError);
}

TEST(TorchPickle, TruncatedOrCorruptPickleIsAnIoErrorNotACrash) {
  TempDir dir;
  ASSERT_EQ(run_python(R"(
import torch
torch.save(torch.nn.Linear(3, 2).state_dict(), 'small.pt')
)",
                       dir.path()),
            0);
  ZipReader zip(dir.file("small.pt"));
  const std::string pickle = zip.read("small/data.pkl");
  std::vector<std::pair<std::string, std::string>> entries;
  for (const std::string& name : zip.names()) entries.emplace_back(name, zip.read(name));
  ASSERT_EQ(entries[0].first, "small/data.pkl");
  const std::string path = dir.file("cut.pt");
  for (size_t len = 0; len < pickle.size(); len += 7) {
    entries[0].second = pickle.substr(0, len);
    write_zip(path, entries);
    EXPECT_THROW(read_state_dict_file(path), IoError) << "prefix of " << len << " bytes";
  }
  // Flipped bytes: any repro error is fine, a crash or another exception type is not.
  for (size_t at = 0; at < pickle.size(); at += 5) {
    entries[0].second = pickle;
    entries[0].second[at] = static_cast<char>(entries[0].second[at] ^ 0x5a);
    write_zip(path, entries);
    try {
      read_state_dict_file(path);
    } catch (const Error&) {
    }
  }
}

TEST(TorchPickle, ContiguousBytesChecksBounds) {
  StateDictFile f;
  f.path = "mem.pt";
  f.storages["0"] = std::string(6 * 4, '\0');
  TensorRecord t{"w", "float32", {2, 3}, {3, 1}, 0, "0", false};
  EXPECT_EQ(f.contiguous_bytes(t).size(), 24u);
  t.storage_offset = 1;
  std::string msg = error_message([&] { f.contiguous_bytes(t); });
  EXPECT_NE(msg.find("mem.pt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'w'"), std::string::npos) << msg;
  EXPECT_THROW(f.contiguous_bytes(t), DataError);
  t.storage_offset = 0;
  t.stride = {1, 2};  // reaches element 1 + 2*2 = 5: in bounds, transposed-like gather
  std::string bytes;
  f.storages["0"].clear();
  for (int i = 0; i < 6; ++i) {
    float v = static_cast<float>(i);
    f.storages["0"].append(reinterpret_cast<const char*>(&v), 4);
  }
  bytes = f.contiguous_bytes(t);
  float got[6];
  std::memcpy(got, bytes.data(), 24);
  EXPECT_EQ(std::vector<float>(got, got + 6), (std::vector<float>{0, 2, 4, 1, 3, 5}));
  t.storage_key = "missing";
  EXPECT_THROW(f.contiguous_bytes(t), DataError);
}

TEST(TorchPickle, WriterRejectsBadInput) {
  TempDir dir;
  const std::string path = dir.file("bad.pt");
  EXPECT_THROW(write_state_dict_file(path, {{"w", "float32", {2}, std::string(7, '\0')}}), DataError);
  EXPECT_THROW(write_state_dict_file(path, {{"w", "complex64", {1}, std::string(8, '\0')}}), DataError);
  EXPECT_THROW(write_state_dict_file(path, {{"w", "int8", {1}, "a"}, {"w", "int8", {1}, "b"}}), DataError);
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace repro

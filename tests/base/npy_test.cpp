// .npy / .npz reading and writing, checked against numpy (np.save, np.savez, np.load).
#include "base/util/npy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "base/util/errors.h"
#include "base/util/file_io.h"
#include "tests/support/test_support.h"

namespace repro {
namespace {

using test::run_python;
using test::TempDir;

using test::error_message;

// What Python says about one saved array: "name descr ndim d0 d1 .. n v0 v1 ..", values as
// float64 repr.
struct Expected {
  std::string descr;
  std::vector<int64_t> shape;
  std::vector<double> values;
};

std::map<std::string, Expected> read_manifest(const std::string& path) {
  std::map<std::string, Expected> out;
  std::istringstream in(read_file(path));
  std::string name;
  while (in >> name) {
    Expected e;
    size_t ndim, n;
    in >> e.descr >> ndim;
    e.shape.resize(ndim);
    for (auto& d : e.shape) in >> d;
    in >> n;
    e.values.resize(n);
    for (auto& v : e.values) {
      std::string tok;
      in >> tok;
      v = std::stod(tok);  // handles inf / nan spelled by Python
    }
    out[name] = e;
  }
  return out;
}

// Arrays of several dtypes and shapes (0-d, 1-d, empty, 3-d) plus a manifest of their values.
const char* kMakeArrays = R"(
import numpy as np
arrays = {
    'f4_2x3': (np.arange(6, dtype=np.float32).reshape(2, 3) * 0.25 - 0.5),
    'f8_5': np.array([1e-300, -2.5, np.pi, 1e300, -0.0]),
    'f2_4': np.array([1.0, -2.5, 65504.0, 0.000061035], dtype=np.float16),
    'u1_2x2x3': (np.arange(12, dtype=np.uint8) * 21).reshape(2, 2, 3),
    'i8_0d': np.array(-(2**40) - 3, dtype=np.int64),
    'i4_3': np.array([-7, 0, 2**31 - 1], dtype=np.int32),
    'b1_4': np.array([True, False, False, True]),
    'f4_0x3': np.zeros((0, 3), dtype=np.float32),
    'i8_1': np.array([42], dtype=np.int64),
    'f4_big': np.linspace(-1, 1, 12345 * 2, dtype=np.float32).reshape(12345, 2),
}
def manifest(arrays, path):
    with open(path, 'w') as f:
        for name, a in arrays.items():
            vals = ' '.join(repr(float(v)) for v in a.reshape(-1))
            f.write(f"{name} {a.dtype.str} {a.ndim} {' '.join(map(str, a.shape))} {a.size} {vals}\n")
)";

void expect_matches(const NpyArray& a, const Expected& e, const std::string& name) {
  SCOPED_TRACE(name);
  EXPECT_EQ(a.descr, e.descr);
  EXPECT_EQ(a.shape, e.shape);
  EXPECT_FALSE(a.fortran_order);
  ASSERT_EQ(a.numel(), static_cast<int64_t>(e.values.size()));
  std::vector<double> got = as_float64(a, name);
  ASSERT_EQ(got.size(), e.values.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], e.values[i]) << "element " << i;
  std::vector<float> got32 = as_float32(a, name);
  for (size_t i = 0; i < got32.size(); ++i) EXPECT_EQ(got32[i], static_cast<float>(e.values[i])) << "element " << i;
}

TEST(Npy, ReadsWhatNumpySavesAndSerializesTheSameBytes) {
  TempDir dir;
  ASSERT_EQ(run_python(std::string(kMakeArrays) + R"(
for name, a in arrays.items():
    np.save(name + '.npy', a)
manifest(arrays, 'manifest.txt')
)",
                       dir.path()),
            0);
  auto expected = read_manifest(dir.file("manifest.txt"));
  ASSERT_EQ(expected.size(), 10u);
  for (const auto& [name, e] : expected) {
    const std::string path = dir.file(name + ".npy");
    NpyArray a = read_npy(path);
    expect_matches(a, e, name);
    // np.save's exact bytes, header padding included.
    EXPECT_EQ(serialize_npy(a), read_file(path)) << name;
  }
}

TEST(Npy, ReadsFormatVersions2And3) {
  TempDir dir;
  ASSERT_EQ(run_python(std::string(kMakeArrays) + R"(
from numpy.lib import format
for name, a in arrays.items():
    for v in [(2, 0), (3, 0)]:
        with open(f'{name}_v{v[0]}.npy', 'wb') as f:
            format.write_array(f, a, version=v)
assert open('f4_2x3_v2.npy', 'rb').read(8) == b'\x93NUMPY\x02\x00'
manifest(arrays, 'manifest.txt')
)",
                       dir.path()),
            0);
  for (const auto& [name, e] : read_manifest(dir.file("manifest.txt"))) {
    expect_matches(read_npy(dir.file(name + "_v2.npy")), e, name + "_v2");
    expect_matches(read_npy(dir.file(name + "_v3.npy")), e, name + "_v3");
  }
}

TEST(Npy, ReadsSavezAndSavezCompressed) {
  TempDir dir;
  ASSERT_EQ(run_python(std::string(kMakeArrays) + R"(
np.savez('plain.npz', **arrays)
np.savez_compressed('compressed.npz', **arrays)
np.savez('positional.npz', arrays['f4_2x3'], arrays['i8_0d'])
manifest(arrays, 'manifest.txt')
)",
                       dir.path()),
            0);
  auto expected = read_manifest(dir.file("manifest.txt"));
  for (const char* file : {"plain.npz", "compressed.npz"}) {
    auto arrays = read_npz(dir.file(file));
    ASSERT_EQ(arrays.size(), expected.size()) << file;
    for (const auto& [name, e] : expected) {
      ASSERT_TRUE(arrays.count(name)) << file << " lacks " << name;
      expect_matches(arrays.at(name), e, std::string(file) + ":" + name);
    }
  }
  auto positional = read_npz(dir.file("positional.npz"));
  ASSERT_EQ(positional.size(), 2u);
  expect_matches(positional.at("arr_0"), expected.at("f4_2x3"), "arr_0");
  expect_matches(positional.at("arr_1"), expected.at("i8_0d"), "arr_1");
}

TEST(Npy, NumpyLoadsWhatWeWrite) {
  TempDir dir;
  write_npy(dir.file("f4.npy"), make_npy_array(std::vector<float>{0.5f, -1.25f, 3.0f, 1e-8f, -0.0f, 7.0f}, {2, 3}));
  write_npy(dir.file("f8.npy"), make_npy_array(std::vector<double>{M_PI, -1e300, 2.0, 0.1, 5.0}, {5}));
  write_npy(dir.file("i8_0d.npy"), make_npy_array(std::vector<int64_t>{-(int64_t{1} << 50)}, {}));
  write_npy(dir.file("u1_empty.npy"), make_npy_array(std::vector<uint8_t>{}, {0}));
  write_npy(dir.file("i4.npy"), make_npy_array(std::vector<int32_t>{-3, 2147483647}, {1, 1, 2}));
  NpyArray b1;
  b1.descr = "|b1";
  b1.shape = {3};
  b1.data = std::string("\x01\x00\x01", 3);
  write_npy(dir.file("b1.npy"), b1);
  std::vector<uint8_t> image(4 * 5 * 3);
  for (size_t i = 0; i < image.size(); ++i) image[i] = static_cast<uint8_t>(i * 5);
  write_npz(dir.file("out.npz"),
            {{"zeta", make_npy_array(image, {4, 5, 3})}, {"alpha", make_npy_array(std::vector<double>{1.5}, {})}});
  EXPECT_EQ(run_python(R"(
import numpy as np, zipfile
def check(a, dtype, shape, values):
    assert a.dtype == np.dtype(dtype), (a.dtype, dtype)
    assert a.shape == shape, (a.shape, shape)
    assert a.flags.c_contiguous
    assert np.array_equal(a, np.array(values, dtype=dtype).reshape(shape)), (a, values)
check(np.load('f4.npy'), np.float32, (2, 3), [0.5, -1.25, 3.0, 1e-8, -0.0, 7.0])
check(np.load('f8.npy'), np.float64, (5,), [np.pi, -1e300, 2.0, 0.1, 5.0])
check(np.load('i8_0d.npy'), np.int64, (), [-(2**50)])
check(np.load('u1_empty.npy'), np.uint8, (0,), [])
check(np.load('i4.npy'), np.int32, (1, 1, 2), [-3, 2147483647])
check(np.load('b1.npy'), np.bool_, (3,), [True, False, True])
assert np.signbit(np.load('f4.npy')[1, 1])
z = np.load('out.npz')
assert list(z.keys()) == ['zeta', 'alpha'], list(z.keys())
check(z['zeta'], np.uint8, (4, 5, 3), [(i * 5) % 256 for i in range(60)])
check(z['alpha'], np.float64, (), [1.5])
infos = zipfile.ZipFile('out.npz').infolist()
assert [i.filename for i in infos] == ['zeta.npy', 'alpha.npy']
assert all(i.compress_type == zipfile.ZIP_STORED for i in infos)
# Byte-identical to np.save of the same array.
import io
buf = io.BytesIO(); np.save(buf, np.load('f4.npy'))
assert buf.getvalue() == open('f4.npy', 'rb').read()
)",
                       dir.path()),
            0);
}

TEST(Npy, ConvertsBetweenTypes) {
  NpyArray f = make_npy_array(std::vector<double>{3.0, -2.0, 1e15}, {3});
  EXPECT_EQ(as_int64(f), (std::vector<int64_t>{3, -2, 1000000000000000}));
  NpyArray frac = make_npy_array(std::vector<float>{1.0f, 2.5f}, {2});
  std::string msg = error_message([&] { as_int64(frac, "labels.npy"); });
  EXPECT_NE(msg.find("labels.npy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("element 1"), std::string::npos) << msg;
  EXPECT_THROW(as_int64(frac), DataError);
  EXPECT_THROW(as_int64(make_npy_array(std::vector<double>{NAN}, {1})), DataError);
  EXPECT_THROW(as_int64(make_npy_array(std::vector<double>{1e19}, {1})), DataError);
  EXPECT_EQ(as_int64(make_npy_array(std::vector<uint8_t>{0, 255}, {2})), (std::vector<int64_t>{0, 255}));
  EXPECT_EQ(as_float32(make_npy_array(std::vector<int64_t>{-5, 7}, {2})), (std::vector<float>{-5.0f, 7.0f}));
  EXPECT_THROW(make_npy_array(std::vector<float>{1.0f, 2.0f}, {3}), DataError);
  NpyArray c;
  c.descr = "<c8";
  c.shape = {1};
  c.data = std::string(8, '\0');
  EXPECT_THROW(as_float32(c), DataError);
  EXPECT_EQ(shape_repr({}), "()");
  EXPECT_EQ(shape_repr({5}), "(5,)");
  EXPECT_EQ(shape_repr({2, 3}), "(2, 3)");
}

TEST(Npy, RejectsFilesItCannotUse) {
  TempDir dir;
  ASSERT_EQ(run_python(R"(
import numpy as np
a = np.arange(12, dtype=np.float32).reshape(3, 4)
np.save('good.npy', a)
np.save('fortran.npy', np.asfortranarray(a))
np.save('bigendian.npy', a.astype('>f4'))
np.save('object.npy', np.array([1, 'x', None], dtype=object), allow_pickle=True)
np.save('structured.npy', np.zeros(2, dtype=[('x', '<f4'), ('y', '<i4')]))
data = open('good.npy', 'rb').read()
open('truncated_data.npy', 'wb').write(data[:-5])
open('truncated_header.npy', 'wb').write(data[:40])
open('extra.npy', 'wb').write(data + b'\0\0\0\0')
open('notnpy.npy', 'wb').write(b'PK\x03\x04 this is not npy')
assert np.load('fortran.npy').flags.f_contiguous
)",
                       dir.path()),
            0);
  EXPECT_NO_THROW(read_npy(dir.file("good.npy")));

  auto expect_error = [&](const std::string& file, bool data_error, const std::string& needle) {
    const std::string path = dir.file(file);
    std::string msg;
    try {
      read_npy(path);
      ADD_FAILURE() << file << " was accepted";
    } catch (const DataError& e) {
      EXPECT_TRUE(data_error) << file << ": DataError: " << e.what();
      msg = e.what();
    } catch (const IoError& e) {
      EXPECT_FALSE(data_error) << file << ": IoError: " << e.what();
      msg = e.what();
    }
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  };
  expect_error("fortran.npy", true, "np.ascontiguousarray");
  expect_error("bigendian.npy", true, "big-endian");
  expect_error("object.npy", true, "object dtype");
  expect_error("structured.npy", true, "structured");
  expect_error("truncated_data.npy", true, "header says shape (3, 4) <f4 = 48 bytes, got 43");
  expect_error("extra.npy", true, "got 52");
  expect_error("truncated_header.npy", false, "truncated");
  expect_error("notnpy.npy", false, "not a .npy file");
  expect_error("missing.npy", false, "cannot read");

  const std::string missing_npz = dir.file("missing.npz");
  std::string msg = error_message([&] { read_npz(missing_npz); });
  EXPECT_NE(msg.find(missing_npz), std::string::npos) << msg;
  EXPECT_THROW(read_npz(missing_npz), IoError);
}

TEST(Npy, RejectsInconsistentArraysOnWrite) {
  TempDir dir;
  NpyArray a = make_npy_array(std::vector<float>{1, 2, 3, 4}, {2, 2});
  a.data.pop_back();
  EXPECT_THROW(write_npy(dir.file("a.npy"), a), DataError);
  EXPECT_THROW(serialize_npy(a), DataError);
  NpyArray b = make_npy_array(std::vector<float>{1, 2}, {2});
  b.descr = "<U4";
  EXPECT_THROW(write_npy(dir.file("b.npy"), b), DataError);
  NpyArray ok = make_npy_array(std::vector<float>{1, 2}, {2});
  EXPECT_THROW(write_npz(dir.file("c.npz"), {{"x", ok}, {"x", ok}}), DataError);
  EXPECT_FALSE(std::filesystem::exists(dir.file("a.npy")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("c.npz")));
}

}  // namespace
}  // namespace repro

// exposure_json / read_exposure_json: the round trip (doubles exact, a NaN as null and back), the
// file as Python's json module reads it, one Python wrote, and hostile files: each a DataError
// naming the file and the key path (IoError when unreadable).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "base/diffusion/exposure_record.h"
#include "base/util/errors.h"
#include "base/util/file_io.h"
#include "tests/support/test_support.h"

using namespace repro;
using core::ExposureCurves;
using core::ExposureStep;

namespace {

ExposureCurves example() {
  ExposureCurves c;
  c.mode = "step";
  c.steps = "ddim50";
  c.sampler = "ddim";
  c.eta = 0.5;
  c.num = 256;
  c.eps_scale = {1.017, -0.0001};
  c.start = 0;
  c.checkpoint = "runs/r1/checkpoints/ema_0.9999_050000.pt";
  c.data = "ref/cifar10_train.npz";
  for (int i = 3; i >= 0; --i)
    c.records.push_back({i, 20 * i, 13.8 + 0.1 * i, 13.85, 0.1 / 3 * i, 1 - 1e-4 * i, (0.1 / 3 * i) / (1 - 1e-4 * i)});
  c.records[1].var_ratio = NAN;  // a diverged step
  return c;
}

void expect_same(const ExposureStep& a, const ExposureStep& b) {
  EXPECT_EQ(a.index, b.index);
  EXPECT_EQ(a.timestep, b.timestep);
  EXPECT_EQ(a.eps_norm_sample, b.eps_norm_sample);
  EXPECT_EQ(a.eps_norm_train, b.eps_norm_train);
  EXPECT_EQ(a.var_sample, b.var_sample);
  EXPECT_EQ(a.var_train, b.var_train);
  if (std::isnan(a.var_ratio)) {
    EXPECT_TRUE(std::isnan(b.var_ratio));
  } else {
    EXPECT_EQ(a.var_ratio, b.var_ratio);
  }
}

// The DataError message of reading `text` as dir/name.
std::string data_error(const test::TempDir& dir, const std::string& name, const std::string& text) {
  const std::string path = dir.write(name, text);
  try {
    core::read_exposure_json(path);
  } catch (const DataError& e) {
    return e.what();
  }
  ADD_FAILURE() << name << ": no DataError";
  return "";
}

// The example's text with `from` replaced by `to` (which must occur).
std::string edited(const std::string& from, const std::string& to) {
  std::string text = core::exposure_json(example());
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return at == std::string::npos ? text : text.replace(at, from.size(), to);
}

}  // namespace

TEST(ExposureRecord, RoundTripIsExact) {
  test::TempDir dir;
  const ExposureCurves c = example();
  const auto back = core::read_exposure_json(dir.write("e.json", core::exposure_json(c)));
  EXPECT_EQ(back.mode, c.mode);
  EXPECT_EQ(back.steps, c.steps);
  EXPECT_EQ(back.sampler, c.sampler);
  EXPECT_EQ(back.eta, c.eta);
  EXPECT_EQ(back.num, c.num);
  EXPECT_EQ(back.eps_scale, c.eps_scale);
  EXPECT_EQ(back.start, c.start);
  EXPECT_EQ(back.checkpoint, c.checkpoint);
  EXPECT_EQ(back.data, c.data);
  ASSERT_EQ(back.records.size(), c.records.size());
  for (size_t i = 0; i < c.records.size(); ++i) expect_same(c.records[i], back.records[i]);
}

TEST(ExposureRecord, PythonReadsTheKeysAndValues) {
  test::TempDir dir;
  dir.write("e.json", core::exposure_json(example()));
  EXPECT_EQ(test::run_python("import json\n"
                             "j = json.load(open('e.json'))\n"
                             "assert j['v'] == 1 and j['mode'] == 'step' and j['steps'] == 'ddim50', j\n"
                             "assert j['sampler'] == 'ddim' and j['eta'] == 0.5 and j['num'] == 256, j\n"
                             "assert j['eps_scale'] == {'b': 1.017, 'k': -0.0001}, j['eps_scale']\n"
                             "assert j['start'] == 0 and j['data'] == 'ref/cifar10_train.npz', j\n"
                             "r = j['records']\n"
                             "assert [x['index'] for x in r] == [3, 2, 1, 0], r\n"
                             "assert [x['timestep'] for x in r] == [60, 40, 20, 0], r\n"
                             "assert r[0]['eps_norm_sample'] == 13.8 + 0.1 * 3, r[0]\n"
                             "assert r[1]['var_ratio'] is None, r[1]\n"
                             "keys = {'index', 'timestep', 'eps_norm_sample', 'eps_norm_train', 'var_sample',\n"
                             "        'var_train', 'var_ratio'}\n"
                             "assert all(set(x) == keys for x in r), r\n",
                             dir.path()),
            0);
}

TEST(ExposureRecord, ReadsWhatPythonWrote) {
  test::TempDir dir;
  ASSERT_EQ(test::run_python("import json\n"
                             "rec = dict(index=0, timestep=0, eps_norm_sample=1.5, eps_norm_train=2,\n"
                             "           var_sample=None, var_train=0.25, var_ratio=None)\n"
                             "json.dump(dict(v=1, mode='chain', steps='100', sampler='ancestral', eta=0, num=7,\n"
                             "               eps_scale=dict(b=1, k=0), start=300, checkpoint='', data='x.npz',\n"
                             "               extra=[1, 2], records=[rec]), open('p.json', 'w'))\n",
                             dir.path()),
            0);
  const auto c = core::read_exposure_json(dir.file("p.json"));
  EXPECT_EQ(c.start, 300);
  EXPECT_EQ(c.num, 7);
  EXPECT_TRUE(c.eps_scale.is_identity());
  ASSERT_EQ(c.records.size(), 1u);
  EXPECT_EQ(c.records[0].eps_norm_train, 2.0);  // an integer where a number is asked is one
  EXPECT_TRUE(std::isnan(c.records[0].var_sample));
  EXPECT_EQ(c.records[0].var_train, 0.25);
}

TEST(ExposureRecord, WrongTypesNameTheFileAndKeyPath) {
  test::TempDir dir;
  const std::string path = dir.file("bad.json");
  auto expect_error = [&](const std::string& text, const std::string& key, const std::string& what) {
    const std::string e = data_error(dir, "bad.json", text);
    EXPECT_NE(e.find(path + ": " + key + ": "), std::string::npos) << e;
    EXPECT_NE(e.find(what), std::string::npos) << e;
  };
  // records[1] is the one with a null var_ratio; records[2] an ordinary one.
  expect_error(edited("\"var_ratio\": 0.03333", "\"var_ratio\": \"x\", \"y\": 0.03333"), "records[2].var_ratio",
               "expected a number or null, got string");
  expect_error(edited("\"index\": 2", "\"index\": 2.0"), "records[1].index", "expected an integer, got a float");
  expect_error(edited("\"index\": 2", "\"index\": -2"), "records[1].index", "expected an integer in [0, ");
  expect_error(edited("\"timestep\": 40", "\"timestep\": true"), "records[1].timestep", "got boolean");
  expect_error(edited("\"num\": 256", "\"num\": 18446744073709551615"), "num", "expected an integer in [0, ");
  expect_error(edited("\"mode\": \"step\"", "\"mode\": \"steps\""), "mode", "expected chain or step, got 'steps'");
  expect_error(edited("\"sampler\": \"ddim\"", "\"sampler\": null"), "sampler", "expected a string, got null");
  expect_error(edited("\"b\": 1.017", "\"b\": [1.017]"), "eps_scale.b", "expected a number, got array");
  expect_error(edited("\"eps_scale\": {", "\"eps_scale\": 1, \"x\": {"), "eps_scale", "expected an object");
  expect_error(edited("\"v\": 1", "\"v\": 2"), "v", "expected an integer in [1, 1], got 2");
  expect_error(edited("\"records\": [", "\"records\": {}, \"r\": ["), "records", "expected an array, got object");
  expect_error("[1, 2]", "(top level)", "expected an object, got array");
  const std::string e = data_error(dir, "bad.json", edited("\"records\": [\n  {", "\"records\": [\n  7, {"));
  EXPECT_NE(e.find("records[0]: expected an object, got an integer"), std::string::npos) << e;
}

TEST(ExposureRecord, MissingKeysAreNamed) {
  test::TempDir dir;
  const std::string e1 = data_error(dir, "m.json", edited("\"k\": -0.0001", "\"kk\": -0.0001"));
  EXPECT_NE(e1.find("m.json: eps_scale.k: missing"), std::string::npos) << e1;
  const std::string e2 = data_error(dir, "m.json", edited("\"var_train\": 1.0", "\"var_trains\": 1.0"));
  EXPECT_NE(e2.find("m.json: records[3].var_train: missing"), std::string::npos) << e2;
  const std::string e3 = data_error(dir, "m.json", "{\"v\": 1}");
  EXPECT_NE(e3.find("m.json: mode: missing"), std::string::npos) << e3;
}

TEST(ExposureRecord, NotJsonNaNAndOverflowingNumbersAreDataErrors) {
  test::TempDir dir;
  for (const std::string& bad : {std::string("NaN"), std::string("Infinity"), std::string("1e400")}) {
    const std::string e = data_error(dir, "n.json", edited("\"eta\": 0.5", "\"eta\": " + bad));
    EXPECT_NE(e.find("n.json: not valid JSON"), std::string::npos) << bad << ": " << e;
  }
  EXPECT_NE(data_error(dir, "t.json", "{\"v\": 1, ").find("t.json: not valid JSON"), std::string::npos);
  EXPECT_NE(data_error(dir, "e.json", "").find("e.json: not valid JSON"), std::string::npos);
}

TEST(ExposureRecord, DeepNestingIsRefusedWhileParsing) {
  test::TempDir dir;
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::string e = data_error(dir, "d.json", edited("\"v\": 1", "\"v\": 1, \"extra\": " + deep));
  EXPECT_NE(e.find("d.json: nesting deeper than"), std::string::npos) << e;
}

TEST(ExposureRecord, HugeFileIsRefusedBeforeReading) {
  test::TempDir dir;
  const std::string path = dir.write("h.json", "{");
  std::filesystem::resize_file(path, (uintmax_t{64} << 20) + 1);  // sparse: nothing is written
  try {
    core::read_exposure_json(path);
    FAIL() << "no DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("h.json: 67108865 bytes, more than"), std::string::npos) << e.what();
  }
}

TEST(ExposureRecord, MissingFileIsAnIoError) {
  test::TempDir dir;
  EXPECT_THROW(core::read_exposure_json(dir.file("none.json")), IoError);
}

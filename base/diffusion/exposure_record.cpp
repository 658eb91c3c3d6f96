#include "base/diffusion/exposure_record.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <limits>
#include <system_error>

#include "base/util/errors.h"
#include "base/util/file_io.h"
#include "base/util/limits.h"

namespace repro::core {

namespace {

using nlohmann::json;

// The file's format version ("v"): a reader refuses what it does not know.
constexpr int kFormatVersion = 1;
// 1000 steps take about 250 KB; a file of more is not one exposure_json wrote.
constexpr uintmax_t kMaxExposureBytes = uintmax_t{64} << 20;

// A measured value: JSON has no NaN or infinity, so a non-finite one (a diverged model) is null.
json measured(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json step_json(const ExposureStep& s) {
  return {{"index", s.index},
          {"timestep", s.timestep},
          {"eps_norm_sample", measured(s.eps_norm_sample)},
          {"eps_norm_train", measured(s.eps_norm_train)},
          {"var_sample", measured(s.var_sample)},
          {"var_train", measured(s.var_train)},
          {"var_ratio", measured(s.var_ratio)}};
}

std::string type_name(const json& v) {
  if (v.is_number_float()) return "a float";
  if (v.is_number()) return "an integer";
  return std::string(v.type_name());
}

// The members of one file, checked for presence and type; errors name the file and key path.
class Reader {
 public:
  explicit Reader(const std::string& path) : path_(path) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw DataError(path_ + ": " + key + ": " + what);
  }

  const json& member(const json& object, const std::string& key, const std::string& path) const {
    const auto it = object.find(key);
    if (it == object.end()) fail(path, "missing");
    return *it;
  }

  std::string string_at(const json& object, const std::string& key, const std::string& path) const {
    const json& v = member(object, key, path);
    if (!v.is_string()) fail(path, "expected a string, got " + type_name(v));
    return v.get<std::string>();
  }

  // An integer in [lo, hi]; a float (3.0 included) is not one.
  int64_t integer_at(const json& object, const std::string& key, const std::string& path, int64_t lo,
                     int64_t hi) const {
    const json& v = member(object, key, path);
    if (!v.is_number_integer()) fail(path, "expected an integer, got " + type_name(v));
    // nlohmann keeps a non-negative integer as uint64: past int64's range it has no int64 value.
    const bool fits = v.is_number_unsigned() ? v.get<uint64_t>() <= static_cast<uint64_t>(hi) &&
                                                   (lo <= 0 || v.get<uint64_t>() >= static_cast<uint64_t>(lo))
                                             : v.get<int64_t>() >= lo && v.get<int64_t>() <= hi;
    if (!fits)
      fail(path, "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + v.dump());
    return v.get<int64_t>();
  }

  double number_at(const json& object, const std::string& key, const std::string& path) const {
    const json& v = member(object, key, path);
    if (!v.is_number()) fail(path, "expected a number, got " + type_name(v));
    return v.get<double>();
  }

  // A measured value: a number, or null for a non-finite one (NaN).
  double measured_at(const json& object, const std::string& key, const std::string& path) const {
    const json& v = member(object, key, path);
    if (v.is_null()) return std::numeric_limits<double>::quiet_NaN();
    if (!v.is_number()) fail(path, "expected a number or null, got " + type_name(v));
    return v.get<double>();
  }

  const json& object_at(const json& object, const std::string& key, const std::string& path) const {
    const json& v = member(object, key, path);
    if (!v.is_object()) fail(path, "expected an object, got " + type_name(v));
    return v;
  }

  std::string one_of(const json& object, const std::string& key, const std::string& a, const std::string& b) const {
    std::string v = string_at(object, key, key);
    if (v != a && v != b) fail(key, "expected " + a + " or " + b + ", got '" + v + "'");
    return v;
  }

 private:
  std::string path_;
};

ExposureStep read_step(const Reader& r, const json& j, const std::string& at) {
  if (!j.is_object()) r.fail(at, "expected an object, got " + type_name(j));
  constexpr int64_t kMaxInt = std::numeric_limits<int>::max();
  ExposureStep s;
  s.index = static_cast<int>(r.integer_at(j, "index", at + ".index", 0, kMaxInt));
  s.timestep = static_cast<int>(r.integer_at(j, "timestep", at + ".timestep", 0, kMaxInt));
  s.eps_norm_sample = r.measured_at(j, "eps_norm_sample", at + ".eps_norm_sample");
  s.eps_norm_train = r.measured_at(j, "eps_norm_train", at + ".eps_norm_train");
  s.var_sample = r.measured_at(j, "var_sample", at + ".var_sample");
  s.var_train = r.measured_at(j, "var_train", at + ".var_train");
  s.var_ratio = r.measured_at(j, "var_ratio", at + ".var_ratio");
  return s;
}

ExposureCurves read_curves(const Reader& r, const json& j) {
  if (!j.is_object()) r.fail("(top level)", "expected an object, got " + type_name(j));
  r.integer_at(j, "v", "v", kFormatVersion, kFormatVersion);
  ExposureCurves c;
  c.mode = r.one_of(j, "mode", "chain", "step");
  c.steps = r.string_at(j, "steps", "steps");
  c.sampler = r.one_of(j, "sampler", "ancestral", "ddim");
  c.eta = r.number_at(j, "eta", "eta");
  c.num = r.integer_at(j, "num", "num", 0, std::numeric_limits<int64_t>::max());
  const json& scale = r.object_at(j, "eps_scale", "eps_scale");
  c.eps_scale.b = r.number_at(scale, "b", "eps_scale.b");
  c.eps_scale.k = r.number_at(scale, "k", "eps_scale.k");
  c.start = static_cast<int>(r.integer_at(j, "start", "start", 0, std::numeric_limits<int>::max()));
  c.checkpoint = r.string_at(j, "checkpoint", "checkpoint");
  c.data = r.string_at(j, "data", "data");
  const json& records = r.member(j, "records", "records");
  if (!records.is_array()) r.fail("records", "expected an array, got " + type_name(records));
  c.records.reserve(records.size());
  for (size_t i = 0; i < records.size(); ++i)
    c.records.push_back(read_step(r, records[i], "records[" + std::to_string(i) + "]"));
  return c;
}

// The file's text, its size checked before it is read.
std::string bounded_text(const std::string& path) {
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxExposureBytes)
    throw DataError(path + ": " + std::to_string(size) + " bytes, more than an exposure file's limit of " +
                    std::to_string(kMaxExposureBytes));
  std::string text = read_file(path);   // IoError when missing or unreadable
  if (text.size() > kMaxExposureBytes)  // grew since, or not a regular file
    throw DataError(path + ": more than an exposure file's limit of " + std::to_string(kMaxExposureBytes) + " bytes");
  return text;
}

// Parsed with the nesting bounded while parsing: the tree's destructor recurses once per level.
json parse_bounded(const std::string& path, const std::string& text) {
  const int max_depth = resource_limits().max_nesting;
  const json::parser_callback_t limit_depth = [&](int depth, json::parse_event_t event, json&) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) && depth >= max_depth)
      throw DataError(path + ": nesting deeper than " + std::to_string(max_depth) +
                      " levels (REPRO_MAX_NESTING raises it)");
    return true;
  };
  try {
    return json::parse(text, limit_depth);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number like 1e400
    throw DataError(path + ": not valid JSON: " + e.what());
  }
}

}  // namespace

std::string exposure_json(const ExposureCurves& c) {
  json records = json::array();
  for (const ExposureStep& s : c.records) records.push_back(step_json(s));
  const json j = {{"v", kFormatVersion},
                  {"mode", c.mode},
                  {"steps", c.steps},
                  {"sampler", c.sampler},
                  {"eta", c.eta},
                  {"num", c.num},
                  {"eps_scale", {{"b", c.eps_scale.b}, {"k", c.eps_scale.k}}},
                  {"start", c.start},
                  {"checkpoint", c.checkpoint},
                  {"data", c.data},
                  {"records", records}};
  // Invalid UTF-8 in a path is replaced, not thrown: the measurement is worth more than a byte.
  return j.dump(1, ' ', false, json::error_handler_t::replace) + "\n";
}

ExposureCurves parse_exposure_json(const std::string& text, const std::string& name) {
  if (text.size() > kMaxExposureBytes)
    throw DataError(name + ": more than an exposure file's limit of " + std::to_string(kMaxExposureBytes) + " bytes");
  return read_curves(Reader(name), parse_bounded(name, text));
}

ExposureCurves read_exposure_json(const std::string& path) { return parse_exposure_json(bounded_text(path), path); }

}  // namespace repro::core

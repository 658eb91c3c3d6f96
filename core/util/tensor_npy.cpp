#include "core/util/tensor_npy.h"

#include <cstring>

#include "base/util/errors.h"

namespace repro::core {

namespace {

struct DtypePair {
  const char* descr;
  const char* name;
  torch::ScalarType type;
};
// numpy descr <-> torch dtype name <-> ScalarType.
constexpr DtypePair kDtypes[] = {
    {"<f4", "float32", torch::kFloat32}, {"<f8", "float64", torch::kFloat64}, {"<f2", "float16", torch::kFloat16},
    {"<i8", "int64", torch::kInt64},     {"<i4", "int32", torch::kInt32},     {"<i2", "int16", torch::kInt16},
    {"|i1", "int8", torch::kInt8},       {"|u1", "uint8", torch::kUInt8},     {"|b1", "bool", torch::kBool},
};

}  // namespace

std::string dtype_name(torch::ScalarType t) {
  if (t == torch::kBFloat16) return "bfloat16";
  for (const auto& d : kDtypes)
    if (d.type == t) return d.name;
  throw DataError(std::string("unsupported tensor dtype ") + c10::toString(t));
}

torch::ScalarType dtype_from_name(const std::string& name) {
  if (name == "bfloat16") return torch::kBFloat16;
  for (const auto& d : kDtypes)
    if (name == d.name) return d.type;
  throw DataError("unsupported tensor dtype '" + name + "'");
}

torch::Tensor to_tensor(const NpyArray& array, const std::string& what) {
  // Byte order marks: '<' little, '|' not applicable, '=' native (little on every host we build).
  const std::string& descr = array.descr;
  const bool marked = descr.size() >= 2 && (descr[0] == '<' || descr[0] == '|' || descr[0] == '=');
  const std::string code = marked ? descr.substr(1) : descr;
  for (const auto& d : kDtypes) {
    if (code != std::string(d.descr).substr(1)) continue;
    auto t = torch::empty(array.shape, torch::TensorOptions().dtype(d.type));
    if (static_cast<size_t>(t.nbytes()) != array.data.size())
      throw DataError(what + ": " + std::to_string(array.data.size()) + " bytes do not fill shape " +
                      shape_repr(array.shape) + " of " + descr);
    std::memcpy(t.data_ptr(), array.data.data(), array.data.size());
    return t;
  }
  throw DataError(what + ": dtype " + descr +
                  " has no LibTorch equivalent; use float32, float64, int64, "
                  "int32 or uint8");
}

NpyArray to_npy(const torch::Tensor& tensor) {
  auto t = tensor.detach().cpu().contiguous();
  for (const auto& d : kDtypes) {
    if (d.type == t.scalar_type()) {
      NpyArray a;
      a.descr = d.descr;
      a.shape = t.sizes().vec();
      a.data.assign(static_cast<const char*>(t.data_ptr()), t.nbytes());
      return a;
    }
  }
  if (t.scalar_type() == torch::kBFloat16) return to_npy(t.to(torch::kFloat32));  // numpy has no bfloat16
  throw DataError(std::string("cannot store a ") + c10::toString(t.scalar_type()) + " tensor in .npy");
}

torch::Tensor read_npy_tensor(const std::string& path) { return to_tensor(read_npy(path), path); }

}  // namespace repro::core

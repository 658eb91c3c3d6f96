#include "core/util/checkpoint.h"

#include <cstring>
#include <map>

#include "base/nn/state_dict_mismatch.h"
#include "base/util/errors.h"
#include "base/util/torch_pickle.h"
#include "core/util/tensor_npy.h"

namespace repro::core {

NamedTensors read_state_dict(const std::string& path) {
  const StateDictFile file = read_state_dict_file(path);
  NamedTensors out;
  out.reserve(file.tensors.size());
  for (const auto& rec : file.tensors) {
    const std::string bytes = file.contiguous_bytes(rec);
    auto t = torch::empty(rec.shape, torch::TensorOptions().dtype(dtype_from_name(rec.dtype)));
    if (static_cast<size_t>(t.nbytes()) != bytes.size())
      throw DataError(path + ": tensor '" + rec.name + "' has " + std::to_string(bytes.size()) + " bytes for shape " +
                      shape_text(rec.shape));
    std::memcpy(t.data_ptr(), bytes.data(), bytes.size());
    out.emplace_back(rec.name, t);
  }
  return out;
}

void write_state_dict(const std::string& path, const NamedTensors& tensors) {
  std::vector<TensorBlob> blobs;
  blobs.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) {
    auto t = tensor.detach().cpu().contiguous();
    TensorBlob b;
    b.name = name;
    b.dtype = dtype_name(t.scalar_type());
    b.shape = t.sizes().vec();
    b.data.assign(static_cast<const char*>(t.data_ptr()), t.nbytes());
    blobs.push_back(std::move(b));
  }
  write_state_dict_file(path, blobs);
}

NamedTensors module_state(const torch::nn::Module& module) {
  NamedTensors out;
  for (const auto& p : module.named_parameters(true)) out.emplace_back(p.key(), p.value());
  for (const auto& b : module.named_buffers(true)) out.emplace_back(b.key(), b.value());
  return out;
}

void load_module_state(torch::nn::Module& module, const NamedTensors& state, const std::string& what) {
  std::map<std::string, torch::Tensor> given;
  for (const auto& [name, t] : state) given[name] = t;
  NamedTensors expected = module_state(module);
  const auto shapes = [](const NamedTensors& tensors) {
    StateShapes out;
    for (const auto& [name, t] : tensors) out.emplace_back(name, t.sizes().vec());
    return out;
  };
  const StateDictMismatch mismatch = compare_state_shapes(shapes(expected), shapes(state));
  if (!mismatch.empty()) throw DataError(what + ": " + mismatch.describe("\n  "));
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : expected) t.copy_(given[name]);
}

void load_checkpoint(torch::nn::Module& module, const std::string& path) {
  load_module_state(module, read_state_dict(path), path);
}

void save_checkpoint(const torch::nn::Module& module, const std::string& path) {
  NamedTensors state = module_state(module);
  for (auto& [name, t] : state)
    if (t.is_floating_point()) t = t.to(torch::kFloat32);
  write_state_dict(path, state);
}

}  // namespace repro::core

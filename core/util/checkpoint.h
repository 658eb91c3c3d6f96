#pragma once
// Model checkpoints in the reference format: a state dict saved by Python's
// torch.save(model.state_dict()) (zip archive, pickled OrderedDict). Files written here load in
// Python with torch.load + load_state_dict, and the released DDPM-IP checkpoints load here as
// they are.
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace repro::core {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// All tensors of a state-dict file, in file order, as contiguous CPU tensors.
// Throws IoError / DataError (see read_state_dict_file).
NamedTensors read_state_dict(const std::string& path);

// Writes tensors (any device; made contiguous on the CPU) atomically. Throws DataError / IoError.
void write_state_dict(const std::string& path, const NamedTensors& tensors);

// The module's parameters and buffers under their state-dict names, in registration order.
NamedTensors module_state(const torch::nn::Module& module);

// Copies a state dict into `module`. Keys and shapes must match exactly; otherwise throws
// DataError listing every missing, unexpected and mis-shaped key (up to a limit), and the module
// is left unchanged. Values are converted to each parameter's dtype and device. `what` names the
// source (file) in messages.
void load_module_state(torch::nn::Module& module, const NamedTensors& state, const std::string& what);

// read_state_dict + load_module_state.
void load_checkpoint(torch::nn::Module& module, const std::string& path);

// module_state converted to float32 (the reference saves fp32 master weights) + write_state_dict.
void save_checkpoint(const torch::nn::Module& module, const std::string& path);

}  // namespace repro::core

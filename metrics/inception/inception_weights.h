#pragma once
// Weights for FidInceptionV3: a TorchScript file (torch::jit::load), a torch.save state dict in the zip
// format (pytorch-fid's .pth, read torch-free by base/util/torch_pickle.h), or seeded random weights.
//
// Name mapping (file key -> native key): identity on pytorch-fid's state-dict keys
// (`Conv2d_1a_3x3.conv.weight`, `Conv2d_1a_3x3.bn.{weight,bias,running_mean,running_var}`,
// `Mixed_5b.branch1x1.conv.weight`, ..., `Mixed_7c.branch_pool.bn.running_var`, `fc.weight`, `fc.bias`),
// after stripping leading "module." prefixes (nn.DataParallel). `*.num_batches_tracked` is optional
// (unused in eval mode). Every other key is refused, and every native key must be present with the
// same shape: a file in another layout fails with an IoError naming the first unmatched keys.
//
// NVIDIA's inception-2015-12-05.pt (StyleGAN2-ADA, clean-fid) is a TorchScript module converted from
// the TF graph, named after the TF nodes: `layers.<block>.<branch>.{weight,beta,mean,var}` (conv
// weight, BatchNorm bias, running mean and variance; no BatchNorm scale: it is 1) and
// `output.{weight,bias}`. nvidia_to_pytorch_fid() maps those names (table in inception_weights.cpp,
// read from the public ports that load the file by name: openai/consistency_models
// evaluations/inception_v3.py, miemie2013/ppgan convert_weights/inception_convert_weights.py);
// the missing BatchNorm scales are set to 1.
#include <cstdint>
#include <optional>
#include <string>

#include "base/eval/inception_weights_file.h"
#include "metrics/inception/fid_inception.h"

namespace repro::metrics {

// The explicit choice of random weights (`features: random-inception`).
inline constexpr const char* kRandomInception = "random-inception";
inline constexpr uint64_t kRandomInceptionSeed = 20151205;

// The download URLs and published digests (kNvidiaInceptionSha256, kPytorchFidSha256): torch-free,
// in base/eval/inception_weights_file.h.

// What produced the features; recorded in every result's recipe.
struct InceptionWeightsInfo {
  std::string source;  // kRandomInception or the weights file path as given
  std::string format;  // "random", "torchscript" or "state_dict"
  std::string sha256;  // lower-case hex of the file; "" for random weights
  uint64_t seed = 0;   // the seed of random weights; 0 for a file
  // false for random weights: such FIDs are not comparable with published ones.
  bool comparable_with_published = false;
  // The file is one of the published files (its SHA-256 is kNvidiaInceptionSha256 or kPytorchFidSha256).
  bool pinned = false;
};

// The pytorch-fid name of a parameter of NVIDIA's TorchScript ("layers.mixed_9.tower_mixed_conv.beta"
// -> "Mixed_7b.branch3x3_2a.bn.bias"); nullopt for a name outside that layout.
std::optional<std::string> nvidia_to_pytorch_fid(const std::string& key);

// Seeded random weights, deterministic for a seed on CPU: conv weights He-normal (std sqrt(2 / fan_in)),
// BatchNorm weight 1, bias 0, running mean 0, running var 1, fc weight normal with std 1/sqrt(2048),
// fc bias 0. Uses its own generator (the global torch seed is untouched).
InceptionWeightsInfo init_random_inception(FidInceptionV3& net, uint64_t seed = kRandomInceptionSeed);

// Loads the parameters and buffers of a TorchScript module (torch::jit::load) by name (mapping above).
// Throws IoError when the file is missing (message: the file, both download URLs) or its keys or
// shapes do not map.
InceptionWeightsInfo load_inception_torchscript(FidInceptionV3& net, const std::string& path);

// Loads a torch.save state dict in the zip format (pytorch-fid's .pth saved by torch >= 1.6). A legacy
// (pre-1.6, non-zip) file fails with read_state_dict_file's IoError, which says how to re-save it.
InceptionWeightsInfo load_inception_state_dict(FidInceptionV3& net, const std::string& path);

// `spec` is kRandomInception, "random-inception:SEED", or a file: a zip holding "*/constants.pkl"
// is TorchScript, any other file a state dict. Returns the network in eval mode on the CPU.
FidInceptionV3 load_fid_inception(const std::string& spec, InceptionWeightsInfo* info);

// The IoError message for a missing weights file (exposed for the CLI's --help and tests).
std::string missing_weights_message(const std::string& path);

}  // namespace repro::metrics

#pragma once
// Weights for FidInceptionV3: a TorchScript file (torch::jit::load), a torch.save state dict in the zip
// format (pytorch-fid's .pth, read torch-free by core/util/torch_pickle.h), or seeded random weights.
//
// Name mapping (file key -> native key): identity on pytorch-fid's state-dict keys
// (`Conv2d_1a_3x3.conv.weight`, `Conv2d_1a_3x3.bn.{weight,bias,running_mean,running_var}`,
// `Mixed_5b.branch1x1.conv.weight`, ..., `Mixed_7c.branch_pool.bn.running_var`, `fc.weight`, `fc.bias`),
// after stripping leading "module." prefixes (nn.DataParallel). `*.num_batches_tracked` is optional
// (unused in eval mode). Every other key is refused, and every native key must be present with the
// same shape: a file in another layout fails with an IoError naming the first unmatched keys.
//
// NVIDIA's inception-2015-12-05.pt (StyleGAN2-ADA, clean-fid) is a TorchScript module converted from
// the TF graph whose submodules are named after the TF nodes (`layers.conv`, ..., `layers.mixed_6.conv`,
// ..., `output`), not after pytorch-fid. Its exact parameter names could not be inspected here (no
// download), so that layout is NOT mapped yet: loading it fails with the unmatched-key error, which
// lists its keys; the TF-node <-> module correspondence to implement is in fid_inception.h. A
// TorchScript module that uses pytorch-fid's names (e.g. torch.jit.script(pytorch_fid.FIDInception))
// loads as is; the tests prove that path on such a fixture.
#include <cstdint>
#include <string>

#include "metrics/inception/fid_inception.h"

namespace repro::metrics {

// The explicit choice of random weights (`features: random-inception`).
inline constexpr const char* kRandomInception = "random-inception";
inline constexpr uint64_t kRandomInceptionSeed = 20151205;

// Where to get real weights, for messages and docs.
inline constexpr const char* kNvidiaInceptionUrl =
    "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt";
inline constexpr const char* kPytorchFidInceptionUrl =
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth";
// pytorch-fid's file name carries the first 8 hex digits of its SHA-256 (torch.hub's convention);
// a file with that name must match them. The full digests are not pinned yet: every
// InceptionWeightsInfo carries the SHA-256 of the file in use, to be recorded with each result.
inline constexpr const char* kPytorchFidSha256Prefix = "6726825d";

// What produced the features; recorded in every result's recipe.
struct InceptionWeightsInfo {
  std::string source;  // kRandomInception or the weights file path as given
  std::string format;  // "random", "torchscript" or "state_dict"
  std::string sha256;  // lower-case hex of the file; "" for random weights
  uint64_t seed = 0;   // the seed of random weights; 0 for a file
  // false for random weights: such FIDs are not comparable with published ones.
  bool comparable_with_published = false;
};

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

#include "metrics/inception/inception_weights.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/script.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "base/util/errors.h"
#include "base/util/sha256.h"
#include "base/util/strings.h"
#include "base/util/torch_pickle.h"
#include "base/util/zip_archive.h"

namespace repro::metrics {
namespace {

std::string native_name(std::string key) {
  while (starts_with(key, "module.")) key = key.substr(7);
  return key;
}

void require_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw IoError(missing_weights_message(path));
}

// The file's SHA-256, checked against the published digest when the file is named like a published
// file (pinned_inception_sha256, base/eval/inception_weights_file.h: the one rule, which the dry
// run's pre-flight applies too). Sets *pinned when it is one.
std::string checked_sha256(const std::string& path, bool* pinned) {
  const std::string digest = sha256_file_hex(path);
  if (const auto expected = pinned_inception_sha256(path); expected && digest != *expected) {
    const bool nvidia = *expected == kNvidiaInceptionSha256;
    throw IoError(path + ": SHA-256 " + digest + " is not the one of " +
                  (nvidia ? "NVIDIA's inception-2015-12-05.pt" : "pytorch-fid's pt_inception-2015-12-05-6726825d.pth") +
                  " (" + *expected + "); the download is corrupt or another file. Download it again from " +
                  (nvidia ? kNvidiaInceptionUrl : kPytorchFidInceptionUrl));
  }
  *pinned = digest == kNvidiaInceptionSha256 || digest == kPytorchFidSha256;
  return digest;
}

// NVIDIA's TF-node block names -> pytorch-fid's, and per block kind the branch names.
const std::map<std::string, std::string>& nvidia_blocks() {
  static const std::map<std::string, std::string> m = {
      {"conv", "Conv2d_1a_3x3"},   {"conv_1", "Conv2d_2a_3x3"}, {"conv_2", "Conv2d_2b_3x3"},
      {"conv_3", "Conv2d_3b_1x1"}, {"conv_4", "Conv2d_4a_3x3"}, {"mixed", "Mixed_5b"},
      {"mixed_1", "Mixed_5c"},     {"mixed_2", "Mixed_5d"},     {"mixed_3", "Mixed_6a"},
      {"mixed_4", "Mixed_6b"},     {"mixed_5", "Mixed_6c"},     {"mixed_6", "Mixed_6d"},
      {"mixed_7", "Mixed_6e"},     {"mixed_8", "Mixed_7a"},     {"mixed_9", "Mixed_7b"},
      {"mixed_10", "Mixed_7c"}};
  return m;
}

const std::map<std::string, std::string>& nvidia_branches(const std::string& block) {
  static const std::map<std::string, std::string> a = {// Mixed_5b..5d (FIDInceptionA)
                                                       {"conv", "branch1x1"},
                                                       {"tower.conv", "branch5x5_1"},
                                                       {"tower.conv_1", "branch5x5_2"},
                                                       {"tower_1.conv", "branch3x3dbl_1"},
                                                       {"tower_1.conv_1", "branch3x3dbl_2"},
                                                       {"tower_1.conv_2", "branch3x3dbl_3"},
                                                       {"tower_2.conv", "branch_pool"}};
  static const std::map<std::string, std::string> b = {// Mixed_6a
                                                       {"conv", "branch3x3"},
                                                       {"tower.conv", "branch3x3dbl_1"},
                                                       {"tower.conv_1", "branch3x3dbl_2"},
                                                       {"tower.conv_2", "branch3x3dbl_3"}};
  static const std::map<std::string, std::string> c = {// Mixed_6b..6e (FIDInceptionC)
                                                       {"conv", "branch1x1"},
                                                       {"tower.conv", "branch7x7_1"},
                                                       {"tower.conv_1", "branch7x7_2"},
                                                       {"tower.conv_2", "branch7x7_3"},
                                                       {"tower_1.conv", "branch7x7dbl_1"},
                                                       {"tower_1.conv_1", "branch7x7dbl_2"},
                                                       {"tower_1.conv_2", "branch7x7dbl_3"},
                                                       {"tower_1.conv_3", "branch7x7dbl_4"},
                                                       {"tower_1.conv_4", "branch7x7dbl_5"},
                                                       {"tower_2.conv", "branch_pool"}};
  static const std::map<std::string, std::string> d = {
      // Mixed_7a
      {"tower.conv", "branch3x3_1"},       {"tower.conv_1", "branch3x3_2"},     {"tower_1.conv", "branch7x7x3_1"},
      {"tower_1.conv_1", "branch7x7x3_2"}, {"tower_1.conv_2", "branch7x7x3_3"}, {"tower_1.conv_3", "branch7x7x3_4"}};
  static const std::map<std::string, std::string> e = {// Mixed_7b, 7c (FIDInceptionE_1/E_2): flat names
                                                       {"conv", "branch1x1"},
                                                       {"tower_conv", "branch3x3_1"},
                                                       {"tower_mixed_conv", "branch3x3_2a"},
                                                       {"tower_mixed_conv_1", "branch3x3_2b"},
                                                       {"tower_1_conv", "branch3x3dbl_1"},
                                                       {"tower_1_conv_1", "branch3x3dbl_2"},
                                                       {"tower_1_mixed_conv", "branch3x3dbl_3a"},
                                                       {"tower_1_mixed_conv_1", "branch3x3dbl_3b"},
                                                       {"tower_2_conv", "branch_pool"}};
  static const std::map<std::string, std::string> none;
  if (block == "mixed" || block == "mixed_1" || block == "mixed_2") return a;
  if (block == "mixed_3") return b;
  if (block == "mixed_4" || block == "mixed_5" || block == "mixed_6" || block == "mixed_7") return c;
  if (block == "mixed_8") return d;
  if (block == "mixed_9" || block == "mixed_10") return e;
  return none;
}

std::string list_first(const std::vector<std::string>& names, size_t k = 5) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < k; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > k) out += ", ... (" + std::to_string(names.size()) + " in all)";
  return out;
}

// Copies `source` (file key -> tensor) into the network's parameters and buffers by the mapping of the
// header. Throws IoError naming `path` on an unknown or missing key or a shape mismatch.
// NVIDIA's layout (any key under "layers.") is renamed first and its BatchNorm scales set to 1.
void assign_by_name(FidInceptionV3& net, const std::map<std::string, torch::Tensor>& source, const std::string& path) {
  std::map<std::string, torch::Tensor> mapped;
  const bool nvidia = std::any_of(source.begin(), source.end(),
                                  [](const auto& kv) { return starts_with(native_name(kv.first), "layers."); });
  for (const auto& [key, tensor] : source) {
    const std::string name = native_name(key);
    auto renamed = nvidia ? nvidia_to_pytorch_fid(name) : std::nullopt;
    mapped[renamed ? *renamed : name] = tensor;
  }
  std::map<std::string, torch::Tensor> targets;
  for (const auto& item : net->named_parameters(true)) targets[item.key()] = item.value();
  for (const auto& item : net->named_buffers(true)) targets[item.key()] = item.value();
  if (nvidia) {
    for (const auto& [key, target] : targets) {
      if (ends_with(key, ".bn.weight") && !mapped.count(key)) mapped[key] = torch::ones_like(target);
    }
  }

  std::vector<std::string> unknown, missing, bad_shape;
  for (const auto& [key, tensor] : mapped) {
    if (!targets.count(key)) unknown.push_back(key);
  }
  for (const auto& [key, target] : targets) {
    auto it = mapped.find(key);
    if (it == mapped.end()) {
      if (!ends_with(key, ".num_batches_tracked")) missing.push_back(key);
    } else if (it->second.sizes() != target.sizes()) {
      bad_shape.push_back(key);
    }
  }
  if (!unknown.empty() || !missing.empty() || !bad_shape.empty()) {
    std::string msg = path + ": not the FID Inception in pytorch-fid's or NVIDIA's layout";
    if (!unknown.empty()) msg += "; unknown keys: " + list_first(unknown);
    if (!missing.empty()) msg += "; missing keys: " + list_first(missing);
    if (!bad_shape.empty()) msg += "; shape mismatch: " + list_first(bad_shape);
    throw IoError(msg);
  }
  torch::NoGradGuard no_grad;
  for (auto& [key, target] : targets) {
    auto it = mapped.find(key);
    if (it != mapped.end()) target.copy_(it->second.to(target.dtype()));
  }
}

bool is_torchscript_archive(const std::string& path) {
  try {
    ZipReader zip(path);
    for (const std::string& name : zip.names()) {
      if (ends_with(name, "/constants.pkl")) return true;
    }
  } catch (const IoError&) {
  }
  return false;
}

}  // namespace

std::optional<std::string> nvidia_to_pytorch_fid(const std::string& key) {
  if (key == "output.weight") return "fc.weight";
  if (key == "output.bias") return "fc.bias";
  static const std::map<std::string, std::string> tensors = {
      {"weight", "conv.weight"}, {"beta", "bn.bias"}, {"mean", "bn.running_mean"}, {"var", "bn.running_var"}};
  const std::string prefix = "layers.";
  if (!starts_with(key, prefix)) return std::nullopt;
  const std::string rest = key.substr(prefix.size());
  const auto last = rest.rfind('.');
  if (last == std::string::npos) return std::nullopt;
  const auto tensor = tensors.find(rest.substr(last + 1));
  if (tensor == tensors.end()) return std::nullopt;
  const std::string path = rest.substr(0, last);  // "conv_4", "mixed_4.tower_1.conv_3"
  const auto dot = path.find('.');
  const std::string block = path.substr(0, dot);
  const auto b = nvidia_blocks().find(block);
  if (b == nvidia_blocks().end()) return std::nullopt;
  if (dot == std::string::npos) {
    if (!starts_with(block, "conv")) return std::nullopt;  // a mixed block holds no tensor itself
    return b->second + "." + tensor->second;
  }
  const auto& branches = nvidia_branches(block);
  const auto branch = branches.find(path.substr(dot + 1));
  if (branch == branches.end()) return std::nullopt;
  return b->second + "." + branch->second + "." + tensor->second;
}

std::string missing_weights_message(const std::string& path) {
  return "FID Inception weights not found: " + path +
         ". Download NVIDIA's TorchScript Inception (the one StyleGAN2-ADA and clean-fid use) from " +
         kNvidiaInceptionUrl + " (SHA-256 " + kNvidiaInceptionSha256 + ") or pytorch-fid's state dict from " +
         kPytorchFidInceptionUrl + " (SHA-256 " + kPytorchFidSha256 +
         ") to ~/.cache/repro/ or $REPRO_INCEPTION_WEIGHTS, or choose `" + kRandomInception +
         "` explicitly for toy runs (not comparable with published FIDs).";
}

InceptionWeightsInfo init_random_inception(FidInceptionV3& net, uint64_t seed) {
  torch::NoGradGuard no_grad;
  at::Generator gen = at::detail::createCPUGenerator(seed);
  for (auto& item : net->named_parameters(true)) {
    const std::string& key = item.key();
    torch::Tensor& p = item.value();
    if (p.dim() == 4) {
      const double fan_in = static_cast<double>(p.size(1) * p.size(2) * p.size(3));
      p.copy_(at::randn(p.sizes(), gen, p.options()) * std::sqrt(2.0 / fan_in));
    } else if (key == "fc.weight") {
      p.copy_(at::randn(p.sizes(), gen, p.options()) / std::sqrt(static_cast<double>(p.size(1))));
    } else if (ends_with(key, "bn.weight")) {
      p.fill_(1.0);
    } else {
      p.zero_();  // bn.bias, fc.bias
    }
  }
  for (auto& item : net->named_buffers(true)) {
    if (ends_with(item.key(), "running_var")) {
      item.value().fill_(1.0);
    } else {
      item.value().zero_();  // running_mean, num_batches_tracked
    }
  }
  InceptionWeightsInfo info;
  info.source = kRandomInception;
  info.format = "random";
  info.seed = seed;
  return info;
}

InceptionWeightsInfo load_inception_torchscript(FidInceptionV3& net, const std::string& path) {
  require_file(path);
  // The pinned digest first: a file that is not the published one is never parsed.
  InceptionWeightsInfo info;
  info.sha256 = checked_sha256(path, &info.pinned);
  torch::jit::Module module;
  try {
    module = torch::jit::load(path, torch::kCPU);
  } catch (const c10::Error& e) {
    throw IoError(path + ": not a TorchScript file torch::jit::load can read: " + e.what_without_backtrace());
  }
  std::map<std::string, torch::Tensor> source;
  for (const auto& p : module.named_parameters(true)) source[p.name] = p.value;
  for (const auto& b : module.named_buffers(true)) source[b.name] = b.value;
  assign_by_name(net, source, path);
  info.source = path;
  info.format = "torchscript";
  info.comparable_with_published = true;
  return info;
}

InceptionWeightsInfo load_inception_state_dict(FidInceptionV3& net, const std::string& path) {
  require_file(path);
  InceptionWeightsInfo info;
  info.sha256 = checked_sha256(path, &info.pinned);  // before parsing, as above
  const StateDictFile file = read_state_dict_file(path);
  static const std::map<std::string, torch::ScalarType> kTypes = {
      {"float32", torch::kFloat32},   {"float64", torch::kFloat64}, {"float16", torch::kFloat16},
      {"bfloat16", torch::kBFloat16}, {"int64", torch::kInt64},     {"int32", torch::kInt32}};
  std::map<std::string, torch::Tensor> source;
  for (const TensorRecord& record : file.tensors) {
    auto type = kTypes.find(record.dtype);
    if (type == kTypes.end())
      throw IoError(path + ": tensor " + record.name + " has unsupported dtype " + record.dtype);
    const std::string bytes = file.contiguous_bytes(record);
    source[record.name] = torch::from_blob(const_cast<char*>(bytes.data()), record.shape, type->second).clone();
  }
  assign_by_name(net, source, path);
  info.source = path;
  info.format = "state_dict";
  info.comparable_with_published = true;
  return info;
}

FidInceptionV3 load_fid_inception(const std::string& spec, InceptionWeightsInfo* info) {
  FidInceptionV3 net;
  InceptionWeightsInfo loaded;
  const std::string random_prefix = std::string(kRandomInception) + ":";
  if (spec == kRandomInception) {
    loaded = init_random_inception(net);
  } else if (starts_with(spec, random_prefix)) {
    const std::string seed = spec.substr(random_prefix.size());
    if (seed.empty() || seed.size() > 19 || seed.find_first_not_of("0123456789") != std::string::npos) {
      throw ConfigError("features", "features", "expected random-inception:SEED with a decimal seed, got " + spec);
    }
    loaded = init_random_inception(net, std::stoull(seed));
  } else {
    require_file(spec);
    loaded =
        is_torchscript_archive(spec) ? load_inception_torchscript(net, spec) : load_inception_state_dict(net, spec);
  }
  net->eval();
  if (info) *info = loaded;
  return net;
}

}  // namespace repro::metrics

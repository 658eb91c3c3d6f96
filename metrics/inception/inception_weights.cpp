#include "metrics/inception/inception_weights.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/script.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "core/util/errors.h"
#include "core/util/sha256.h"
#include "core/util/torch_pickle.h"
#include "core/util/zip_archive.h"

namespace repro::metrics {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string native_name(std::string key) {
  while (key.rfind("module.", 0) == 0) key = key.substr(7);
  return key;
}

void require_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw IoError(missing_weights_message(path));
}

std::string checked_sha256(const std::string& path) {
  const std::string digest = sha256_file_hex(path);
  const std::string name = std::filesystem::path(path).filename().string();
  if (name.find(std::string("-") + kPytorchFidSha256Prefix) != std::string::npos &&
      digest.rfind(kPytorchFidSha256Prefix, 0) != 0) {
    throw IoError(path + ": SHA-256 " + digest + " does not start with " + kPytorchFidSha256Prefix +
                  " as pytorch-fid's file name says; the download is corrupt or another file");
  }
  return digest;
}

std::string list_first(const std::vector<std::string>& names, size_t k = 5) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < k; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > k) out += ", ... (" + std::to_string(names.size()) + " in all)";
  return out;
}

// Copies `source` (file key -> tensor) into the network's parameters and buffers by the mapping of the
// header. Throws IoError naming `path` on an unknown or missing key or a shape mismatch.
void assign_by_name(FidInceptionV3& net, const std::map<std::string, torch::Tensor>& source, const std::string& path) {
  std::map<std::string, torch::Tensor> mapped;
  for (const auto& [key, tensor] : source) mapped[native_name(key)] = tensor;
  std::map<std::string, torch::Tensor> targets;
  for (const auto& item : net->named_parameters(true)) targets[item.key()] = item.value();
  for (const auto& item : net->named_buffers(true)) targets[item.key()] = item.value();

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
    std::string msg = path + ": not the FID Inception in pytorch-fid's layout";
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

std::string missing_weights_message(const std::string& path) {
  return "FID Inception weights not found: " + path +
         ". Download NVIDIA's TorchScript Inception (the one StyleGAN2-ADA and clean-fid use) from " +
         kNvidiaInceptionUrl + " or pytorch-fid's state dict from " + kPytorchFidInceptionUrl +
         " (its SHA-256 starts with " + kPytorchFidSha256Prefix +
         "; the SHA-256 of the file in use is printed with every result), or choose `" + kRandomInception +
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
  InceptionWeightsInfo info;
  info.source = path;
  info.format = "torchscript";
  info.sha256 = checked_sha256(path);
  info.comparable_with_published = true;
  return info;
}

InceptionWeightsInfo load_inception_state_dict(FidInceptionV3& net, const std::string& path) {
  require_file(path);
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
  InceptionWeightsInfo info;
  info.source = path;
  info.format = "state_dict";
  info.sha256 = checked_sha256(path);
  info.comparable_with_published = true;
  return info;
}

FidInceptionV3 load_fid_inception(const std::string& spec, InceptionWeightsInfo* info) {
  FidInceptionV3 net;
  InceptionWeightsInfo loaded;
  const std::string random_prefix = std::string(kRandomInception) + ":";
  if (spec == kRandomInception) {
    loaded = init_random_inception(net);
  } else if (spec.rfind(random_prefix, 0) == 0) {
    const std::string seed = spec.substr(random_prefix.size());
    if (seed.empty() || seed.find_first_not_of("0123456789") != std::string::npos) {
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

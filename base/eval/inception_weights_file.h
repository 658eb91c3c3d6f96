#pragma once
// The FID Inception weights as files, torch-free: where `features: inception` finds them and the
// published digests they must have. The loader (metrics/inception/inception_weights.h) checks a
// file against these before parsing it; the dry run's pre-flight (runner/plan/preflight.h) checks
// the same without LibTorch.
#include <optional>
#include <string>

namespace repro::metrics {

// Where to get real weights, for messages and docs.
inline constexpr const char* kNvidiaInceptionUrl =
    "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt";
inline constexpr const char* kPytorchFidInceptionUrl =
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth";
// pytorch-fid's file name carries the first 8 hex digits of its SHA-256 (torch.hub's convention).
inline constexpr const char* kPytorchFidSha256Prefix = "6726825d";
// The published files' SHA-256 (95,607,719 and 95,628,359 bytes). NVIDIA's is the digest
// crowsonkb/k-diffusion enforces on download (k_diffusion/evaluation.py); pytorch-fid does not
// publish one: this is the digest independent projects check, and it starts with the name's
// 6726825d. A file named like either must match its digest; any other file is accepted and its
// SHA-256 recorded with each result.
inline constexpr const char* kNvidiaInceptionSha256 =
    "f58cb9b6ec323ed63459aa4fb441fe750cfe39fafad6da5cb504a16f19e958f4";
inline constexpr const char* kPytorchFidSha256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2";

// The digest a weights file must have by its name: NVIDIA's for "inception-2015-12-05.pt",
// pytorch-fid's for a name holding "-6726825d"; nullopt for any other name.
std::optional<std::string> pinned_inception_sha256(const std::string& path);

// The weights file `features: inception` uses: $REPRO_INCEPTION_WEIGHTS, else the first of
// NVIDIA's inception-2015-12-05.pt and pytorch-fid's pt_inception-2015-12-05-6726825d.pth in
// $XDG_CACHE_HOME/repro (default ~/.cache/repro), else the NVIDIA path there (absent: the
// loader's error names both downloads).
std::string inception_weights_path();

}  // namespace repro::metrics

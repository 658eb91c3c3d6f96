#include "config/checkpoint_source.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>

#include "base/util/errors.h"
#include "base/util/sha256.h"
#include "config/train_identity.h"

namespace repro::config {

CheckpointSource read_checkpoint_source(StrictMap& m, const std::string& dir) {
  CheckpointSource c;
  m.get("path", c.path);
  m.get("sha256", c.sha256);
  m.get("iteration", c.iteration);
  m.get("ema", c.ema);
  m.finish();
  if (c.path.empty()) m.fail("path", "missing: the checkpoint file (a torch.save state dict)");
  std::string digest = c.sha256;  // upper-case digits are the same digest
  std::transform(digest.begin(), digest.end(), digest.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  if (!c.sha256.empty() && !is_sha256_hex(digest))
    m.fail("sha256", "expected 64 hex digits (sha256sum's output), got '" + c.sha256 + "'");
  c.sha256 = digest;
  if (c.iteration < 0) m.fail("iteration", "expected >= 0, got " + std::to_string(c.iteration));
  if (c.ema != "model") {
    char* end = nullptr;
    const double rate = std::strtod(c.ema.c_str(), &end);
    if (c.ema.empty() || *end != '\0' || !(rate >= 0 && rate < 1))
      m.fail("ema", "expected an EMA rate in [0, 1) such as 0.9999, or \"model\"; got '" + c.ema + "'");
  }
  namespace fs = std::filesystem;
  fs::path p(c.path);
  if (p.is_relative()) p = fs::path(dir) / p;
  c.path = fs::absolute(p).lexically_normal().string();
  return c;
}

nlohmann::json released_identity(const TrainFile& f, const CheckpointSource& c) {
  nlohmann::json id = nlohmann::json::object();
  id["checkpoint"] = {{"sha256", c.identity_sha256()}};
  id["diffusion"] = diffusion_identity(f.diffusion);
  id["model"] = model_identity(f.model);
  id["train"] = {{"seed", f.train.seed}};
  return id;
}

}  // namespace repro::config

#include "runner/plan/preflight.h"

#include <filesystem>
#include <set>
#include <tuple>

#include "base/eval/inception_weights_file.h"
#include "base/nn/unet_state_shapes.h"
#include "base/util/errors.h"
#include "base/util/sha256.h"
#include "base/util/torch_pickle.h"

namespace repro::runner {

namespace {

namespace fs = std::filesystem;

constexpr const char* kManifest = "manifest.json";  // datasets::kPackedManifestFile

PreflightCheck missing_or_ok(const std::string& what, const std::string& path) {
  std::error_code ec;
  const bool there = fs::exists(path, ec);
  return {what, path, there, there ? "found" : "missing", 0};
}

// A data path: present; a prepared dataset's fingerprint equal to every one its runs trained on.
PreflightCheck check_data(const std::string& path, const std::set<std::string>& recorded, const PreflightOptions& o) {
  PreflightCheck c = missing_or_ok("data", path);
  std::error_code ec;
  if (!c.ok || !fs::is_regular_file(fs::path(path) / kManifest, ec) || !o.manifest_fingerprint) return c;
  try {
    const std::string now = o.manifest_fingerprint(path);
    c.message = "prepared, fingerprint " + now.substr(0, 12) +
                (recorded.empty() ? " (none recorded yet)" : " as recorded by its runs");
    for (const auto& r : recorded)
      if (r != now) {
        c.ok = false;
        c.message = "fingerprint " + now + " is not " + r +
                    ", which a run trained on (the data changed since: prepare it again, or it is another dataset)";
      }
  } catch (const std::exception& e) {  // an unreadable manifest is a failed check, not a crash
    c.ok = false;
    c.message = e.what();
  }
  return c;
}

PreflightCheck check_weights(const std::string& path) {
  PreflightCheck c = missing_or_ok("inception weights", path);
  if (!c.ok) {
    c.message = std::string("missing (download ") + metrics::kNvidiaInceptionUrl + " or " +
                metrics::kPytorchFidInceptionUrl + "; README, Files you download yourself)";
    return c;
  }
  const auto pinned = metrics::pinned_inception_sha256(path);
  try {
    const std::string digest = sha256_file_hex(path);
    c.ok = !pinned || digest == *pinned;
    c.message = c.ok ? (pinned ? "SHA-256 matches the published file" : "SHA-256 " + digest + " (not a published name)")
                     : "SHA-256 " + digest + " is not the published " + *pinned + " (a corrupt download?)";
  } catch (const std::exception& e) {
    c.ok = false;
    c.message = e.what();
  }
  return c;
}

// The released file's digest, then its keys and shapes against `model`'s.
CheckpointCheck check_checkpoint(const config::CheckpointSource& src, const core::StateShapes& model) {
  CheckpointCheck out{{"checkpoint", src.path, false, "", 0}, CheckpointFault::kFile};
  std::string& message = out.check.message;
  std::error_code ec;
  if (src.actual_sha256.empty() || !fs::exists(src.path, ec)) {
    message = "missing (expected SHA-256 " + (src.sha256.empty() ? std::string("-") : src.sha256) + "; " +
              config::kCheckpointsDirHint + ")";
    return out;
  }
  if (!src.sha256.empty() && src.sha256 != src.actual_sha256) {
    message = "SHA-256 " + src.actual_sha256 + " is not the pinned " + src.sha256 + " (checkpoint.sha256)";
    return out;
  }
  try {
    core::StateShapes file;
    for (const TensorRecord& t : read_state_dict_records(src.path).tensors) file.emplace_back(t.name, t.shape);
    const core::StateDictMismatch mismatch = core::compare_state_shapes(model, file);
    out.fault = mismatch.empty() ? CheckpointFault::kNone : CheckpointFault::kContent;
    out.check.ok = mismatch.empty();
    message = mismatch.empty() ? "SHA-256 " + src.actual_sha256.substr(0, 12) + "..." +
                                     (src.sha256.empty() ? " (not pinned)" : " as pinned") + ", " +
                                     std::to_string(file.size()) + " tensors match the model"
                               : mismatch.describe("; ");
  } catch (const IoError& e) {  // not a readable torch.save zip: the file is at fault
    message = e.what();
  } catch (const std::exception& e) {  // readable, but not a state dict the model can take
    out.fault = CheckpointFault::kContent;
    message = e.what();
  }
  return out;
}

// The images eval.start (from data) and eval.exposure read, each once.
std::vector<std::string> x0_paths(const EvalSpec& e) {
  std::vector<std::string> paths;
  if (e.start.from == "data") paths.push_back(e.start_data());
  if (e.exposure.num > 0 && (paths.empty() || paths.front() != e.exposure_data())) paths.push_back(e.exposure_data());
  return paths;
}

}  // namespace

std::vector<CheckpointCheck> checkpoint_checks(const std::vector<PlannedRun>& runs,
                                               const std::set<std::string>& sampled) {
  // (file, pinned digest, model's state shapes) -> runs reading it, in first-use order.
  std::vector<CheckpointCheck> out;
  std::map<std::tuple<std::string, std::string, core::StateShapes>, size_t> index;
  std::vector<std::set<std::string>> users;
  for (const auto& r : runs) {
    if (!r.checkpoint || !sampled.count(r.run_id)) continue;
    core::StateShapes model;
    try {
      model = core::unet_state_shapes(r.train.model);
    } catch (const std::exception& e) {  // expand() validated the config; a row, not a crash
      out.push_back({{"checkpoint", r.checkpoint->path, false, e.what(), 1}, CheckpointFault::kContent});
      users.push_back({r.run_id});
      continue;
    }
    auto [it, fresh] = index.emplace(std::make_tuple(r.checkpoint->path, r.checkpoint->sha256, model), out.size());
    if (fresh) {
      out.push_back(check_checkpoint(*r.checkpoint, model));
      users.emplace_back();
    }
    users[it->second].insert(r.run_id);
  }
  for (size_t i = 0; i < out.size(); ++i) out[i].check.runs = static_cast<int>(users[i].size());
  return out;
}

std::vector<PreflightCheck> preflight(const std::vector<PlannedRun>& runs, const std::vector<TaskSpec>& tasks,
                                      const std::vector<bool>& to_run, const std::map<std::string, RunHistory>& history,
                                      const PreflightOptions& options) {
  // Per run, not per task: which runs train and which evaluate.
  std::set<std::string> trains, samples, evaluates;
  for (size_t i = 0; i < tasks.size() && i < to_run.size(); ++i) {
    if (!to_run[i]) continue;
    if (tasks[i].kind == "train") trains.insert(tasks[i].run_id);
    if (tasks[i].kind == "sample") samples.insert(tasks[i].run_id);
    if (tasks[i].kind == "eval") evaluates.insert(tasks[i].run_id);
  }
  // (what, path) -> runs that need it, in first-use order.
  std::vector<std::pair<std::string, std::string>> order;
  std::map<std::pair<std::string, std::string>, std::set<std::string>> users;
  const auto need = [&](const std::string& what, const std::string& path, const std::string& run_id) {
    const auto key = std::make_pair(what, path);
    if (!users.count(key)) order.push_back(key);
    users[key].insert(run_id);
  };
  for (const auto& r : runs) {  // every cell: cells sharing a run may evaluate against other references
    if (trains.count(r.run_id)) need("data", r.train.data.path, r.run_id);
    if (!r.eval) continue;
    // The x0 images of chains from data and of exposure tasks (the reference batch by default).
    if (samples.count(r.run_id))
      for (const std::string& path : x0_paths(*r.eval))
        need(path == r.eval->reference ? "reference" : "x0 images", path, r.run_id);
    if (!evaluates.count(r.run_id)) continue;
    if (!r.eval->reference.empty()) need("reference", r.eval->reference, r.run_id);
    if (r.eval->features == "inception") need("inception weights", options.inception_weights, r.run_id);
  }
  std::vector<PreflightCheck> out;
  for (auto& c : checkpoint_checks(runs, samples)) out.push_back(std::move(c.check));
  for (const auto& key : order) {
    const auto& [what, path] = key;
    PreflightCheck c;
    if (what == "data") {
      std::set<std::string> recorded;
      for (const auto& id : users[key])
        if (const auto h = history.find(id); h != history.end() && !h->second.data_fingerprint.empty())
          recorded.insert(h->second.data_fingerprint);
      c = check_data(path, recorded, options);
    } else {
      c = what == "inception weights" ? check_weights(path) : missing_or_ok(what, path);
    }
    c.runs = static_cast<int>(users[key].size());
    out.push_back(std::move(c));
  }
  return out;
}

const PreflightCheck* first_failure(const std::vector<PreflightCheck>& checks) {
  for (const auto& c : checks)
    if (!c.ok) return &c;
  return nullptr;
}

}  // namespace repro::runner

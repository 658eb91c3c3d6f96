#pragma once
// The checkpoint a resume of a run would read, found without LibTorch, so that `repro gc` never
// deletes it: the newest state<K>.json that base/train/state_file.h's read_state_file takes (its
// .sha256, its members, its listed files with their SHA-256), the rule core/train/train_state.h's
// find_latest_valid_checkpoint applies too, so that gc never takes another checkpoint than a
// resume would.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace repro::runner {

// The step of the newest complete checkpoint in `checkpoints_dir`, or nothing (no folder, no
// complete checkpoint, a folder that cannot be listed to its end). Each newer state file skipped,
// and a failed listing, is described in `skipped` (when given).
std::optional<int64_t> latest_complete_checkpoint(const std::string& checkpoints_dir,
                                                  std::vector<std::string>* skipped = nullptr);

}  // namespace repro::runner

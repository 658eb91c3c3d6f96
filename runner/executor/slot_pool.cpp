#include "runner/executor/slot_pool.h"

#include "base/util/errors.h"
#include "base/util/strings.h"

namespace repro::runner {

int slot_weight(const SlotRequest& slot) { return slot.gpus > 0 ? 1 : slot.ranks(); }

SlotPool::SlotPool(int max_parallel, std::vector<std::string> gpus)
    : max_parallel_(max_parallel), gpus_(std::move(gpus)), gpu_busy_(gpus_.size(), false) {}

bool SlotPool::fits(const SlotRequest& slot) const {
  if (slot.gpus < 0 || slot.processes < 0 || slot.gpus > static_cast<int>(gpus_.size())) return false;
  return max_parallel_ == 0 || slot_weight(slot) <= max_parallel_;
}

bool SlotPool::can_take(const SlotRequest& slot) const {
  if (!fits(slot)) return false;
  if (max_parallel_ > 0 && used_ + slot_weight(slot) > max_parallel_) return false;
  return static_cast<int>(free_gpus().size()) >= slot.gpus;
}

SlotPool::Taken SlotPool::take(const SlotRequest& slot) {
  REPRO_CHECK(can_take(slot), "slots taken without a free slot");
  Taken t;
  t.weight = slot_weight(slot);
  std::vector<std::string> ids;
  for (size_t i = 0; i < gpu_busy_.size() && static_cast<int>(t.gpu_slots.size()) < slot.gpus; ++i)
    if (!gpu_busy_[i]) {
      gpu_busy_[i] = true;
      t.gpu_slots.push_back(i);
      ids.push_back(gpus_[i]);
    }
  t.gpus = join(ids, ",");
  used_ += t.weight;
  return t;
}

void SlotPool::release(const Taken& taken) {
  for (size_t i : taken.gpu_slots) gpu_busy_[i] = false;
  used_ -= taken.weight;
}

std::vector<std::string> SlotPool::free_gpus() const {
  std::vector<std::string> out;
  for (size_t i = 0; i < gpus_.size(); ++i)
    if (!gpu_busy_[i]) out.push_back(gpus_[i]);
  return out;
}

}  // namespace repro::runner

#pragma once
// The slots of one machine as the local executor hands them out: CPU slots (max_parallel) and GPU
// ids. One copy of the rules for every executor that runs tasks here (and for the test fakes that
// follow them). Single-threaded.
#include <cstddef>
#include <string>
#include <vector>

#include "runner/executor/executor.h"

namespace repro::runner {

// What a task counts against max_parallel: 1, or N CPU slots for a CPU task of N processes (each
// rank keeps a core busy).
int slot_weight(const SlotRequest& slot);

class SlotPool {
 public:
  // What one task holds; give it back with release().
  struct Taken {
    std::vector<size_t> gpu_slots;  // indices into the pool's GPU ids
    int weight = 1;                 // slot_weight of its request
    std::string gpus;               // its GPU ids for CUDA_VISIBLE_DEVICES: "0,1", or ""
  };

  // max_parallel: tasks at once, counted by slot_weight; 0 means unlimited (as the GPUs allow).
  // gpus: the ids handed out, lowest index first. The caller validates both.
  SlotPool(int max_parallel, std::vector<std::string> gpus);

  // Whether the request could ever run here: no more GPUs than the pool has, and (with a limit)
  // no more CPU slots than max_parallel.
  bool fits(const SlotRequest& slot) const;
  // Whether it fits and enough slots and GPU ids are free now.
  bool can_take(const SlotRequest& slot) const;
  // Takes the slots and the lowest free GPU ids. REQUIRES: can_take(slot).
  Taken take(const SlotRequest& slot);
  void release(const Taken& taken);

  // GPU ids not held by a task, in pool order.
  std::vector<std::string> free_gpus() const;

 private:
  int max_parallel_;
  std::vector<std::string> gpus_;
  std::vector<bool> gpu_busy_;  // parallel to gpus_
  int used_ = 0;                // sum of the weights taken
};

}  // namespace repro::runner

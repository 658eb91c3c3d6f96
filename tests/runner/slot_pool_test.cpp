// SlotPool: the CPU slots and GPU ids of the local executor, counted by hand.
#include "runner/executor/slot_pool.h"

#include <gtest/gtest.h>

namespace repro::runner {
namespace {

TEST(SlotPool, CpuTasksCountTheirProcesses) {
  EXPECT_EQ(slot_weight({}), 1);
  EXPECT_EQ(slot_weight({0, 3}), 3);
  EXPECT_EQ(slot_weight({2}), 1);  // a GPU task counts once, whatever its ranks
  SlotPool pool(3, {});
  EXPECT_FALSE(pool.fits({1}));     // no GPUs here
  EXPECT_FALSE(pool.fits({0, 4}));  // more processes than slots: never
  EXPECT_FALSE(pool.fits({0, -1}));
  const SlotPool::Taken two = pool.take({0, 2});
  EXPECT_EQ(two.weight, 2);
  EXPECT_EQ(two.gpus, "");
  EXPECT_TRUE(pool.can_take({}));
  EXPECT_FALSE(pool.can_take({0, 2}));
  const SlotPool::Taken one = pool.take({});
  EXPECT_FALSE(pool.can_take({}));
  pool.release(two);
  EXPECT_TRUE(pool.can_take({0, 2}));
  EXPECT_FALSE(pool.can_take({0, 3}));
  pool.release(one);
  EXPECT_TRUE(pool.can_take({0, 3}));
}

TEST(SlotPool, GpuIdsGoLowestFreeFirst) {
  SlotPool pool(0, {"4", "5", "6"});
  EXPECT_TRUE(pool.fits({3}));
  EXPECT_FALSE(pool.fits({4}));
  EXPECT_TRUE(pool.fits({0, 64}));  // 0: CPU tasks unlimited
  const SlotPool::Taken a = pool.take({1});
  const SlotPool::Taken b = pool.take({1});
  EXPECT_EQ(a.gpus, "4");
  EXPECT_EQ(b.gpus, "5");
  EXPECT_EQ(a.gpu_slots, std::vector<size_t>{0});
  pool.release(a);
  EXPECT_EQ(pool.free_gpus(), (std::vector<std::string>{"4", "6"}));
  EXPECT_FALSE(pool.can_take({3}));
  const SlotPool::Taken c = pool.take({2});
  EXPECT_EQ(c.gpus, "4,6");
  EXPECT_TRUE(pool.free_gpus().empty());
  EXPECT_TRUE(pool.can_take({}));  // a CPU task still fits
  pool.release(b);
  pool.release(c);
  EXPECT_EQ(pool.take({3}).gpus, "4,5,6");
}

TEST(SlotPool, MaxParallelCountsGpuTasksToo) {
  SlotPool pool(1, {"0", "1"});
  pool.take({1});
  EXPECT_FALSE(pool.can_take({1}));  // a GPU is free, the one slot is not
  EXPECT_EQ(pool.free_gpus(), std::vector<std::string>{"1"});
}

}  // namespace
}  // namespace repro::runner

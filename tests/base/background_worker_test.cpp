// BackgroundWorker: jobs run in submission order on one thread other than the caller's, results
// and exceptions come back through the futures, and destruction runs what is still queued.
#include "base/util/background_worker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

namespace repro {
namespace {

TEST(BackgroundWorker, RunsJobsInOrderOnOneOtherThread) {
  BackgroundWorker worker;
  std::vector<int> order;  // touched by the worker only, read after the last future
  std::vector<std::thread::id> threads;
  std::vector<std::future<int>> results;
  for (int i = 0; i < 20; ++i)
    results.push_back(worker.submit([&order, &threads, i] {
      order.push_back(i);
      threads.push_back(std::this_thread::get_id());
      return i * i;
    }));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(results[i].get(), i * i);
  ASSERT_EQ(order.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(order[i], i);
  for (const auto& id : threads) {
    EXPECT_EQ(id, threads.front()) << "every job on the same long-lived thread";
    EXPECT_NE(id, std::this_thread::get_id());
  }
}

TEST(BackgroundWorker, AnExceptionReachesTheFutureAndTheWorkerGoesOn) {
  BackgroundWorker worker;
  auto bad = worker.submit([]() -> int { throw std::runtime_error("job failed"); });
  auto good = worker.submit([] { return 7; });
  EXPECT_THROW(bad.get(), std::runtime_error);
  EXPECT_EQ(good.get(), 7);
}

TEST(BackgroundWorker, DestructionRunsTheQueuedJobs) {
  std::atomic<int> done{0};
  {
    BackgroundWorker worker;
    for (int i = 0; i < 5; ++i)
      worker.submit([&done] {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        ++done;
      });
  }
  EXPECT_EQ(done.load(), 5);
}

}  // namespace
}  // namespace repro

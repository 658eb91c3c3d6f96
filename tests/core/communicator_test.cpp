// The collectives of data-parallel training over a real Gloo process group: two ranks as two
// threads of this process, meeting through a FileStore, as `repro train --nproc 2` ranks do.
#include <gtest/gtest.h>

#include <thread>

#include "core/train/communicator.h"
#include "tests/support/test_support.h"

using namespace repro;
using core::Communicator;

namespace {
// Runs body(comm) as ranks 0 and 1 concurrently.
template <typename Body>
void with_two_ranks(const test::TempDir& dir, Body body) {
  std::vector<std::thread> threads;
  std::vector<std::string> errors(2);
  for (int r = 0; r < 2; ++r)
    threads.emplace_back([&, r] {
      try {
        core::DistEnv env;
        env.rank = r;
        env.world_size = 2;
        env.source = "test";
        env.store_file = dir.file("store");
        env.timeout_s = 60;
        auto comm = core::make_communicator(env, torch::kCPU);
        body(*comm);
      } catch (const std::exception& e) {
        errors[r] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
}
}  // namespace

TEST(Communicator, SingleProcessIsTheIdentity) {
  auto comm = core::make_communicator(core::DistEnv{}, torch::kCPU);
  EXPECT_EQ(comm->world_size(), 1);
  auto t = torch::tensor({1.0, 2.0});
  comm->all_reduce_sum(t);
  EXPECT_TRUE(torch::equal(t, torch::tensor({1.0, 2.0})));
  EXPECT_TRUE(torch::equal(comm->all_gather(t), t));
}

TEST(Communicator, TwoGlooRanksReduceGatherAndBroadcast) {
  test::TempDir dir;
  std::vector<torch::Tensor> sums(2), maxes(2), gathered(2), broadcast(2);
  with_two_ranks(dir, [&](Communicator& comm) {
    const int r = comm.rank();
    auto s = torch::tensor({1.0 + r, 10.0 * r}, torch::kFloat64);
    comm.all_reduce_sum(s);
    sums[r] = s;
    auto m = torch::tensor({r == 0 ? 5 : 2, r == 0 ? 0 : 7}, torch::kInt32);
    comm.all_reduce_max(m);
    maxes[r] = m;
    // Rank-order concatenation, rows of any shape and dtype (RNG states are uint8 rows).
    gathered[r] = comm.all_gather(torch::full({2, 3}, r + 1, torch::kUInt8));
    std::vector<torch::Tensor> b{torch::full({4}, 100.0f * static_cast<float>(r + 1)), torch::arange(3) * (r + 1)};
    comm.broadcast(b, 0);
    broadcast[r] = torch::cat({b[0], b[1].to(torch::kFloat32)});
    comm.barrier();
  });
  for (int r = 0; r < 2; ++r) {
    EXPECT_TRUE(torch::equal(sums[r], torch::tensor({3.0, 10.0}, torch::kFloat64))) << sums[r];
    EXPECT_TRUE(torch::equal(maxes[r], torch::tensor({5, 7}, torch::kInt32))) << maxes[r];
    auto want = torch::cat({torch::full({2, 3}, 1, torch::kUInt8), torch::full({2, 3}, 2, torch::kUInt8)});
    EXPECT_TRUE(torch::equal(gathered[r], want)) << gathered[r];
    EXPECT_TRUE(torch::equal(broadcast[r], torch::tensor({100.f, 100.f, 100.f, 100.f, 0.f, 1.f, 2.f}))) << broadcast[r];
  }
}

TEST(Communicator, RendezvousWithoutPeersTimesOutWithAClearError) {
  test::TempDir dir;
  core::DistEnv env;
  env.rank = 0;
  env.world_size = 2;
  env.store_file = dir.file("store");
  env.timeout_s = 2;
  const std::string msg = test::error_message([&] { core::make_communicator(env, torch::kCPU); });
  EXPECT_NE(msg.find("rank 0 of 2"), std::string::npos) << msg;
}

#include "core/train/communicator.h"

#include <torch/version.h>
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#endif
#ifdef REPRO_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef REPRO_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#include <cstdlib>

#include "base/util/errors.h"

namespace repro::core {

namespace {

class SingleCommunicator : public Communicator {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  void broadcast(std::vector<torch::Tensor>&, int) override {}
  void all_reduce_sum(torch::Tensor&) override {}
  void all_reduce_max(torch::Tensor&) override {}
  torch::Tensor all_gather(const torch::Tensor& t) override { return t; }
  void barrier() override {}
  std::string describe() const override { return "single process"; }
};

// LibTorch 2 split ProcessGroup into a front end and per-device Backends (ProcessGroupGloo and
// ProcessGroupNCCL are Backends there); the collectives used here have one signature in both.
#if TORCH_VERSION_MAJOR >= 2
using CollectiveBackend = c10d::Backend;
#else
using CollectiveBackend = c10d::ProcessGroup;
#endif

class ProcessGroupCommunicator : public Communicator {
 public:
  // `wire`: where the backend wants tensors (the CPU for Gloo here, the GPU for NCCL).
  ProcessGroupCommunicator(c10::intrusive_ptr<CollectiveBackend> pg, torch::Device wire, std::string what)
      : pg_(std::move(pg)), wire_(wire), what_(std::move(what)) {}
  int rank() const override { return pg_->getRank(); }
  int world_size() const override { return pg_->getSize(); }

  void broadcast(std::vector<torch::Tensor>& tensors, int root) override {
    for (auto& t : tensors) {
      std::vector<torch::Tensor> buf{staged(t)};
      c10d::BroadcastOptions o;
      o.rootRank = root;
      pg_->broadcast(buf, o)->wait();
      unstage(buf[0], t);
    }
  }
  void all_reduce_sum(torch::Tensor& t) override { all_reduce(t, c10d::ReduceOp::SUM); }
  void all_reduce_max(torch::Tensor& t) override { all_reduce(t, c10d::ReduceOp::MAX); }

  torch::Tensor all_gather(const torch::Tensor& t) override {
    std::vector<torch::Tensor> in{staged(t)};
    std::vector<std::vector<torch::Tensor>> out(1);
    for (int r = 0; r < world_size(); ++r) out[0].push_back(torch::empty_like(in[0]));
    pg_->allgather(out, in)->wait();
    return torch::cat(out[0]).to(t.device());
  }
  void barrier() override { pg_->barrier()->wait(); }
  std::string describe() const override { return what_; }

 private:
  void all_reduce(torch::Tensor& t, c10d::ReduceOp op) {
    std::vector<torch::Tensor> buf{staged(t)};
    c10d::AllreduceOptions o;
    o.reduceOp = op;
    pg_->allreduce(buf, o)->wait();
    unstage(buf[0], t);
  }
  // Gloo here is built for the CPU (CUDA tensors travel through a host copy); NCCL takes only
  // CUDA tensors (the trainer's small CPU tensors travel through the GPU). A tensor already in
  // place and contiguous is used as it is.
  torch::Tensor staged(const torch::Tensor& t) const { return t.to(wire_).contiguous(); }
  static void unstage(const torch::Tensor& buf, torch::Tensor& t) {
    if (!buf.is_same(t)) t.copy_(buf);
  }

  c10::intrusive_ptr<CollectiveBackend> pg_;
  torch::Device wire_;
  std::string what_;
};

}  // namespace

std::unique_ptr<Communicator> make_communicator(const DistEnv& env, const torch::Device& device) {
  if (!env.distributed()) return std::make_unique<SingleCommunicator>();
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(env.timeout_s) * 1000);
  c10::intrusive_ptr<c10d::Store> store;
  try {
    if (!env.store_file.empty()) {
      store = c10::make_intrusive<c10d::FileStore>(env.store_file, env.world_size);
    } else {
      c10d::TCPStoreOptions o;
      o.port = static_cast<uint16_t>(env.master_port);
      o.isServer = env.rank == 0 && !env.agent_store;
      o.numWorkers = env.world_size;
      o.waitWorkers = !env.agent_store;
      o.timeout = timeout;
      store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, o);
      if (env.agent_store)
        store = c10::make_intrusive<c10d::PrefixStore>("/worker/attempt_" + std::to_string(env.restart_count), store);
    }
    store->setTimeout(timeout);
  } catch (const std::exception& e) {
    throw IoError("distributed rendezvous failed (" + env.describe() + "): " + e.what());
  }
#ifdef REPRO_NCCL
  if (device.is_cuda()) {
    auto opts = c10d::ProcessGroupNCCL::Options::create();
    opts->timeout = timeout;
    auto pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, env.rank, env.world_size, opts);
    return std::make_unique<ProcessGroupCommunicator>(pg, device, "nccl, " + env.describe());
  }
#endif
#ifndef REPRO_GLOO
  (void)device;
  throw Error("distributed training (" + env.describe() +
              ") needs c10d's Gloo, and this build's LibTorch has no Gloo headers: build with "
              "libgloo-dev (Debian), or with -DREPRO_NCCL=ON for CUDA tensors");
#else
  try {
    auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
    // On one machine bind to the loopback address; otherwise GLOO_SOCKET_IFNAME or the address
    // the host name resolves to (c10d's default).
    if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME")) {
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    } else if (env.single_node || env.master_addr == "127.0.0.1" || env.master_addr == "localhost") {
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    } else {
      opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    opts->threads = 2;
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>("repro/", store);
    auto pg = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, env.rank, env.world_size, opts);
    std::string what =
        std::string("gloo") + (device.is_cuda() ? " (CUDA tensors staged on the host)" : "") + ", " + env.describe();
    return std::make_unique<ProcessGroupCommunicator>(pg, torch::kCPU, what);
  } catch (const std::exception& e) {
    throw IoError("joining the process group failed (" + env.describe() + "): " + e.what());
  }
#endif
}

}  // namespace repro::core

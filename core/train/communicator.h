#pragma once
// The collectives data-parallel training needs, over c10d: Gloo between processes (tensors on the
// CPU; CUDA tensors are staged through host memory), NCCL on CUDA when LibTorch was built with it
// (REPRO_NCCL). A single process gets a communicator whose collectives are the identity, so the
// trainer has one code path.
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "base/train/dist_env.h"

namespace repro::core {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  // Every rank's tensors take the values of `root`'s (in place; same shapes on every rank).
  virtual void broadcast(std::vector<torch::Tensor>& tensors, int root) = 0;
  // In place: the element-wise sum (or max) over ranks.
  virtual void all_reduce_sum(torch::Tensor& t) = 0;
  virtual void all_reduce_max(torch::Tensor& t) = 0;
  // [n, ...] on every rank -> [world_size * n, ...], rank 0's rows first. Same n on every rank.
  virtual torch::Tensor all_gather(const torch::Tensor& t) = 0;
  virtual void barrier() = 0;
  virtual std::string describe() const = 0;
};

// Joins the process group `env` describes (blocks until every rank has joined, or env.timeout_s
// passes: then IoError). A single-process env gives the identity communicator. `device` picks the
// backend: NCCL for CUDA when built with it, otherwise Gloo.
std::unique_ptr<Communicator> make_communicator(const DistEnv& env, const torch::Device& device);

}  // namespace repro::core

// Data-parallel collectives for the learner ranks, behind an interface the trainer and the
// tests share. Implementations wrap c10d process groups: Gloo on CPU (Debian's LibTorch ships
// ProcessGroupGloo; its headers need libgloo-dev), NCCL on GPU builds (SEAMLESS_GPU).
// Ranks rendezvous through c10d's TCPStore (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT as
// PyTorchJob sets them), or through an in-process HashStore for tests and benchmarks where
// ranks are threads.
#ifndef SEAMLESS_LEARNER_COLLECTIVE_H_
#define SEAMLESS_LEARNER_COLLECTIVE_H_

#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace seamless {

class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  virtual std::string backend() const = 0;
  // Element-wise sum over ranks, in place; every rank ends with the sum.
  virtual absl::Status AllReduceSum(std::vector<at::Tensor>& tensors) = 0;
  // Every rank ends with `root`'s values, in place.
  virtual absl::Status Broadcast(std::vector<at::Tensor>& tensors, int root) = 0;
  // `full` (1-D, world_size * shard.numel() elements) ends with every rank's `shard`, rank
  // order. `shard` may be a view into `full`.
  virtual absl::Status AllGather(const at::Tensor& shard, at::Tensor& full) = 0;
  // `shard` (1-D, full.numel() / world_size elements) ends with this rank's slice of the
  // element-wise sum of every rank's `full`. `full` is clobbered. Gloo has no reduce-scatter
  // in LibTorch 1.13: there it is an all-reduce of `full` and a copy of the slice, which moves
  // twice the bytes of a ring reduce-scatter (2(W-1)/W of `full` per rank, not (W-1)/W).
  virtual absl::Status ReduceScatterSum(at::Tensor& full, at::Tensor& shard) = 0;
};

// World of one: collectives are no-ops.
std::unique_ptr<Collective> SingleRankCollective();

struct RendezvousOptions {
  int rank = 0;
  int world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::string backend = "gloo";  // gloo | nccl (GPU builds)
  double timeout_s = 1800;
};

// Reads RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT (absent: a world of one).
absl::StatusOr<RendezvousOptions> RendezvousFromEnv();

// Joins the group: rank 0 hosts the TCPStore, the others connect to it.
absl::StatusOr<std::unique_ptr<Collective>> ConnectCollective(const RendezvousOptions& options);

// Threads as ranks: every rank of one world passes the same rendezvous.
class InProcessRendezvous {
 public:
  InProcessRendezvous();
  ~InProcessRendezvous();
  absl::StatusOr<std::unique_ptr<Collective>> Join(int rank, int world_size, double timeout_s = 60);

 private:
  struct Store;
  std::unique_ptr<Store> store_;
};

// Helpers built on the interface.
// Broadcasts a byte string of any length from `root` (size first, then the bytes).
absl::Status BroadcastBytes(Collective& collective, std::string* bytes, int root);
// All-reduces doubles (metrics sums) in one float64 tensor.
absl::Status AllReduceDoubles(Collective& collective, std::vector<double>* values);
// All-reduces tensors by packing them into flat buckets of at most `bucket_elements`, one
// collective per bucket (Gloo's per-call overhead dominates for many small gradients).
absl::Status AllReduceCoalesced(Collective& collective, const std::vector<at::Tensor>& tensors,
                                int64_t bucket_elements = int64_t{1} << 24);

}  // namespace seamless

#endif  // SEAMLESS_LEARNER_COLLECTIVE_H_

#include "learner/collective.h"

// c10d's headers hide the Gloo and NCCL groups unless these are defined (TorchConfig.cmake
// passes USE_C10D_GLOO for Debian's build; Gloo's symbols are in libtorch_cpu).
// SEAMLESS_NO_GLOO: a GPU build against a LibTorch shipped without Gloo's headers (PyTorch's
// own); NCCL is then the only backend.
#if !defined(USE_C10D_GLOO) && !defined(SEAMLESS_NO_GLOO)
#define USE_C10D_GLOO 1
#endif
#if defined(SEAMLESS_GPU) && !defined(USE_C10D_NCCL)
#define USE_C10D_NCCL 1
#endif
#include <torch/version.h>

#include <torch/csrc/distributed/c10d/HashStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#ifndef SEAMLESS_NO_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef SEAMLESS_GPU
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#include <cstdlib>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"

namespace seamless {
namespace {

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(int64_t(seconds * 1000));
}

class SingleRank : public Collective {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  std::string backend() const override { return "single"; }
  absl::Status AllReduceSum(std::vector<at::Tensor>&) override { return absl::OkStatus(); }
  absl::Status Broadcast(std::vector<at::Tensor>&, int) override { return absl::OkStatus(); }
  absl::Status AllGather(const at::Tensor& shard, at::Tensor& full) override {
    if (!shard.is_same(full)) full.copy_(shard.reshape(full.sizes()));
    return absl::OkStatus();
  }
  absl::Status ReduceScatterSum(at::Tensor& full, at::Tensor& shard) override {
    if (!shard.is_same(full)) shard.copy_(full.reshape(shard.sizes()));
    return absl::OkStatus();
  }
};

// A c10d process group; every call waits for completion (the trainer has nothing to overlap
// yet) and turns LibTorch's exceptions into a Status naming the collective.
class ProcessGroupCollective : public Collective {
 public:
  ProcessGroupCollective(c10::intrusive_ptr<c10d::ProcessGroup> group, std::string backend)
      : group_(std::move(group)), backend_(std::move(backend)) {}
  int rank() const override { return group_->getRank(); }
  int world_size() const override { return group_->getSize(); }
  std::string backend() const override { return backend_; }

  absl::Status AllReduceSum(std::vector<at::Tensor>& tensors) override {
    if (tensors.empty()) return absl::OkStatus();
    try {
      // One tensor per call: c10d's multi-tensor form means one tensor per local device.
      for (at::Tensor& t : tensors) {
        std::vector<at::Tensor> one{OnDevice(t)};
        group_->allreduce(one)->wait();
        if (!one[0].is_same(t)) t.copy_(one[0]);
      }
    } catch (const std::exception& e) {
      return absl::UnavailableError(
          absl::StrCat(backend_, " all-reduce on rank ", rank(), " failed: ", e.what()));
    }
    return absl::OkStatus();
  }

  absl::Status Broadcast(std::vector<at::Tensor>& tensors, int root) override {
    try {
      for (at::Tensor& t : tensors) {
        std::vector<at::Tensor> one{OnDevice(t)};
        c10d::BroadcastOptions options;
        options.rootRank = root;
        group_->broadcast(one, options)->wait();
        if (!one[0].is_same(t)) t.copy_(one[0]);
      }
    } catch (const std::exception& e) {
      return absl::UnavailableError(
          absl::StrCat(backend_, " broadcast on rank ", rank(), " failed: ", e.what()));
    }
    return absl::OkStatus();
  }

  absl::Status AllGather(const at::Tensor& shard, at::Tensor& full) override {
    const int64_t n = shard.numel();
    if (full.numel() != n * world_size()) {
      return absl::InvalidArgumentError(absl::StrCat("all-gather of ", n, " elements into ",
                                                     full.numel(), " on ", world_size(), " ranks"));
    }
    try {
      // Gloo copies `shard` into its own buffer before writing the outputs, so the input may
      // alias a slice of `full`; the copy below keeps that true for NCCL too.
      std::vector<at::Tensor> input{OnDevice(shard.reshape({-1}).clone())};
      at::Tensor target = OnDevice(full);
      std::vector<std::vector<at::Tensor>> outputs(1);
      for (int r = 0; r < world_size(); ++r) outputs[0].push_back(target.narrow(0, r * n, n));
      group_->allgather(outputs, input)->wait();
      if (!target.is_same(full)) full.copy_(target);
    } catch (const std::exception& e) {
      return absl::UnavailableError(
          absl::StrCat(backend_, " all-gather on rank ", rank(), " failed: ", e.what()));
    }
    return absl::OkStatus();
  }

  absl::Status ReduceScatterSum(at::Tensor& full, at::Tensor& shard) override {
    const int64_t n = shard.numel();
    if (full.numel() != n * world_size()) {
      return absl::InvalidArgumentError(absl::StrCat("reduce-scatter of ", full.numel(),
                                                     " elements into ", n, " on ", world_size(),
                                                     " ranks"));
    }
#ifdef SEAMLESS_GPU
    if (backend_ == "nccl") {
      try {
        at::Tensor source = OnDevice(full);
        std::vector<at::Tensor> output{OnDevice(shard)};
        std::vector<std::vector<at::Tensor>> inputs(1);
        for (int r = 0; r < world_size(); ++r) inputs[0].push_back(source.narrow(0, r * n, n));
        group_->reduce_scatter(output, inputs)->wait();
        if (!output[0].is_same(shard)) shard.copy_(output[0]);
      } catch (const std::exception& e) {
        return absl::UnavailableError(
            absl::StrCat("nccl reduce-scatter on rank ", rank(), " failed: ", e.what()));
      }
      return absl::OkStatus();
    }
#endif
    // In slices, so that Gloo's buffers stay small next to a vocabulary-sized gradient.
    constexpr int64_t kSlice = int64_t{1} << 23;
    at::Tensor flat = full.view({-1});
    for (int64_t at = 0; at < flat.numel(); at += kSlice) {
      std::vector<at::Tensor> one{flat.narrow(0, at, std::min(kSlice, flat.numel() - at))};
      RETURN_IF_ERROR(AllReduceSum(one));
    }
    shard.copy_(full.narrow(0, int64_t(rank()) * n, n).view(shard.sizes()));
    return absl::OkStatus();
  }

 private:
  // NCCL reduces CUDA tensors only: host tensors (metric sums, command bytes) take a trip
  // through the current GPU.
  at::Tensor OnDevice(const at::Tensor& t) const {
    return backend_ == "nccl" && !t.is_cuda() ? t.to(at::kCUDA) : t;
  }

  c10::intrusive_ptr<c10d::ProcessGroup> group_;
  std::string backend_;
};

absl::StatusOr<std::unique_ptr<Collective>> MakeGroup(c10::intrusive_ptr<c10d::Store> store,
                                                      int rank, int world_size,
                                                      const std::string& backend, double timeout_s,
                                                      bool loopback) {
  try {
#ifndef SEAMLESS_NO_GLOO
    if (backend == "gloo") {
      auto options = c10d::ProcessGroupGloo::Options::create(Millis(timeout_s));
      // Gloo connects ranks pairwise over TCP from this device's address: loopback for a
      // local world, GLOO_SOCKET_IFNAME's interface if set, else the address the hostname
      // resolves to (the pod IP on Kubernetes).
      const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
      if (loopback) {
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      } else if (ifname != nullptr && *ifname != '\0') {
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      } else {
        options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world_size, options);
      return std::unique_ptr<Collective>(new ProcessGroupCollective(group, "gloo"));
    }
#endif
#ifdef SEAMLESS_GPU
    if (backend == "nccl") {
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = Millis(timeout_s);
      auto nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, world_size, options);
#if TORCH_VERSION_MAJOR >= 2
      // LibTorch 2 splits the ProcessGroup (the API) from its per-device Backends.
      auto group = c10::make_intrusive<c10d::ProcessGroup>(store, rank, world_size);
      group->setBackend(c10::DeviceType::CUDA, c10d::ProcessGroup::BackendType::NCCL,
                        c10::intrusive_ptr<c10d::Backend>(nccl));
      group->setDefaultBackend(c10d::ProcessGroup::BackendType::NCCL);
#else
      c10::intrusive_ptr<c10d::ProcessGroup> group = nccl;
#endif
      return std::unique_ptr<Collective>(new ProcessGroupCollective(group, "nccl"));
    }
#endif
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("creating the ", backend, " group (rank ", rank,
                                               " of ", world_size, "): ", e.what()));
  }
  return absl::InvalidArgumentError(absl::StrCat("collective backend '", backend,
                                                 "' is not available in this build (gloo",
#ifdef SEAMLESS_GPU
                                                 ", nccl",
#endif
                                                 ")"));
}

absl::StatusOr<int64_t> EnvInt(const char* name, int64_t fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  int64_t out;
  if (!absl::SimpleAtoi(value, &out)) {
    return absl::InvalidArgumentError(
        absl::StrCat("environment ", name, "='", value, "' is not an integer"));
  }
  return out;
}

}  // namespace

std::unique_ptr<Collective> SingleRankCollective() { return std::make_unique<SingleRank>(); }

absl::StatusOr<RendezvousOptions> RendezvousFromEnv() {
  RendezvousOptions o;
  ASSIGN_OR_RETURN(int64_t rank, EnvInt("RANK", 0));
  ASSIGN_OR_RETURN(int64_t world, EnvInt("WORLD_SIZE", 1));
  ASSIGN_OR_RETURN(int64_t port, EnvInt("MASTER_PORT", 29500));
  if (world < 1 || rank < 0 || rank >= world) {
    return absl::InvalidArgumentError(
        absl::StrCat("RANK=", rank, " is not in [0, WORLD_SIZE=", world, ")"));
  }
  if (port < 1 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("MASTER_PORT=", port, " is not a port"));
  }
  o.rank = int(rank);
  o.world_size = int(world);
  o.master_port = int(port);
  if (const char* addr = std::getenv("MASTER_ADDR"); addr != nullptr && *addr != '\0') {
    o.master_addr = addr;
  }
  return o;
}

absl::StatusOr<std::unique_ptr<Collective>> ConnectCollective(const RendezvousOptions& o) {
  if (o.world_size == 1) return SingleRankCollective();
  c10::intrusive_ptr<c10d::Store> store;
  try {
    c10d::TCPStoreOptions options;
    options.port = uint16_t(o.master_port);
    options.isServer = o.rank == 0;
    options.numWorkers = o.world_size;
    options.waitWorkers = true;
    options.timeout = Millis(o.timeout_s);
    store = c10::make_intrusive<c10d::TCPStore>(o.master_addr, options);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("rendezvous at ", o.master_addr, ":", o.master_port,
                                               " (rank ", o.rank, " of ", o.world_size,
                                               "): ", e.what()));
  }
  const bool loopback = o.master_addr == "localhost" || o.master_addr.rfind("127.", 0) == 0;
  return MakeGroup(store, o.rank, o.world_size, o.backend, o.timeout_s, loopback);
}

struct InProcessRendezvous::Store {
  c10::intrusive_ptr<c10d::Store> store = c10::make_intrusive<c10d::HashStore>();
};

InProcessRendezvous::InProcessRendezvous() : store_(std::make_unique<Store>()) {}
InProcessRendezvous::~InProcessRendezvous() = default;

absl::StatusOr<std::unique_ptr<Collective>> InProcessRendezvous::Join(int rank, int world_size,
                                                                      double timeout_s) {
  if (world_size == 1) return SingleRankCollective();
  return MakeGroup(store_->store, rank, world_size, "gloo", timeout_s, /*loopback=*/true);
}

absl::Status BroadcastBytes(Collective& collective, std::string* bytes, int root) {
  if (collective.world_size() == 1) return absl::OkStatus();
  std::vector<at::Tensor> size{at::full({1}, int64_t(bytes->size()), at::kLong)};
  RETURN_IF_ERROR(collective.Broadcast(size, root));
  const int64_t n = size[0].item<int64_t>();
  std::vector<at::Tensor> data{at::empty({std::max<int64_t>(n, 1)}, at::kByte)};
  if (collective.rank() == root) std::memcpy(data[0].data_ptr(), bytes->data(), size_t(n));
  RETURN_IF_ERROR(collective.Broadcast(data, root));
  if (collective.rank() != root) {
    bytes->assign(static_cast<const char*>(data[0].data_ptr()), size_t(n));
  }
  return absl::OkStatus();
}

absl::Status AllReduceDoubles(Collective& collective, std::vector<double>* values) {
  if (collective.world_size() == 1 || values->empty()) return absl::OkStatus();
  std::vector<at::Tensor> t{at::tensor(at::ArrayRef<double>(*values), at::kDouble)};
  RETURN_IF_ERROR(collective.AllReduceSum(t));
  std::memcpy(values->data(), t[0].data_ptr<double>(), values->size() * sizeof(double));
  return absl::OkStatus();
}

absl::Status AllReduceCoalesced(Collective& collective, const std::vector<at::Tensor>& tensors,
                                int64_t bucket_elements) {
  if (collective.world_size() == 1) return absl::OkStatus();
  at::NoGradGuard no_grad;
  size_t begin = 0;
  while (begin < tensors.size()) {
    size_t end = begin;
    int64_t elements = 0;
    while (end < tensors.size() &&
           (end == begin || elements + tensors[end].numel() <= bucket_elements) &&
           tensors[end].scalar_type() == tensors[begin].scalar_type()) {
      elements += tensors[end].numel();
      ++end;
    }
    std::vector<at::Tensor> flat_parts;
    for (size_t i = begin; i < end; ++i) flat_parts.push_back(tensors[i].reshape({-1}));
    std::vector<at::Tensor> bucket{at::cat(flat_parts)};
    RETURN_IF_ERROR(collective.AllReduceSum(bucket));
    int64_t offset = 0;
    for (size_t i = begin; i < end; ++i) {
      const int64_t n = tensors[i].numel();
      tensors[i].copy_(bucket[0].narrow(0, offset, n).view(tensors[i].sizes()));
      offset += n;
    }
    begin = end;
  }
  return absl::OkStatus();
}

}  // namespace seamless

#include "learner/flat_parameters.h"

#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/base/process_memory.h"
#include "core/base/status_macros.h"
#include "core/model/torch_raw_tensor.h"
#include "learner/optimizer.h"

namespace seamless {
namespace {

// Ranks that split a group's buffers: 1 under `none` (every rank holds everything).
int Splits(Sharding sharding, int world) { return sharding == Sharding::kNone ? 1 : world; }

// The part of [offset, offset + numel) inside the chunk [begin, begin + chunk).
struct Overlap {
  int64_t begin = 0, end = 0;  // in flat coordinates
  bool empty() const { return end <= begin; }
};
Overlap Intersect(int64_t offset, int64_t numel, int64_t begin, int64_t chunk) {
  return {std::max(offset, begin), std::min(offset + numel, begin + chunk)};
}

at::Tensor Empty(at::ScalarType dtype) { return at::empty({0}, dtype); }

}  // namespace

FlatGroup::FlatGroup(std::string name, std::vector<Member> members, bool trainable, int rank,
                     int world, Sharding sharding)
    : name_(std::move(name)),
      members_(std::move(members)),
      trainable_(trainable),
      rank_(sharding == Sharding::kNone ? 0 : rank),
      world_(Splits(sharding, world)),
      sharding_(sharding) {
  at::NoGradGuard no_grad;
  master_ = members_.empty() ? at::kFloat : members_[0].param.scalar_type();
  const auto f = at::TensorOptions().dtype(master_);
  for (Member& m : members_) {
    m.offset = numel_;
    m.numel = m.param.numel();
    m.shape = m.param.sizes().vec();
    numel_ += m.numel;
  }
  chunk_ = (numel_ + world_ - 1) / world_;
  const int64_t begin = int64_t(rank_) * chunk_;
  if (sharding_ == Sharding::kFull) {
    shard_ = at::zeros({chunk_}, f);
    for (Member& m : members_) {
      const Overlap o = Intersect(m.offset, m.numel, begin, chunk_);
      if (!o.empty()) {
        shard_.narrow(0, o.begin - begin, o.end - o.begin)
            .copy_(m.param.reshape({-1}).narrow(0, o.begin - m.offset, o.end - o.begin));
      }
      m.param.set_data(Empty(master_));  // frees the module's copy
    }
  } else {
    full_ = at::zeros({padded()}, f);
    for (Member& m : members_) {
      full_.narrow(0, m.offset, m.numel).copy_(m.param.reshape({-1}));
    }
    BindViews(full_);
    shard_ = full_.narrow(0, begin, chunk_);
  }
}

void FlatGroup::AllocateState() {
  if (!trainable_ || exp_avg_.defined()) return;
  const auto f = at::TensorOptions().dtype(master_);
  const int64_t begin = int64_t(rank_) * chunk_;
  if (sharding_ == Sharding::kNone || sharding_ == Sharding::kOptimizer) {
    full_grad_ = at::zeros({padded()}, f);
    shard_grad_ = full_grad_.narrow(0, begin, chunk_);
  } else {
    shard_grad_ = at::zeros({chunk_}, f);
  }
  exp_avg_ = at::zeros({chunk_}, f);
  exp_avg_sq_ = at::zeros({chunk_}, f);
}

void FlatGroup::BindViews(const at::Tensor& flat) {
  at::NoGradGuard no_grad;
  for (Member& m : members_) m.param.set_data(flat.narrow(0, m.offset, m.numel).view(m.shape));
}

absl::StatusOr<int64_t> FlatGroup::Materialize(Collective& collective, at::ScalarType dtype) {
  at::NoGradGuard no_grad;
  if (sharding_ == Sharding::kFull) {
    at::Tensor flat = at::empty({padded()}, master_);
    if (world_ == 1) {
      flat.copy_(shard_);
    } else {
      RETURN_IF_ERROR(collective.AllGather(shard_, flat));
    }
    if (dtype != master_) flat = flat.to(dtype);
    BindViews(flat);
    bound_elsewhere_ = true;
    return int64_t(flat.nbytes());
  }
  if (dtype == master_) return 0;
  at::Tensor cast = full_.to(dtype);
  BindViews(cast);
  bound_elsewhere_ = true;
  return int64_t(cast.nbytes());
}

absl::StatusOr<at::Tensor> FlatGroup::GatherPiece(Collective& collective, size_t member,
                                                  int64_t begin, int64_t numel,
                                                  at::ScalarType dtype) {
  at::NoGradGuard no_grad;
  const int64_t start = members_[member].offset + begin;
  if (full_.defined()) return full_.narrow(0, start, numel).to(dtype);
  ASSIGN_OR_RETURN(at::Tensor piece, SumChunkRange(collective, shard_, start, numel));
  return piece.to(dtype);
}

absl::StatusOr<at::Tensor> FlatGroup::GatherStatePiece(Collective& collective, bool exp_avg,
                                                       int64_t begin, int64_t numel) {
  at::NoGradGuard no_grad;
  const at::Tensor& chunk = exp_avg ? exp_avg_ : exp_avg_sq_;
  return SumChunkRange(collective, chunk, members_[0].offset + begin, numel);
}

absl::StatusOr<at::Tensor> FlatGroup::SumChunkRange(Collective& collective, const at::Tensor& chunk,
                                                    int64_t start, int64_t numel) {
  at::Tensor piece = at::zeros({numel}, master_);
  const int64_t mine = int64_t(rank_) * chunk_;
  const Overlap o = Intersect(start, numel, mine, chunk_);
  if (!o.empty()) {
    piece.narrow(0, o.begin - start, o.end - o.begin)
        .copy_(chunk.narrow(0, o.begin - mine, o.end - o.begin));
  }
  if (world_ > 1) {
    std::vector<at::Tensor> one{piece};
    RETURN_IF_ERROR(collective.AllReduceSum(one));
  }
  return piece;
}

void FlatGroup::Release() {
  if (!bound_elsewhere_) return;
  bound_elsewhere_ = false;
  if (sharding_ == Sharding::kFull) {
    at::NoGradGuard no_grad;
    for (Member& m : members_) m.param.set_data(Empty(master_));
  } else {
    BindViews(full_);
  }
}

absl::Status FlatGroup::AccumulateGradients(Collective& collective,
                                            const std::vector<at::Tensor>& grads) {
  if (!trainable_) return absl::OkStatus();
  at::NoGradGuard no_grad;
  if (full_grad_.defined()) {
    for (size_t i = 0; i < members_.size(); ++i) {
      if (!grads[i].defined()) continue;
      full_grad_.narrow(0, members_[i].offset, members_[i].numel)
          .add_(grads[i].reshape({-1}).to(master_));
    }
    return absl::OkStatus();
  }
  // Gradient sharding: sum this unit's gradient over ranks now, keep only the chunk. A lone
  // member that fills the padded buffer (the embedding) is reduced in place, not copied.
  at::Tensor flat;
  if (members_.size() == 1 && grads[0].defined() && members_[0].numel == padded() &&
      grads[0].is_contiguous() && grads[0].scalar_type() == master_) {
    flat = grads[0].view({-1});
  } else {
    flat = at::zeros({padded()}, master_);
    for (size_t i = 0; i < members_.size(); ++i) {
      if (!grads[i].defined()) continue;
      flat.narrow(0, members_[i].offset, members_[i].numel).copy_(grads[i].reshape({-1}));
    }
  }
  if (world_ == 1) {
    shard_grad_.add_(flat);
    return absl::OkStatus();
  }
  at::Tensor mine = at::empty({chunk_}, master_);
  RETURN_IF_ERROR(collective.ReduceScatterSum(flat, mine));
  shard_grad_.add_(mine);
  return absl::OkStatus();
}

absl::Status FlatGroup::AccumulateGradientPiece(Collective& collective, size_t member,
                                                int64_t begin, const at::Tensor& grad) {
  if (!trainable_) return absl::OkStatus();
  at::NoGradGuard no_grad;
  const Member& m = members_[member];
  at::Tensor piece = grad.reshape({-1}).to(master_);
  const int64_t start = m.offset + begin;  // flat coordinates
  if (full_grad_.defined()) {
    full_grad_.narrow(0, start, piece.numel()).add_(piece);
    return absl::OkStatus();
  }
  if (world_ > 1) {
    piece = piece.contiguous();
    std::vector<at::Tensor> one{piece};
    RETURN_IF_ERROR(collective.AllReduceSum(one));
  }
  const Overlap o = Intersect(start, piece.numel(), int64_t(rank_) * chunk_, chunk_);
  if (!o.empty()) {
    shard_grad_.narrow(0, o.begin - int64_t(rank_) * chunk_, o.end - o.begin)
        .add_(piece.narrow(0, o.begin - start, o.end - o.begin));
  }
  return absl::OkStatus();
}

absl::Status FlatGroup::GatherUpdatedWeights(Collective& collective) {
  if (world_ == 1 || !full_.defined()) return absl::OkStatus();
  return collective.AllGather(shard_, full_);
}

absl::StatusOr<at::Tensor> FlatGroup::GatherChunks(Collective& collective,
                                                   const at::Tensor& chunk) {
  if (world_ == 1) return chunk;
  at::Tensor flat = at::empty({padded()}, master_);
  RETURN_IF_ERROR(collective.AllGather(chunk, flat));
  return flat;
}

absl::StatusOr<at::Tensor> FlatGroup::GatherFull(Collective& collective) {
  if (full_.defined()) return full_;
  return GatherChunks(collective, shard_);
}

// --- ShardedParameters ---

namespace {

// The group of a parameter: one per unit of the forward pass.
std::string GroupOf(const std::string& name) {
  for (const char* prefix : {"model.layers.", "model.mtp_layers."}) {
    if (absl::StartsWith(name, prefix)) {
      const size_t start = std::string(prefix).size();
      const size_t dot = name.find('.', start);
      return name.substr(0, dot);
    }
  }
  if (name == "model.embed_tokens.weight") return "embed";
  if (name == "lm_head.weight") return "lm_head";
  return "final";  // model.norm.weight
}

}  // namespace

absl::StatusOr<std::unique_ptr<ShardedParameters>> ShardedParameters::Create(
    MimoModel& model, Sharding sharding, bool freeze_mtp, Collective* collective) {
  std::unique_ptr<ShardedParameters> sp(new ShardedParameters(sharding, collective));
  // Groups in forward order: embed, layers, final, MTP layers.
  std::vector<std::string> order;
  std::map<std::string, std::vector<FlatGroup::Member>> members;
  for (auto& item : model->named_parameters()) {
    const std::string group = GroupOf(item.key());
    if (!members.count(group)) order.push_back(group);
    FlatGroup::Member m;
    m.name = item.key();
    m.param = item.value();
    members[group].push_back(std::move(m));
  }
  auto rank_of = [&](const std::string& g) {
    if (g == "embed") return 0;
    if (g == "final" || g == "lm_head") return 2;
    return absl::StartsWith(g, "model.mtp_layers.") ? 3 : 1;
  };
  std::stable_sort(order.begin(), order.end(), [&](const std::string& a, const std::string& b) {
    return rank_of(a) < rank_of(b);
  });
  sp->groups_.reserve(order.size());
  for (const std::string& g : order) {
    const bool mtp = absl::StartsWith(g, "model.mtp_layers.");
    sp->groups_.emplace_back(g, std::move(members[g]), !(mtp && freeze_mtp), collective->rank(),
                             collective->world_size(), sharding);
  }
  // The module's former storage is free now but still resident (heap pages that the new,
  // mmapped buffers did not reuse): hand it back before the gradients and moments come.
  ReleaseFreedMemory();
  for (FlatGroup& g : sp->groups_) g.AllocateState();
  return sp;
}

FlatGroup* ShardedParameters::Find(const std::string& group_name) {
  for (FlatGroup& g : groups_) {
    if (g.name() == group_name) return &g;
  }
  return nullptr;
}

void ShardedParameters::ZeroGradients() {
  for (FlatGroup& g : groups_) {
    if (!g.trainable()) continue;
    if (g.full_grad().defined()) {
      g.full_grad().zero_();
    } else {
      g.shard_grad().zero_();
    }
  }
}

absl::Status ShardedParameters::ReduceGradients() {
  if (collective_->world_size() == 1) return absl::OkStatus();
  if (sharding_ != Sharding::kNone && sharding_ != Sharding::kOptimizer) return absl::OkStatus();
  std::vector<at::Tensor> grads;
  for (FlatGroup& g : groups_) {
    if (g.trainable()) grads.push_back(g.full_grad());
  }
  return collective_->AllReduceSum(grads);
}

absl::StatusOr<double> ShardedParameters::GradNorm() {
  at::NoGradGuard no_grad;
  std::vector<double> sum{0.0};
  for (FlatGroup& g : groups_) {
    if (g.trainable()) sum[0] += SquaredNorm(g.shard_grad());
  }
  if (sharding_ != Sharding::kNone) RETURN_IF_ERROR(AllReduceDoubles(*collective_, &sum));
  return std::sqrt(sum[0]);
}

void ShardedParameters::ClipGradients(double norm, double max_norm) {
  if (max_norm <= 0 || !(norm > max_norm)) return;
  at::NoGradGuard no_grad;
  const double scale = max_norm / (norm + 1e-6);
  for (FlatGroup& g : groups_) {
    if (g.trainable()) g.shard_grad().mul_(scale);
  }
}

absl::Status ShardedParameters::AdamWStep(const OptimizerConfig& config, double lr) {
  at::NoGradGuard no_grad;
  ++step_;
  for (FlatGroup& g : groups_) {
    if (!g.trainable()) continue;
    const int64_t begin = (sharding_ == Sharding::kNone ? 0 : collective_->rank()) * g.chunk();
    for (const FlatGroup::Member& m : g.members()) {
      const Overlap o = Intersect(m.offset, m.numel, begin, g.chunk());
      if (o.empty()) continue;
      const int64_t at = o.begin - begin, n = o.end - o.begin;
      AdamWUpdate(g.shard().narrow(0, at, n), g.shard_grad().narrow(0, at, n),
                  g.exp_avg().narrow(0, at, n), g.exp_avg_sq().narrow(0, at, n), lr,
                  /*decay=*/m.shape.size() >= 2, config, step_);
    }
    RETURN_IF_ERROR(g.GatherUpdatedWeights(*collective_));
  }
  return absl::OkStatus();
}

absl::StatusOr<RawTensorMap> ShardedParameters::ExportWeights(DType dtype) {
  RawTensorMap out;
  for (FlatGroup& g : groups_) {
    ASSIGN_OR_RETURN(at::Tensor flat, g.GatherFull(*collective_));
    for (const FlatGroup::Member& m : g.members()) {
      ASSIGN_OR_RETURN(out[m.name],
                       TensorToRaw(flat.narrow(0, m.offset, m.numel).view(m.shape), dtype));
    }
  }
  return out;
}

absl::StatusOr<RawTensorMap> ShardedParameters::ExportOptimizerState() {
  RawTensorMap out;
  for (FlatGroup& g : groups_) {
    if (!g.trainable()) continue;
    for (auto [prefix, chunk] : {std::pair<const char*, at::Tensor*>{"exp_avg.", &g.exp_avg()},
                                 {"exp_avg_sq.", &g.exp_avg_sq()}}) {
      ASSIGN_OR_RETURN(at::Tensor flat, g.GatherChunks(*collective_, *chunk));
      for (const FlatGroup::Member& m : g.members()) {
        ASSIGN_OR_RETURN(out[prefix + m.name],
                         TensorToRaw(flat.narrow(0, m.offset, m.numel).view(m.shape), DType::kF32));
      }
    }
  }
  return out;
}

namespace {

// Copies `value` (a whole member's tensor) into this rank's part of a buffer: the whole
// padded buffer when `full` is defined, else the chunk starting at flat index `begin`.
void CopyMember(const FlatGroup::Member& m, const at::Tensor& value, at::Tensor full,
                at::Tensor chunk, int64_t begin) {
  at::Tensor flat =
      value.reshape({-1}).to(chunk.defined() ? chunk.scalar_type() : full.scalar_type());
  if (full.defined()) {
    full.narrow(0, m.offset, m.numel).copy_(flat);
    return;
  }
  const Overlap o = Intersect(m.offset, m.numel, begin, chunk.numel());
  if (!o.empty()) {
    chunk.narrow(0, o.begin - begin, o.end - o.begin)
        .copy_(flat.narrow(0, o.begin - m.offset, o.end - o.begin));
  }
}

// Copies the member `m` from `source` (as `key`) into this rank's part of a buffer (see
// CopyMember), checking its element count.
absl::Status ImportMember(const TensorProvider& source, const std::string& key,
                          const FlatGroup::Member& m, const char* what, at::Tensor full,
                          at::Tensor chunk, int64_t begin) {
  return source.With(key, what, [&](const RawTensor& raw) -> absl::Status {
    ASSIGN_OR_RETURN(at::Tensor t, BorrowTensor(raw));
    if (t.numel() != m.numel) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " '", key, "' has ", t.numel(), " elements, the model ", m.numel));
    }
    CopyMember(m, t, std::move(full), std::move(chunk), begin);
    return absl::OkStatus();
  });
}

}  // namespace

absl::Status ShardedParameters::ImportWeights(const TensorProvider& weights) {
  at::NoGradGuard no_grad;
  for (FlatGroup& g : groups_) {
    const int64_t begin = (sharding_ == Sharding::kNone ? 0 : collective_->rank()) * g.chunk();
    for (const FlatGroup::Member& m : g.members()) {
      RETURN_IF_ERROR(ImportMember(weights, m.name, m, "weights", g.full(), g.shard(), begin));
    }
  }
  return absl::OkStatus();
}

absl::Status ShardedParameters::ImportOptimizerState(const TensorProvider& state, int64_t step) {
  at::NoGradGuard no_grad;
  for (FlatGroup& g : groups_) {
    if (!g.trainable()) continue;
    const int64_t begin = (sharding_ == Sharding::kNone ? 0 : collective_->rank()) * g.chunk();
    for (const FlatGroup::Member& m : g.members()) {
      RETURN_IF_ERROR(ImportMember(state, "exp_avg." + m.name, m, "optimizer state", at::Tensor(),
                                   g.exp_avg(), begin));
      RETURN_IF_ERROR(ImportMember(state, "exp_avg_sq." + m.name, m, "optimizer state",
                                   at::Tensor(), g.exp_avg_sq(), begin));
    }
  }
  step_ = step;
  return absl::OkStatus();
}

absl::Status ShardedParameters::BroadcastFromRank0() {
  if (collective_->world_size() == 1) return absl::OkStatus();
  // Under `none` every rank holds everything; sharded ranks each hold their own chunks, which
  // every rank loaded from the same files, so there is nothing to send.
  if (sharding_ != Sharding::kNone) return absl::OkStatus();
  std::vector<at::Tensor> tensors;
  for (FlatGroup& g : groups_) {
    tensors.push_back(g.full());
    if (g.trainable()) {
      tensors.push_back(g.exp_avg());
      tensors.push_back(g.exp_avg_sq());
    }
  }
  return collective_->Broadcast(tensors, 0);
}

namespace {

// Which buffer of a group a cursor entry reads.
enum class Buffer { kWeights, kExpAvg, kExpAvgSq };

class GroupCursor final : public TensorCursor {
 public:
  struct Item {
    FlatGroup* group;
    const FlatGroup::Member* member;
    Buffer buffer;
  };
  GroupCursor(Collective* collective, std::map<std::string, Item> items) : collective_(collective) {
    for (auto& [name, item] : items) {
      entries_.push_back({name, DType::kF32, item.member->shape});
      items_.push_back(item);
    }
  }
  const std::vector<TensorEntry>& entries() const override { return entries_; }

  absl::StatusOr<at::Tensor> Next() override {
    if (position_ >= items_.size()) return absl::OutOfRangeError("cursor past its last tensor");
    const Item& item = items_[position_++];
    if (item.group != group_ || item.buffer != buffer_) {
      flat_ = at::Tensor();  // drop the previous group before gathering the next
      group_ = item.group;
      buffer_ = item.buffer;
      if (buffer_ == Buffer::kWeights) {
        ASSIGN_OR_RETURN(flat_, group_->GatherFull(*collective_));
      } else {
        ASSIGN_OR_RETURN(flat_, group_->GatherChunks(*collective_, buffer_ == Buffer::kExpAvg
                                                                       ? group_->exp_avg()
                                                                       : group_->exp_avg_sq()));
      }
    }
    const FlatGroup::Member& m = *item.member;
    return flat_.narrow(0, m.offset, m.numel).view(m.shape);
  }

  // A group of one large member held in chunks (the embedding, an untied head under full
  // sharding) streams in pieces; anything else is gathered whole as Next() does.
  absl::Status NextInPieces(const PieceFn& fn) override {
    if (position_ >= items_.size()) return absl::OutOfRangeError("cursor past its last tensor");
    const Item& item = items_[position_];
    const FlatGroup::Member& m = *item.member;
    constexpr int64_t kPiece = int64_t{1} << 23;
    if (item.group->full().defined() || item.group->members().size() != 1 || m.numel <= kPiece) {
      auto t = Next();
      if (!t.ok()) return t.status();
      return fn(*t);
    }
    ++position_;
    flat_ = at::Tensor();
    group_ = nullptr;  // nothing gathered is kept
    for (int64_t at = 0; at < m.numel; at += kPiece) {
      const int64_t n = std::min(kPiece, m.numel - at);
      at::Tensor piece;
      if (item.buffer == Buffer::kWeights) {
        ASSIGN_OR_RETURN(
            piece, item.group->GatherPiece(*collective_, 0, at, n, item.group->master_dtype()));
      } else {
        ASSIGN_OR_RETURN(piece, item.group->GatherStatePiece(
                                    *collective_, item.buffer == Buffer::kExpAvg, at, n));
      }
      RETURN_IF_ERROR(fn(piece));
    }
    return absl::OkStatus();
  }

 private:
  Collective* collective_;
  std::vector<TensorEntry> entries_;
  std::vector<Item> items_;
  FlatGroup* group_ = nullptr;
  Buffer buffer_ = Buffer::kWeights;
  at::Tensor flat_;
};

}  // namespace

std::unique_ptr<TensorCursor> ShardedParameters::OpenWeights() {
  std::map<std::string, GroupCursor::Item> items;
  for (FlatGroup& g : groups_) {
    for (const FlatGroup::Member& m : g.members()) items[m.name] = {&g, &m, Buffer::kWeights};
  }
  return std::make_unique<GroupCursor>(collective_, std::move(items));
}

std::unique_ptr<TensorCursor> ShardedParameters::OpenOptimizerState() {
  std::map<std::string, GroupCursor::Item> items;
  for (FlatGroup& g : groups_) {
    if (!g.trainable()) continue;
    for (const FlatGroup::Member& m : g.members()) {
      items["exp_avg." + m.name] = {&g, &m, Buffer::kExpAvg};
      items["exp_avg_sq." + m.name] = {&g, &m, Buffer::kExpAvgSq};
    }
  }
  return std::make_unique<GroupCursor>(collective_, std::move(items));
}

ParameterMemory ShardedParameters::memory() const {
  ParameterMemory m;
  for (const FlatGroup& g : groups_) {
    FlatGroup& group = const_cast<FlatGroup&>(g);
    m.weights += int64_t(group.full().defined() ? group.full().nbytes() : group.shard().nbytes());
    if (!g.trainable()) continue;
    m.gradients += int64_t(group.full_grad().defined() ? group.full_grad().nbytes()
                                                       : group.shard_grad().nbytes());
    m.optimizer += int64_t(group.exp_avg().nbytes() + group.exp_avg_sq().nbytes());
  }
  m.buffers = peak_buffers_;
  return m;
}

void ShardedParameters::NoteBufferBytes(int64_t live_bytes) {
  peak_buffers_ = std::max(peak_buffers_, live_bytes);
}

int64_t ShardedParameters::trainable_parameters() const {
  int64_t n = 0;
  for (const FlatGroup& g : groups_) {
    if (g.trainable()) n += g.numel();
  }
  return n;
}

}  // namespace seamless

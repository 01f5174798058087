#include "learner/unit_forward.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "core/model/transformer_layers.h"
#include "learner/trainer.h"

namespace seamless {

struct UnitForward::Unit {
  enum Kind { kEmbed, kLayer, kHead } kind;
  int64_t layer = 0;               // kLayer
  std::vector<FlatGroup*> groups;  // weights the unit reads
};

namespace {

// Rows of a vocabulary-sized matrix handled at once: about 32 MiB of float32.
int64_t RowsPerPiece(int64_t width) { return std::max<int64_t>(1, (int64_t{1} << 23) / width); }

void ThrowIfError(const absl::Status& s) {
  if (!s.ok()) throw std::runtime_error(std::string(s.message()));
}

// Keeps a unit's input; recomputes the unit in the backward pass.
class UnitFunction : public torch::autograd::Function<UnitFunction> {
 public:
  // `anchor` requires grad, so that autograd reaches this node even when `input` (token ids)
  // does not.
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                at::Tensor input, at::Tensor anchor, int64_t engine,
                                                int64_t unit) {
    ctx->saved_data["engine"] = engine;
    ctx->saved_data["unit"] = unit;
    ctx->save_for_backward({input});
    // Autograd keeps the engine and the unit as IValue integers (saved_data holds no pointers).
    // NOLINTNEXTLINE(performance-no-int-to-ptr)
    auto* e = reinterpret_cast<UnitForward*>(engine);
    // NOLINTNEXTLINE(performance-no-int-to-ptr)
    return e->RunUnit(*reinterpret_cast<UnitForward::Unit*>(unit), input);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    // NOLINTNEXTLINE(performance-no-int-to-ptr)
    auto* e = reinterpret_cast<UnitForward*>(ctx->saved_data["engine"].toInt());
    // NOLINTNEXTLINE(performance-no-int-to-ptr)
    auto* unit = reinterpret_cast<UnitForward::Unit*>(ctx->saved_data["unit"].toInt());
    at::Tensor input = ctx->get_saved_variables()[0];
    at::Tensor grad_input = e->BackwardUnit(*unit, input, grads);
    return {grad_input, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

int64_t Handle(const void* p) { return reinterpret_cast<int64_t>(p); }

}  // namespace

UnitForward::UnitForward(MimoModel& model, ShardedParameters& params, Collective& collective,
                         at::ScalarType compute_dtype)
    : model_(model), params_(params), collective_(collective), dtype_(compute_dtype) {
  FlatGroup* embed = params_.Find("embed");
  FlatGroup* final_group = params_.Find("final");
  embed_ = embed;
  matrix_ = model_->config().tie_word_embeddings ? embed : params_.Find("lm_head");
  auto unit = [&](Unit::Kind kind, int64_t layer, std::vector<FlatGroup*> groups) {
    auto u = std::make_unique<Unit>();
    u->kind = kind;
    u->layer = layer;
    for (FlatGroup* g : groups) {
      if (g != nullptr) u->groups.push_back(g);
    }
    units_.push_back(std::move(u));
  };
  // The vocabulary-sized matrices are never gathered whole: the embedding and the head read
  // them a slice of rows at a time (GatherPiece), so these units materialise nothing else.
  unit(Unit::kEmbed, 0, {});
  for (int64_t i = 0; i < model_->config().num_hidden_layers; ++i) {
    unit(Unit::kLayer, i, {params_.Find(absl::StrCat("model.layers.", i))});
  }
  unit(Unit::kHead, 0, {final_group});
}

UnitForward::~UnitForward() = default;

absl::Status UnitForward::Materialize(const Unit& unit) {
  for (FlatGroup* g : unit.groups) {
    auto bytes = g->Materialize(collective_, dtype_);
    if (!bytes.ok()) return bytes.status();
    live_buffers_ += *bytes;
  }
  params_.NoteBufferBytes(live_buffers_);
  return absl::OkStatus();
}

void UnitForward::Release(const Unit& unit) {
  for (FlatGroup* g : unit.groups) g->Release();
  live_buffers_ = 0;
}

absl::StatusOr<TokenLogProbs> UnitForward::LogProbs(const PackedSequences& packed,
                                                    double temperature, bool with_entropy) {
  TrainingNumericsScope numerics;
  ids_ = packed.input_ids;
  rows_ = packed.rows;
  targets_ = packed.targets;
  temperature_ = temperature;
  with_entropy_ = with_entropy;
  ctx_ = packed.segment_lengths.empty()
             ? model_->FullContext(ids_)
             : model_->PackedContext(packed.segment_lengths, ids_.device());
  if (dtype_ == at::kBFloat16 || dtype_ == at::kHalf) {
    ctx_.cos = ctx_.cos.to(dtype_);
    ctx_.sin = ctx_.sin.to(dtype_);
  }
  try {
    at::Tensor anchor = at::zeros({}, at::kFloat).requires_grad_(true);
    at::Tensor x = ids_;
    std::vector<at::Tensor> out;
    for (auto& unit : units_) {
      out = UnitFunction::apply(x, anchor, Handle(this), Handle(unit.get()));
      x = out[0];
    }
    TokenLogProbs result;
    result.logp = out[0];
    if (with_entropy) result.entropy = out[1];
    return result;
  } catch (const std::exception& e) {
    return TorchExceptionToStatus(e, "learner forward pass");
  }
}

std::vector<at::Tensor> UnitForward::RunUnit(Unit& unit, const at::Tensor& input) {
  TrainingNumericsScope numerics;
  ThrowIfError(Materialize(unit));
  std::vector<at::Tensor> out = Compute(unit, input);
  Release(unit);
  activation_bytes_ += int64_t(input.nbytes());
  peak_activation_bytes_ = std::max(peak_activation_bytes_, activation_bytes_);
  return out;
}

std::vector<at::Tensor> UnitForward::Compute(const Unit& unit, const at::Tensor& input) {
  std::vector<at::Tensor> out;
  switch (unit.kind) {
    case Unit::kEmbed:
      out.push_back(EmbedPiecewise(input));
      break;
    case Unit::kLayer:
      out.push_back(model_->model->layers[unit.layer]->as<DecoderLayer>()->forward(input, ctx_));
      break;
    case Unit::kHead: {
      at::Tensor hidden = model_->model->norm(input);
      at::Tensor flat = hidden.reshape({-1, hidden.size(-1)}).index_select(0, rows_);
      // The vocabulary's log-softmax in float32 whatever the compute dtype.
      at::Tensor logits = HeadLogits(flat);
      logits = logits.to(at::promote_types(logits.scalar_type(), at::kFloat));
      if (temperature_ != 1.0) logits = logits / temperature_;
      at::Tensor logp_all = at::log_softmax(logits, -1);
      out.push_back(logp_all.gather(1, targets_.unsqueeze(1)).squeeze(1));
      out.push_back(with_entropy_ ? -(logp_all.exp() * logp_all).sum(-1) : at::zeros_like(out[0]));
      break;
    }
  }
  return out;
}

at::Tensor UnitForward::BackwardUnit(Unit& unit, const at::Tensor& input,
                                     const std::vector<at::Tensor>& grad_outputs) {
  activation_bytes_ -= int64_t(input.nbytes());
  if (unit.kind == Unit::kEmbed) {
    // The lookup's weight gradient is a scatter of the output gradient: no weights needed.
    FlatGroup* g = embed_;
    const at::Tensor& go = grad_outputs[0];
    at::Tensor rows = go.reshape({-1, go.size(-1)}).to(g->master_dtype());
    const FlatGroup::Member& m = g->members()[0];
    if (g->full_grad().defined()) {  // straight into the accumulated gradient
      g->full_grad()
          .narrow(0, m.offset, m.numel)
          .view(m.shape)
          .index_add_(0, input.reshape({-1}), rows);
      return at::Tensor();
    }
    // Gradient sharding: a slice of vocabulary rows at a time (see AccumulateGradientPiece).
    const at::Tensor ids = input.reshape({-1});
    const int64_t vocab = m.shape[0], width = m.shape[1];
    for (int64_t v0 = 0; v0 < vocab; v0 += RowsPerPiece(width)) {
      const int64_t v1 = std::min(vocab, v0 + RowsPerPiece(width));
      at::Tensor piece = at::zeros({v1 - v0, width}, g->master_dtype());
      at::Tensor sel = ((ids >= v0) & (ids < v1)).nonzero().squeeze(1);
      if (sel.numel() > 0) {
        piece.index_add_(0, ids.index_select(0, sel) - v0, rows.index_select(0, sel));
      }
      ThrowIfError(g->AccumulateGradientPiece(collective_, 0, v0 * width, piece));
    }
    return at::Tensor();
  }
  if (unit.kind == Unit::kHead) return BackwardHead(unit, input, grad_outputs);
  ThrowIfError(Materialize(unit));
  at::Tensor x = input.detach().requires_grad_(true);
  std::vector<at::Tensor> outputs, grads_out;
  {
    at::AutoGradMode enable(true);
    std::vector<at::Tensor> all = Compute(unit, x);
    for (size_t i = 0; i < all.size(); ++i) {
      if (i < grad_outputs.size() && grad_outputs[i].defined() && all[i].requires_grad()) {
        outputs.push_back(all[i]);
        grads_out.push_back(grad_outputs[i]);
      }
    }
  }
  std::vector<at::Tensor> wrt{x};
  for (FlatGroup* g : unit.groups) {
    for (const FlatGroup::Member& m : g->members()) wrt.push_back(m.param);
  }
  std::vector<at::Tensor> grads = torch::autograd::grad(outputs, wrt, grads_out,
                                                        /*retain_graph=*/false,
                                                        /*create_graph=*/false,
                                                        /*allow_unused=*/true);
  Release(unit);  // the gathered weights go before the gradients are reduced
  at::Tensor grad_input = grads[0];
  size_t k = 1;
  for (FlatGroup* g : unit.groups) {
    std::vector<at::Tensor> mine(grads.begin() + k, grads.begin() + k + g->members().size());
    for (size_t j = k; j < k + g->members().size(); ++j) grads[j] = at::Tensor();
    k += g->members().size();
    ThrowIfError(g->AccumulateGradients(collective_, mine));
  }
  return grad_input;
}

at::Tensor UnitForward::HeadLogits(const at::Tensor& flat) {
  const FlatGroup::Member& m = matrix_->members()[0];
  const int64_t vocab = m.shape[0], width = m.shape[1];
  std::vector<at::Tensor> parts;
  for (int64_t v0 = 0; v0 < vocab; v0 += RowsPerPiece(width)) {
    const int64_t v1 = std::min(vocab, v0 + RowsPerPiece(width));
    auto piece = matrix_->GatherPiece(collective_, 0, v0 * width, (v1 - v0) * width, dtype_);
    ThrowIfError(piece.status());
    parts.push_back(at::matmul(flat, piece->view({v1 - v0, width}).t()));
  }
  return parts.size() == 1 ? parts[0] : at::cat(parts, 1);
}

at::Tensor UnitForward::EmbedPiecewise(const at::Tensor& ids_in) {
  const FlatGroup::Member& m = embed_->members()[0];
  const int64_t vocab = m.shape[0], width = m.shape[1];
  const at::Tensor ids = ids_in.reshape({-1});
  at::Tensor out = at::empty({ids.numel(), width}, dtype_);
  for (int64_t v0 = 0; v0 < vocab; v0 += RowsPerPiece(width)) {
    const int64_t v1 = std::min(vocab, v0 + RowsPerPiece(width));
    auto piece = embed_->GatherPiece(collective_, 0, v0 * width, (v1 - v0) * width, dtype_);
    ThrowIfError(piece.status());
    at::Tensor sel = ((ids >= v0) & (ids < v1)).nonzero().squeeze(1);
    if (sel.numel() > 0) {
      out.index_copy_(0, sel,
                      piece->view({v1 - v0, width}).index_select(0, ids.index_select(0, sel) - v0));
    }
  }
  std::vector<int64_t> shape = ids_in.sizes().vec();
  shape.push_back(width);
  return out.view(shape);
}

// The head's backward, a slice of vocabulary rows at a time: autograd runs from the outputs
// to the logits and from the hidden rows back to the input; between them one sweep over the
// matrix gives both d(hidden) = dlogits @ W and dW = dlogits^T @ hidden, so neither W nor dW
// exists whole (under full sharding nothing of size [V, H] is ever allocated).
at::Tensor UnitForward::BackwardHead(Unit& unit, const at::Tensor& input,
                                     const std::vector<at::Tensor>& grad_outputs) {
  ThrowIfError(Materialize(unit));
  FlatGroup* final_group = unit.groups[0];
  const at::Tensor norm_weight = final_group->members()[0].param;
  at::Tensor x = input.detach().requires_grad_(true);
  at::Tensor flat, logits;
  {
    at::AutoGradMode enable(true);
    at::Tensor hidden = model_->model->norm(x);
    flat = hidden.reshape({-1, hidden.size(-1)}).index_select(0, rows_);
  }
  {
    at::NoGradGuard no_grad;
    logits = HeadLogits(flat.detach());
  }
  logits.requires_grad_(true);
  std::vector<at::Tensor> outputs, grads_out;
  {
    at::AutoGradMode enable(true);
    at::Tensor scaled = logits.to(at::promote_types(logits.scalar_type(), at::kFloat));
    if (temperature_ != 1.0) scaled = scaled / temperature_;
    at::Tensor logp_all = at::log_softmax(scaled, -1);
    std::vector<at::Tensor> all{logp_all.gather(1, targets_.unsqueeze(1)).squeeze(1)};
    if (with_entropy_) all.push_back(-(logp_all.exp() * logp_all).sum(-1));
    for (size_t i = 0; i < all.size(); ++i) {
      if (i < grad_outputs.size() && grad_outputs[i].defined()) {
        outputs.push_back(all[i]);
        grads_out.push_back(grad_outputs[i]);
      }
    }
  }
  at::Tensor dlogits = torch::autograd::grad(outputs, {logits}, grads_out)[0];
  const at::ScalarType master = matrix_->master_dtype();
  const FlatGroup::Member& m = matrix_->members()[0];
  const int64_t vocab = m.shape[0], width = m.shape[1];
  at::Tensor dflat = at::zeros_like(flat);
  const at::Tensor rows = flat.detach().to(master);
  {
    at::NoGradGuard no_grad;
    for (int64_t v0 = 0; v0 < vocab; v0 += RowsPerPiece(width)) {
      const int64_t v1 = std::min(vocab, v0 + RowsPerPiece(width));
      at::Tensor d = dlogits.narrow(1, v0, v1 - v0);
      auto piece = matrix_->GatherPiece(collective_, 0, v0 * width, (v1 - v0) * width, dtype_);
      ThrowIfError(piece.status());
      dflat.add_(at::matmul(d.to(dtype_), piece->view({v1 - v0, width})));
      ThrowIfError(matrix_->AccumulateGradientPiece(collective_, 0, v0 * width,
                                                    at::mm(d.to(master).t(), rows)));
    }
  }
  std::vector<at::Tensor> grads =
      torch::autograd::grad({flat}, {x, norm_weight}, {dflat}, false, false, true);
  Release(unit);
  if (grads[1].defined()) {
    ThrowIfError(final_group->AccumulateGradientPiece(collective_, 0, 0, grads[1]));
  }
  return grads[0];
}

}  // namespace seamless

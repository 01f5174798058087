#include "learner/optimizer.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/model/torch_raw_tensor.h"

namespace seamless {

double LearningRate(const OptimizerConfig& c, int64_t step) {
  if (c.warmup_steps > 0 && step < c.warmup_steps) {
    return c.lr * double(step + 1) / double(c.warmup_steps);
  }
  if (c.schedule == LrSchedule::kCosine && c.total_steps > c.warmup_steps) {
    const double progress =
        std::min(1.0, double(step - c.warmup_steps) / double(c.total_steps - c.warmup_steps));
    const double cosine = 0.5 * (1.0 + std::cos(M_PI * progress));
    return c.lr * (c.min_lr_ratio + (1.0 - c.min_lr_ratio) * cosine);
  }
  return c.lr;
}

AdamW::AdamW(std::vector<std::pair<std::string, at::Tensor>> params, OptimizerConfig config)
    : params_(std::move(params)), config_(config) {
  for (auto& [name, p] : params_) {
    exp_avg_.push_back(at::zeros_like(p, at::MemoryFormat::Contiguous));
    exp_avg_sq_.push_back(at::zeros_like(p, at::MemoryFormat::Contiguous));
  }
}

namespace {

// Element-wise updates run over slices of this many elements: each op's temporaries (the
// denominator) then cost a slice, not a copy of the largest parameter, and the results are
// the same, element by element.
constexpr int64_t kSliceElements = int64_t{1} << 20;

}  // namespace

void AdamWUpdate(at::Tensor p, const at::Tensor& grad, at::Tensor exp_avg, at::Tensor exp_avg_sq,
                 double lr, bool decay, const OptimizerConfig& config, int64_t step) {
  at::NoGradGuard no_grad;
  const int64_t n = p.numel();
  if (n > kSliceElements && p.is_contiguous() && grad.is_contiguous() && exp_avg.is_contiguous() &&
      exp_avg_sq.is_contiguous()) {
    at::Tensor pf = p.view({-1}), gf = grad.reshape({-1}), mf = exp_avg.view({-1}),
               vf = exp_avg_sq.view({-1});
    for (int64_t at = 0; at < n; at += kSliceElements) {
      const int64_t len = std::min(kSliceElements, n - at);
      AdamWUpdate(pf.narrow(0, at, len), gf.narrow(0, at, len), mf.narrow(0, at, len),
                  vf.narrow(0, at, len), lr, decay, config, step);
    }
    return;
  }
  const double bias1 = 1.0 - std::pow(config.beta1, double(step));
  const double bias2 = 1.0 - std::pow(config.beta2, double(step));
  const double step_size = lr / bias1;
  const double bias2_sqrt = std::sqrt(bias2);
  if (config.weight_decay != 0 && decay) p.mul_(1.0 - lr * config.weight_decay);
  exp_avg.lerp_(grad, 1.0 - config.beta1);
  exp_avg_sq.mul_(config.beta2).addcmul_(grad, grad, 1.0 - config.beta2);
  at::Tensor denom = (exp_avg_sq.sqrt() / bias2_sqrt).add_(config.eps);
  p.addcdiv_(exp_avg, denom, -step_size);
}

double SquaredNorm(const at::Tensor& t) {
  at::NoGradGuard no_grad;
  if (!t.defined()) return 0;
  at::Tensor flat = t.reshape({-1});
  double sum = 0;
  for (int64_t at = 0; at < flat.numel(); at += kSliceElements) {
    const int64_t len = std::min(kSliceElements, flat.numel() - at);
    sum += flat.narrow(0, at, len).to(at::kDouble).pow(2).sum().item<double>();
  }
  return sum;
}

void AdamW::Step(double lr) {
  ++step_;
  for (size_t i = 0; i < params_.size(); ++i) {
    at::Tensor& p = params_[i].second;
    at::Tensor grad = p.grad();
    if (!grad.defined()) grad = at::zeros_like(p);
    AdamWUpdate(p, grad, exp_avg_[i], exp_avg_sq_[i], lr, p.dim() >= 2, config_, step_);
  }
}

RawTensorMap AdamW::ExportState() const {
  RawTensorMap out;
  for (size_t i = 0; i < params_.size(); ++i) {
    out["exp_avg." + params_[i].first] = *TensorToRaw(exp_avg_[i], DType::kF32);
    out["exp_avg_sq." + params_[i].first] = *TensorToRaw(exp_avg_sq_[i], DType::kF32);
  }
  return out;
}

absl::Status AdamW::ImportState(const TensorProvider& state, int64_t step) {
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    for (const auto& entry : {std::pair<const char*, at::Tensor*>{"exp_avg.", &exp_avg_[i]},
                              {"exp_avg_sq.", &exp_avg_sq_[i]}}) {
      const std::string key = entry.first + params_[i].first;
      at::Tensor* target = entry.second;  // a structured binding cannot be captured (C++17)
      RETURN_IF_ERROR(state.With(key, "optimizer state", [&](const RawTensor& raw) -> absl::Status {
        ASSIGN_OR_RETURN(at::Tensor value, BorrowTensor(raw));
        if (!value.sizes().equals(target->sizes())) {
          return absl::InvalidArgumentError(
              absl::StrCat("optimizer state '", key, "' has the wrong shape"));
        }
        target->copy_(value);
        return absl::OkStatus();
      }));
    }
  }
  step_ = step;
  return absl::OkStatus();
}

std::vector<at::Tensor> AdamW::StateTensors() {
  std::vector<at::Tensor> out = exp_avg_;
  out.insert(out.end(), exp_avg_sq_.begin(), exp_avg_sq_.end());
  return out;
}

double GradNorm(const std::vector<at::Tensor>& grads) {
  at::NoGradGuard no_grad;
  double sum = 0;
  for (const at::Tensor& g : grads) sum += SquaredNorm(g);
  return std::sqrt(sum);
}

void ClipGradients(const std::vector<at::Tensor>& grads, double norm, double max_norm) {
  if (max_norm <= 0 || !(norm > max_norm)) return;
  at::NoGradGuard no_grad;
  const double scale = max_norm / (norm + 1e-6);
  for (const at::Tensor& g : grads) {
    if (g.defined()) const_cast<at::Tensor&>(g).mul_(scale);
  }
}

}  // namespace seamless

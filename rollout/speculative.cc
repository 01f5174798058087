#include "rollout/speculative.h"

#include <algorithm>

namespace seamless {

int32_t DrawFromDistribution(const std::vector<double>& probs, double u) {
  double cumulative = 0;
  int32_t chosen = -1;
  for (size_t i = 0; i < probs.size(); ++i) {
    if (probs[i] <= 0) continue;
    chosen = static_cast<int32_t>(i);  // the last token with mass absorbs rounding at the top
    cumulative += probs[i];
    if (u < cumulative) break;
  }
  return chosen;
}

DraftVerdict VerifyDraft(const std::vector<double>& target, const std::vector<double>& draft_probs,
                         int32_t draft, double u_accept, double u_resample,
                         std::vector<double>* scratch) {
  const double p = target[draft], q = draft_probs[draft];
  // q(d) > 0 always holds for a draft sampled from q; the guard only protects against misuse.
  if (q > 0 && u_accept * q < p) return {true, draft};
  std::vector<double>& residual = *scratch;
  residual.resize(target.size());
  double total = 0;
  for (size_t i = 0; i < target.size(); ++i) {
    residual[i] = std::max(0.0, target[i] - draft_probs[i]);
    total += residual[i];
  }
  if (total <= 0) {
    // p == q up to rounding: rejection had probability ~0; p itself is then the residual.
    return {false, DrawFromDistribution(target, u_resample)};
  }
  for (double& r : residual) r /= total;
  return {false, DrawFromDistribution(residual, u_resample)};
}

}  // namespace seamless

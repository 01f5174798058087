// Speculative sampling's accept/reject rule (Leviathan et al. 2023; Chen et al. 2023), which
// makes the emitted token an exact sample of the target distribution whatever the draft is:
//
//   accept the draft d ~ q with probability min(1, p(d) / q(d));
//   otherwise sample from the residual  norm(max(0, p - q)).
//
// RL needs this exactness: the behaviour log-probs the learner divides by must be those of
// the distribution the tokens really came from. Greedy decoding (one-hot p and q) reduces to
// "accept iff the draft is the target's argmax, else emit the argmax".
#ifndef SEAMLESS_ROLLOUT_SPECULATIVE_H_
#define SEAMLESS_ROLLOUT_SPECULATIVE_H_

#include <cstdint>
#include <vector>

namespace seamless {

// Index drawn from `probs` (sums to 1) by inverse CDF at `u` in [0, 1).
int32_t DrawFromDistribution(const std::vector<double>& probs, double u);

struct DraftVerdict {
  bool accepted = false;
  int32_t token = 0;  // the draft if accepted, else the residual sample
};

// `target` = p, `draft_probs` = q, `draft` = d (sampled from q). `u_accept` and `u_resample`
// are independent uniforms in [0, 1). `scratch` avoids an allocation per token.
DraftVerdict VerifyDraft(const std::vector<double>& target, const std::vector<double>& draft_probs,
                         int32_t draft, double u_accept, double u_resample,
                         std::vector<double>* scratch);

}  // namespace seamless

#endif  // SEAMLESS_ROLLOUT_SPECULATIVE_H_

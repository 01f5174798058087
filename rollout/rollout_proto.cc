#include "rollout/rollout_proto.h"

namespace seamless {

GroupRequest FromProto(const GenerateRequest& request) {
  GroupRequest out;
  out.group_id = request.group_id();
  out.prompt.assign(request.prompt_token_ids().begin(), request.prompt_token_ids().end());
  out.num_samples = request.num_samples();
  out.launch_seq = request.launch_seq();
  const SamplingParams& p = request.sampling();
  out.sampling.temperature = p.temperature();
  out.sampling.top_p = p.top_p() == 0 ? 1.0 : p.top_p();
  out.sampling.top_k = p.top_k();
  out.sampling.max_new_tokens = p.max_new_tokens();
  out.sampling.stop_token_ids.assign(p.stop_token_ids().begin(), p.stop_token_ids().end());
  out.sampling.seed = p.seed();
  out.stop_strings.assign(p.stop_strings().begin(), p.stop_strings().end());
  return out;
}

GenerateRequest ToProto(const GroupRequest& request) {
  GenerateRequest out;
  out.set_group_id(request.group_id);
  for (int32_t id : request.prompt) out.add_prompt_token_ids(id);
  out.set_num_samples(request.num_samples);
  out.set_launch_seq(request.launch_seq);
  SamplingParams* p = out.mutable_sampling();
  p->set_temperature(static_cast<float>(request.sampling.temperature));
  p->set_top_p(static_cast<float>(request.sampling.top_p));
  p->set_top_k(static_cast<int32_t>(request.sampling.top_k));
  p->set_max_new_tokens(static_cast<int32_t>(request.sampling.max_new_tokens));
  for (int32_t id : request.sampling.stop_token_ids) p->add_stop_token_ids(id);
  for (const auto& s : request.stop_strings) p->add_stop_strings(s);
  p->set_seed(request.sampling.seed);
  return out;
}

AbortSpec FromProto(const AbortRequest& request) {
  AbortSpec out;
  out.group_ids.assign(request.group_ids().begin(), request.group_ids().end());
  out.request_ids.assign(request.request_ids().begin(), request.request_ids().end());
  out.by_launch_seq = request.by_launch_seq();
  out.launched_after = request.launched_after();
  return out;
}

Sample ToProto(const RolloutSample& s) {
  Sample out;
  out.set_request_id(s.request_id);
  out.set_group_id(s.group_id);
  out.set_index_in_group(s.index_in_group);
  out.set_launch_seq(s.launch_seq);
  for (int32_t id : s.prompt) out.add_prompt_token_ids(id);
  for (int32_t id : s.tokens) out.add_response_token_ids(id);
  for (float lp : s.logprobs) out.add_response_logprobs(lp);
  for (int64_t v : s.versions) out.add_token_policy_versions(v);
  switch (s.finish) {
    case Finish::kStop:
      out.set_finish_reason(FINISH_REASON_STOP);
      break;
    case Finish::kLength:
      out.set_finish_reason(FINISH_REASON_LENGTH);
      break;
    case Finish::kAborted:
      out.set_finish_reason(FINISH_REASON_ABORTED);
      break;
  }
  return out;
}

RolloutSample FromProto(const Sample& s) {
  RolloutSample out;
  out.request_id = s.request_id();
  out.group_id = s.group_id();
  out.index_in_group = s.index_in_group();
  out.launch_seq = s.launch_seq();
  out.prompt.assign(s.prompt_token_ids().begin(), s.prompt_token_ids().end());
  out.tokens.assign(s.response_token_ids().begin(), s.response_token_ids().end());
  out.logprobs.assign(s.response_logprobs().begin(), s.response_logprobs().end());
  out.versions.assign(s.token_policy_versions().begin(), s.token_policy_versions().end());
  out.finish = s.finish_reason() == FINISH_REASON_STOP     ? Finish::kStop
               : s.finish_reason() == FINISH_REASON_LENGTH ? Finish::kLength
                                                           : Finish::kAborted;
  return out;
}

}  // namespace seamless

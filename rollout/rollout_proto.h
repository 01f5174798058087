// Conversions between the engine's types (rollout_types.h) and proto/rollout.proto.
#ifndef SEAMLESS_ROLLOUT_ROLLOUT_PROTO_H_
#define SEAMLESS_ROLLOUT_ROLLOUT_PROTO_H_

#include "proto/rollout.pb.h"
#include "rollout/rollout_types.h"

namespace seamless {

// Proto3 zero values mean "unset": top_p 0 is 1 (no truncation). A max_new_tokens of 0 is
// left as 0 so validation names it.
GroupRequest FromProto(const GenerateRequest& request);
AbortSpec FromProto(const AbortRequest& request);
Sample ToProto(const RolloutSample& sample);

// The client side of the same mapping (scheduler, tests, benchmarks).
GenerateRequest ToProto(const GroupRequest& request);
RolloutSample FromProto(const Sample& sample);

}  // namespace seamless

#endif  // SEAMLESS_ROLLOUT_ROLLOUT_PROTO_H_

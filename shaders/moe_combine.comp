#version 450
// Weighted sum of the chosen experts' outputs, added into the residual stream in the same
// pass (accumulate = 1, the forward pass's use: x += sum_k w[t,k] * expert_out[t,k]) or
// written fresh (accumulate = 0). Experts are added in k order, one multiply-add each, as
// cpu::axpy does in the reference forward pass. A shared expert joins as one more
// column of expert_out with its own weight. A zero weight marks a route computed elsewhere
// (on the CPU, hybrid offload): its expert_out row is not read, so it may hold anything.
// With MOE_COMBINE_BIAS each route's output first gets its expert's bias row
// (gpt-oss's down-projection bias): expert_out[t,k] + bias[ids[t,k]].
// Grid-stride over tokens * n. F32.
#extension GL_GOOGLE_include_directive : require
#include "block_ops.h"
#include "common_ops.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(std430, set = 0, binding = 0) buffer X { float x[]; };                         // [tokens, n]
layout(std430, set = 0, binding = 1) readonly buffer ExpertOut { float expert_out[]; };  // [tokens, top_k, n]
layout(std430, set = 0, binding = 2) readonly buffer Weights { float weights[]; };       // [tokens, top_k]
#if defined(MOE_COMBINE_BIAS)
layout(std430, set = 0, binding = 3) readonly buffer Ids { int ids[]; };                 // [tokens, top_k]
layout(std430, set = 0, binding = 4) readonly buffer Bias { float bias[]; };             // [n_experts, n]
#endif

layout(push_constant) uniform Push { FERRY_PUSH_MOE_COMBINE } pc;

void main() {
    const uint stride = gl_NumWorkGroups.x * gl_NumWorkGroups.y * WG;
    for (uint id = flat_group_id() * WG + gl_LocalInvocationID.x; id < pc.tokens * pc.n; id += stride) {
        const uint t = id / pc.n, i = id % pc.n;
        float acc = pc.accumulate != 0u ? x[id] : 0.0;
        for (uint k = 0u; k < pc.top_k; ++k) {
            const float w = weights[t * pc.top_k + k];
            if (w == 0.0) continue;
            float y = expert_out[(t * pc.top_k + k) * pc.n + i];
#if defined(MOE_COMBINE_BIAS)
            y += bias[uint(ids[t * pc.top_k + k]) * pc.n + i];
#endif
            acc += w * y;
        }
        x[id] = acc;
    }
}

#version 450
// The short causal conv1d of a linear-attention layer, then SiLU, in place, as
// cpu::ssm_conv: one invocation per channel walks the batch's tokens in order, keeping
// the last kernel-1 inputs (the rolling state, [channels, kernel-1], oldest first) in
// registers; w[c, 0] multiplies the oldest input. F32.
#extension GL_GOOGLE_include_directive : require
#include "block_ops.h"
#include "common_ops.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(std430, set = 0, binding = 0) buffer X {
    float x[];
};  // [tokens, x_stride]
layout(std430, set = 0, binding = 1) readonly buffer W {
    float w[];
};  // [channels, kernel]
layout(std430, set = 0, binding = 2) buffer S {
    float s[];
};  // [channels, kernel - 1]

layout(push_constant) uniform Push{FERRY_PUSH_SSM_CONV} pc;

void main() {
    const uint c = flat_group_id() * WG + gl_LocalInvocationID.x;
    if (c >= pc.channels) return;
    const uint km1 = pc.kernel - 1u;
    float window[FERRY_SSM_MAX_KERNEL];
    for (uint k = 0; k < km1; ++k) window[k] = pc.fresh != 0u ? 0.0 : s[c * km1 + k];
    for (uint t = 0; t < pc.tokens; ++t) {
        const uint at = t * pc.x_stride + c;
        window[km1] = x[at];
        float y = 0.0;
        for (uint k = 0; k <= km1; ++k) y += w[c * pc.kernel + k] * window[k];
        for (uint k = 0; k < km1; ++k) window[k] = window[k + 1u];
        x[at] = y / (1.0 + exp(-y));
    }
    for (uint k = 0; k < km1; ++k) s[c * km1 + k] = window[k];
}

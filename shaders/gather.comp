#version 450
// Column blocks of each token's row copied into another activation: out[t, out_offset +
// g * out_group_stride + i] = in[t, in_offset + g * in_group_stride + i]. Splits fused
// projections (a gated attention's per-head [q | gate], Qwen3-Next's per-group [q k v z]
// and [β α]) and interleaves heads (MLA's [rope | latent] query heads).
// Grid-stride loop. F32.
#extension GL_GOOGLE_include_directive : require
#include "block_ops.h"
#include "common_ops.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(std430, set = 0, binding = 0) readonly buffer In {
    float x[];
};
layout(std430, set = 0, binding = 1) writeonly buffer Out {
    float y[];
};

layout(push_constant) uniform Push{FERRY_PUSH_GATHER} pc;

void main() {
    const uint per_token = pc.groups * pc.len;
    const uint n = pc.tokens * per_token;
    const uint stride = gl_NumWorkGroups.x * gl_NumWorkGroups.y * WG;
    for (uint e = flat_group_id() * WG + gl_LocalInvocationID.x; e < n; e += stride) {
        const uint t = e / per_token, r = e % per_token;
        const uint g = r / pc.len, i = r % pc.len;
        y[t * pc.out_stride + pc.out_offset + g * pc.out_group_stride + i] = x[t * pc.in_stride + pc.in_offset + g * pc.in_group_stride + i];
    }
}

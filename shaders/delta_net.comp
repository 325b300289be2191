#version 450
// The gated delta rule of a linear-attention layer over a batch of tokens, as
// cpu::delta_rule_step applied token after token: one workgroup per V head h, each
// invocation owning columns j of the head's state S [k_dim, v_dim] (so no two
// invocations touch the same state), tokens in order. Per token the workgroup loads and
// L2-normalises its q/k head into shared memory, then per column:
//   S[:, j] *= e^g;  δ_j = β (v_j − S[:, j]·k);  S[:, j] += k δ_j;  o_j = S[:, j]·q
// with β = σ(beta), g = a · softplus(alpha + dt_bias). An exact sequential scan: the
// work is the recurrence's own O(tokens · k_dim · v_dim), spread over v_heads · v_dim
// invocations. F32 state and arithmetic.
#extension GL_GOOGLE_include_directive : require
#include "block_ops.h"
#include "common_ops.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
#include "reduce.glsl"

layout(std430, set = 0, binding = 0) readonly buffer Mix {
    float mix[];
};  // [tokens, mix_stride]: q [k_heads, k_dim] | k [k_heads, k_dim] | v [v_heads, v_dim]
layout(std430, set = 0, binding = 1) readonly buffer Beta {
    float beta_logit[];
};  // [tokens, v_heads]
layout(std430, set = 0, binding = 2) readonly buffer Alpha {
    float alpha_logit[];
};  // [tokens, v_heads]
layout(std430, set = 0, binding = 3) readonly buffer DtBias {
    float dt_bias[];
};  // [v_heads]
layout(std430, set = 0, binding = 4) readonly buffer A {
    float a[];
};  // [v_heads]: −exp(A_log)
layout(std430, set = 0, binding = 5) buffer State {
    float state[];
};  // [v_heads, k_dim, v_dim]
layout(std430, set = 0, binding = 6) writeonly buffer Out {
    float o_out[];
};  // [tokens, v_heads, v_dim]

layout(push_constant) uniform Push{FERRY_PUSH_DELTA_NET} pc;

shared float sq[FERRY_DELTA_MAX_KDIM];
shared float sk[FERRY_DELTA_MAX_KDIM];

float softplus(float x) {
    return x > 20.0 ? x : log(1.0 + exp(x));
}

void main() {
    const uint h = flat_group_id();
    if (h >= pc.v_heads) return;  // whole workgroups only
    const uint tid = gl_LocalInvocationID.x;
    const uint kh = pc.grouped != 0u ? h / (pc.v_heads / pc.k_heads) : h % pc.k_heads;
    const uint Dk = pc.k_dim, Dv = pc.v_dim;
    const uint s0 = h * Dk * Dv;
    for (uint t = 0; t < pc.tokens; ++t) {
        const uint row = t * pc.mix_stride;
        float qq = 0.0, kk = 0.0;
        for (uint i = tid; i < Dk; i += WG) {
            const float qv = mix[row + kh * Dk + i], kv = mix[row + pc.k_heads * Dk + kh * Dk + i];
            sq[i] = qv;
            sk[i] = kv;
            qq += qv * qv;
            kk += kv * kv;
        }
        qq = wg_sum(qq);  // starts and ends with a barrier: sq, sk are visible after
        kk = wg_sum(kk);
        const float q_scale = 1.0 / (max(sqrt(qq), pc.eps) * sqrt(float(Dk)));
        const float k_scale = 1.0 / max(sqrt(kk), pc.eps);
        const float beta = 1.0 / (1.0 + exp(-beta_logit[t * pc.v_heads + h]));
        const float decay = exp(a[h] * softplus(alpha_logit[t * pc.v_heads + h] + dt_bias[h]));
        const bool zero = pc.fresh != 0u && t == 0u;
        for (uint j = tid; j < Dv; j += WG) {
            float u = 0.0;
            for (uint i = 0; i < Dk; ++i) {
                const float s = zero ? 0.0 : state[s0 + i * Dv + j] * decay;
                state[s0 + i * Dv + j] = s;
                u += s * sk[i] * k_scale;
            }
            const float delta = beta * (mix[row + 2u * pc.k_heads * Dk + h * Dv + j] - u);
            float o = 0.0;
            for (uint i = 0; i < Dk; ++i) {
                const float s = state[s0 + i * Dv + j] + sk[i] * k_scale * delta;
                state[s0 + i * Dv + j] = s;
                o += s * sq[i] * q_scale;
            }
            o_out[(t * pc.v_heads + h) * Dv + j] = o;
        }
        barrier();  // every invocation is done with sq, sk before the next token's
    }
}

#version 450
// Rotary position embedding in place, NeoX (pairs i, i + rot/2) or normal (pairs 2i,
// 2i + 1) style chosen by the ROPE_NEOX / ROPE_NORMAL define; dims past rot_dims are left
// as they are (partial rotary). One invocation per rotated pair of one head of one token;
// token t uses positions[t], so a prefill batch is one dispatch.
//   angle_i = pos * freq_scale * freq_base^(-2i / rot_dims),  i < rot_dims / 2
// and with YaRN (ext_factor > 0) mixed with the unscaled angle by a ramp over the pair
// index between corr_low and corr_high, cos/sin times mscale (ggml's rope_yarn); with
// has_factors each pair's frequency is divided by its factor (rope_freqs); as cpu::rope. F32 throughout; the angle is formed as ggml does, in F32.
#extension GL_GOOGLE_include_directive : require
#include "block_ops.h"
#include "common_ops.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(std430, set = 0, binding = 0) buffer X { float x[]; };                  // [tokens, token_stride]
layout(std430, set = 0, binding = 1) readonly buffer Positions { int positions[]; };  // [tokens]
layout(std430, set = 0, binding = 2) readonly buffer Factors { float factors[]; };    // [rot_dims / 2]

layout(push_constant) uniform Push { FERRY_PUSH_ROPE } pc;

void main() {
    const uint half_rot = pc.rot_dims / 2u;
    const uint per_token = pc.n_heads * half_rot;
    const uint id = flat_group_id() * WG + gl_LocalInvocationID.x;
    if (id >= pc.tokens * per_token) return;
    const uint t = id / per_token;
    const uint h = (id % per_token) / half_rot;
    const uint i = id % half_rot;

    const float inv_freq = exp2(-2.0 * float(i) / float(pc.rot_dims) * log2(pc.freq_base));
    // Llama 3/4's rope_freqs: pair i's frequency divided by factors[i] (has_factors).
    const float factor = pc.has_factors != 0u ? factors[i] : 1.0;
    const float unscaled = float(positions[t]) * inv_freq / factor;
    float theta = unscaled * pc.freq_scale;
    if (pc.ext_factor != 0.0) {
        const float y = (float(i) - pc.corr_low) / max(0.001, pc.corr_high - pc.corr_low);
        const float mix = (1.0 - clamp(y, 0.0, 1.0)) * pc.ext_factor;
        theta = theta * (1.0 - mix) + unscaled * mix;
    }
    const float c = cos(theta) * pc.mscale, s = sin(theta) * pc.mscale;
    const uint base = t * pc.token_stride + h * pc.head_dim;
#if defined(ROPE_NEOX)
    const uint a = base + i, b = base + i + half_rot;
#elif defined(ROPE_NORMAL)
    const uint a = base + 2u * i, b = base + 2u * i + 1u;
#else
#error "define ROPE_NEOX or ROPE_NORMAL"
#endif
    const float x0 = x[a], x1 = x[b];
    x[a] = x0 * c - x1 * s;
    x[b] = x0 * s + x1 * c;
}

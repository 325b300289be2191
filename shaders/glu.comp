#version 450
// Gated linear unit: out[i] = act(gate[i]) * up[i] over n floats, act chosen by the
// define: GLU_SWIGLU silu(x) = x / (1 + exp(-x)); GLU_GEGLU gelu with the tanh
// approximation (ggml_gelu); GLU_SWIGLU_OAI gpt-oss's clamped form
// min(g,7) * sigmoid(1.702 min(g,7)) * (clamp(u,-7,7) + 1); as cpu::swiglu / geglu /
// swiglu_oai. With GLU_ROUTE_BIAS, gate and up are rows of `width` floats, one per
// route, and each first gets its expert's bias row: gate[i] + bias_gate[ids[r], i % width].
// gate/up/out may be ranges of one buffer (the host binds offsets). Grid-stride loop, so
// any n fits one dispatch. F32.
#extension GL_GOOGLE_include_directive : require
#include "block_ops.h"
#include "common_ops.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(std430, set = 0, binding = 0) readonly buffer Gate { float gate[]; };  // [n]
layout(std430, set = 0, binding = 1) readonly buffer Up { float up[]; };      // [n]
layout(std430, set = 0, binding = 2) writeonly buffer Out { float out_[]; };  // [n]
#if defined(GLU_ROUTE_BIAS)
layout(std430, set = 0, binding = 3) readonly buffer Ids { int ids[]; };              // [n / width]
layout(std430, set = 0, binding = 4) readonly buffer BiasGate { float bias_gate[]; };  // [n_experts, width]
layout(std430, set = 0, binding = 5) readonly buffer BiasUp { float bias_up[]; };      // [n_experts, width]
#endif

layout(push_constant) uniform Push { FERRY_PUSH_GLU } pc;

float glu(float g, float u) {
#if defined(GLU_SWIGLU)
    return g / (1.0 + exp(-g)) * u;
#elif defined(GLU_GEGLU)
    const float k_sqrt_2_over_pi = 0.7978845608028654;
    return 0.5 * g * (1.0 + safe_tanh(k_sqrt_2_over_pi * g * (1.0 + 0.044715 * g * g))) * u;
#elif defined(GLU_SWIGLU_OAI)
    g = min(g, 7.0);
    u = clamp(u, -7.0, 7.0);
    return g / (1.0 + exp(-1.702 * g)) * (u + 1.0);
#else
#error "define GLU_SWIGLU, GLU_GEGLU or GLU_SWIGLU_OAI"
#endif
}

void main() {
    const uint stride = gl_NumWorkGroups.x * gl_NumWorkGroups.y * WG;
    for (uint i = flat_group_id() * WG + gl_LocalInvocationID.x; i < pc.n; i += stride) {
#if defined(GLU_ROUTE_BIAS)
        const uint b = uint(ids[i / pc.width]) * pc.width + i % pc.width;
        out_[i] = glu(gate[i] + bias_gate[b], up[i] + bias_up[b]);
#else
        out_[i] = glu(gate[i], up[i]);
#endif
    }
}

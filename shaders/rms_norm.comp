#version 450
// RMSNorm with weight (RMS_NO_WEIGHT: without, Llama 4's q/k norm): y[r] = x[r] /
// sqrt(mean(x[r]^2) + eps) * weight, one row per
// workgroup. The same shader serves the block norms (rows of n_embd, one per token) and
// Qwen3's per-head q_norm/k_norm (rows of head_dim, tokens * heads of them). x and y may
// be the same buffer (in place): each element is read and written by one invocation.
// Arithmetic in F32.
#extension GL_GOOGLE_include_directive : require
#include "block_ops.h"
#include "common_ops.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };        // [rows, x_stride]
layout(std430, set = 0, binding = 1) readonly buffer Weight { float weight[]; };  // [n]
layout(std430, set = 0, binding = 2) writeonly buffer Y { float y[]; };       // [rows, y_stride]

layout(push_constant) uniform Push { FERRY_PUSH_RMS_NORM } pc;

shared float partial[WG];

void main() {
    const uint row = flat_group_id();
    if (row >= pc.rows) return;  // uniform per workgroup
    const uint tid = gl_LocalInvocationID.x;
    const uint xb = row * pc.x_stride;
    float sum = 0.0;
    for (uint i = tid; i < pc.n; i += WG) sum += x[xb + i] * x[xb + i];
    partial[tid] = sum;
    barrier();
    for (uint s = WG / 2u; s > 0u; s >>= 1u) {
        if (tid < s) partial[tid] += partial[tid + s];
        barrier();
    }
    const float inv = inversesqrt(partial[0] / float(pc.n) + pc.eps);
    const uint yb = row * pc.y_stride;
#if defined(RMS_NO_WEIGHT)
    for (uint i = tid; i < pc.n; i += WG) y[yb + i] = x[xb + i] * inv;
#else
    for (uint i = tid; i < pc.n; i += WG) y[yb + i] = x[xb + i] * inv * weight[i];
#endif
}

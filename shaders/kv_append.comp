#version 450
// KV append: writes the new tokens' (already rotated) K and their V, F32, into the F16
// caches at positions[t]. One invocation per four elements of one token's row
// (row = n_kv_heads * head_dim, a multiple of 4). Positions at or past n_ctx are skipped
// (the host checks them before recording).
#extension GL_GOOGLE_include_directive : require
#include "block_ops.h"
#include "common_ops.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(std430, set = 0, binding = 0) readonly buffer K { float k[]; };               // [tokens, k_stride]
layout(std430, set = 0, binding = 1) readonly buffer V { float v[]; };               // [tokens, v_stride]
layout(std430, set = 0, binding = 2) readonly buffer Positions { int positions[]; };  // [tokens]
#define KV_BINDING_K 3
#define KV_BINDING_V 4
#define KV_ACCESS writeonly
#define KV_WRITE 1
#include "kv_cache.glsl"

layout(push_constant) uniform Push { FERRY_PUSH_KV_APPEND } pc;

void main() {
    const uint per_token = pc.row / 4u;
    const uint id = flat_group_id() * WG + gl_LocalInvocationID.x;
    if (id >= pc.tokens * per_token) return;
    const uint t = id / per_token, j = id % per_token;
    const int pos = positions[t];
    if (pos < 0 || uint(pos) >= pc.n_ctx) return;
    const uint kb = t * pc.k_stride + 4u * j, vb = t * pc.v_stride + 4u * j;
    const uint dst = (uint(pos) % pc.cache_rows) * per_token + j;  // a ring where cache_rows < n_ctx
    store_k4(dst, vec4(k[kb], k[kb + 1u], k[kb + 2u], k[kb + 3u]));
    store_v4(dst, vec4(v[vb], v[vb + 1u], v[vb + 2u], v[vb + 3u]));
}

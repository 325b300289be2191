#version 450
// Batched (prefill) matrix-matrix product: Y[t, r] = sum_c W[r, c] * X[t, c].
//   W: [rows, cols] in QTYPE_<type> (binding 0, uint words), X: [n_tokens, cols] F32 rows
//   x_stride floats apart, Y: [n_tokens, rows] F32 rows y_stride floats apart.
// A workgroup computes a TILE_ROWS x TILE_TOKENS block of Y. For each K step of TILE_K
// columns it dequantizes the weight tile into shared memory once and multiplies it with
// the TILE_TOKENS token rows staged beside it, so each weight is decoded once per
// TILE_TOKENS tokens. Each invocation owns 4 rows x 4 tokens and sums in column order.
// Grid: x = ceil(rows / TILE_ROWS), y = ceil(n_tokens / TILE_TOKENS).
// MM_EXPERT: grid.z = expert group g (shaders/matvec_layout.h): W at
// groups[g].weight_offset, token rows gathered through routes[]; y tiles past the
// group's route_count exit at once, so grid.y covers the largest group (p.n_tokens).
#extension GL_GOOGLE_include_directive : require

#include "matvec_layout.h"

#define TILE_ROWS FERRY_MATMUL_TILE_ROWS
#define TILE_TOKENS FERRY_MATMUL_TILE_TOKENS
#define TILE_K FERRY_MATMUL_TILE_K

layout(local_size_x = FERRY_MATMUL_THREADS) in;

layout(std430, set = 0, binding = 0) readonly buffer Weights { uint weight_words[]; };
layout(std430, set = 0, binding = 1) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Y { float y[]; };
#ifdef MM_EXPERT
layout(std430, set = 0, binding = 3) readonly buffer Groups { ExpertGroup groups[]; };
layout(std430, set = 0, binding = 4) readonly buffer Routes { uint routes[]; };
#endif

layout(push_constant) uniform Push { MatPush p; };

#define FERRY_QUANT_WORDS weight_words
#include "quant_blocks.glsl"
#include "matvec_weights.glsl"

shared float w_tile[TILE_ROWS][TILE_K + 1];    // +1: rows of the tile in different banks
shared float x_tile[TILE_TOKENS][TILE_K + 1];

uint route_count;
uint route_begin;

// First float of the X row (is_x) or Y row of tile-local token j; false when the tile has
// no token j.
bool token_row(uint j, bool is_x, out uint base) {
    const uint idx = gl_WorkGroupID.y * TILE_TOKENS + j;
    base = 0u;
    if (idx >= route_count) return false;
#ifdef MM_EXPERT
    const uint route = routes[route_begin + idx];
    const uint token = route / p.n_slots, slot = route % p.n_slots;
    base = is_x ? p.x_offset + token * p.x_stride + slot * p.x_slot_stride
                : p.y_offset + token * p.y_stride + slot * p.y_slot_stride;
#else
    base = is_x ? p.x_offset + idx * p.x_stride : p.y_offset + idx * p.y_stride;
#endif
    return true;
}

void main() {
    const uint tid = gl_LocalInvocationID.x;
    const uint row0 = gl_WorkGroupID.x * TILE_ROWS;
    uint wbase = p.weight_offset;
#ifdef MM_EXPERT
    const ExpertGroup group = groups[gl_WorkGroupID.z];
    wbase += group.weight_offset;
    route_begin = group.route_begin;
    route_count = group.route_count;
#else
    route_begin = 0u;
    route_count = p.n_tokens;
#endif
    if (gl_WorkGroupID.y * TILE_TOKENS >= route_count) return;  // whole workgroup

    // Staging roles: weight row lr, columns lk..lk+15 of the K step; token lt,
    // columns xk..xk+7.
    const uint lr = tid >> 1u, lk = (tid & 1u) * 16u;
    const uint lt = tid >> 2u, xk = (tid & 3u) * 8u;
    const bool w_row_ok = row0 + lr < p.rows;
    const uint w_rb = wbase + (row0 + lr) * p.row_stride;
    uint x_base;
    const bool x_ok = token_row(lt, true, x_base);

    // Output roles: rows tr + 16 i, tokens tc + 8 j.
    const uint tr = tid & 15u, tc = tid >> 4u;
    float acc[4][4];
    for (uint i = 0u; i < 4u; ++i)
        for (uint j = 0u; j < 4u; ++j) acc[i][j] = 0.0;

    for (uint k0 = 0u; k0 < p.cols; k0 += TILE_K) {
#ifdef W_PLAIN
        for (uint k = 0u; k < 16u; ++k) {
            const uint c = k0 + lk + k;
            w_tile[lr][lk + k] = (w_row_ok && c < p.cols) ? w_at(w_rb, c) : 0.0;
        }
#else
        // Quantized rows are whole blocks of 32 or 256: the 16 are all in or all out.
        float wv16[16];
        if (w_row_ok && k0 + lk < p.cols) {
            w_decode16(w_rb, k0 + lk, wv16);
        } else {
            for (uint k = 0u; k < 16u; ++k) wv16[k] = 0.0;
        }
        for (uint k = 0u; k < 16u; ++k) w_tile[lr][lk + k] = wv16[k];
#endif
        for (uint k = 0u; k < 8u; ++k) {
            const uint c = k0 + xk + k;
            x_tile[lt][xk + k] = (x_ok && c < p.cols) ? x[x_base + c] : 0.0;
        }
        barrier();
        for (uint k = 0u; k < TILE_K; ++k) {
            float wv[4];
            for (uint i = 0u; i < 4u; ++i) wv[i] = w_tile[tr + 16u * i][k];
            for (uint j = 0u; j < 4u; ++j) {
                const float xv = x_tile[tc + 8u * j][k];
                for (uint i = 0u; i < 4u; ++i) acc[i][j] += wv[i] * xv;
            }
        }
        barrier();
    }

    for (uint j = 0u; j < 4u; ++j) {
        uint y_base;
        if (!token_row(tc + 8u * j, false, y_base)) continue;
        for (uint i = 0u; i < 4u; ++i) {
            const uint row = row0 + tr + 16u * i;
            if (row < p.rows) y[y_base + row] = acc[i][j];
        }
    }
}

#version 450
// Decode matrix-vector product: y[r] = sum_c W[r, c] * x[c] for one token.
//   W: [rows, cols] in QTYPE_<type> (binding 0, read as uint words: no 8/16-bit storage
//      needed), x: [cols] F32, y: [rows] F32.
// Bandwidth-bound: every weight byte is read once.
// MV_TOKENS: the same for each of n_tokens tokens in turn (x rows x_stride floats apart, y
// rows y_stride apart: a decode step of several sequences, a short prompt); the tokens
// after the first read the workgroup's rows again from cache, and each token's sums are
// formed exactly as a one-token dispatch forms them. A variant of its own: on lavapipe the
// token loop around the barriers costs a one-token decode about 40%. A workgroup owns ROWS consecutive rows;
// its invocations stride over their units (matvec_weights.glsl; the host picks ROWS so
// that rows x units covers the workgroup), then the partial
// sums are reduced with subgroupAdd (default) or, with MV_SHARED_REDUCE, a shared-memory
// tree for devices without subgroup arithmetic.
// MV_EXPERT: grid.y = selected slot s; W, x and y of slot s come through the indirection
// table slot_offset[] and the slot strides (shaders/matvec_layout.h).
// Grid: x * z workgroups cover ceil(rows / ROWS) row blocks (z only when x would pass the
// device's limit).
#extension GL_GOOGLE_include_directive : require
#ifndef MV_SHARED_REDUCE
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

#include "matvec_layout.h"

layout(local_size_x_id = 0) in;                 // invocations: a power of two
layout(constant_id = 1) const uint ROWS = 2u;   // rows per workgroup

layout(std430, set = 0, binding = 0) readonly buffer Weights { uint weight_words[]; };
layout(std430, set = 0, binding = 1) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer X4 { vec4 x4[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Y { float y[]; };
#ifdef MV_EXPERT
layout(std430, set = 0, binding = 3) readonly buffer Slots { uint slot_offset[]; };
#endif

layout(push_constant) uniform Push { MatPush p; };

#define FERRY_QUANT_WORDS weight_words
#include "quant_blocks.glsl"
#define MV_WITH_X 1
#include "matvec_weights.glsl"

// One partial sum per (row, subgroup) -- or per (row, invocation) for the tree.
shared float partial[ROWS * gl_WorkGroupSize.x];

void main() {
    const uint wg = gl_WorkGroupSize.x;
    const uint tid = gl_LocalInvocationID.x;
    const uint row0 = (gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x) * ROWS;
    if (row0 >= p.rows) return;  // whole workgroup: no barrier is skipped by some only

    uint wbase = p.weight_offset;
    uint xb = p.x_offset;
    uint yb = p.y_offset;
#ifdef MV_EXPERT
    const uint slot = gl_WorkGroupID.y;
    wbase += slot_offset[slot];
    xb += slot * p.x_slot_stride;
    yb += slot * p.y_slot_stride;
#endif

    // The workgroup's (row, unit) pairs, row-major, spread over all invocations: rows
    // shorter than the workgroup still keep every invocation busy, and neighbours read
    // neighbouring bytes.
    const uint units = (p.cols + MV_UNIT - 1u) / MV_UNIT;
    const uint n_rows = min(ROWS, p.rows - row0);
#ifdef MV_TOKENS
    for (uint t = 0u; t < p.n_tokens; ++t, xb += p.x_stride, yb += p.y_stride) {
    if (t > 0u) barrier();  // the previous token's partial sums are read
#endif
    float acc[ROWS];
    for (uint r = 0u; r < ROWS; ++r) acc[r] = 0.0;
    for (uint f = tid; f < n_rows * units; f += wg) {
        const uint r = f / units;
        const float v = mv_unit_dot(wbase + (row0 + r) * p.row_stride, f - r * units, xb);
        for (uint k = 0u; k < ROWS; ++k) acc[k] += k == r ? v : 0.0;
    }
    for (uint r = 0u; r < ROWS; ++r) {
#ifdef MV_SHARED_REDUCE
        partial[r * wg + tid] = acc[r];
#else
        const float sum = subgroupAdd(acc[r]);
        if (subgroupElect()) partial[r * wg + gl_SubgroupID] = sum;
#endif
    }
    barrier();

#ifdef MV_SHARED_REDUCE
    for (uint half_n = wg / 2u; half_n > 0u; half_n /= 2u) {
        if (tid < half_n)
            for (uint r = 0u; r < ROWS; ++r) partial[r * wg + tid] += partial[r * wg + tid + half_n];
        barrier();
    }
    const uint parts = 1u;
#else
    const uint parts = gl_NumSubgroups;
#endif
    if (tid < ROWS && row0 + tid < p.rows) {
        float sum = 0.0;
        for (uint k = 0u; k < parts; ++k) sum += partial[tid * wg + k];
        y[yb + row0 + tid] = sum;
    }
#ifdef MV_TOKENS
    }  // tokens
#endif
}

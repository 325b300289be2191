#version 450
// Transposed product: Y[t, c] = sum_{r < rows} W[r, c] * X[t, r] for c < cols, t < n_tokens.
// W's rows are the inputs here: MLA's absorbed query multiplies each head's q_nope by its
// key up-projection's transpose, stored as rows of the latent's width (attn_kv_b). One
// invocation per (c, t) walks down column c, so neighbouring invocations read neighbouring
// elements of a row; any weight type through w_at (the per-element decode). F32 sums in row
// order, as cpu::reference_matvec_transposed.
//   W: [rows, cols] in QTYPE_<type> at weight_offset, rows row_stride bytes apart (binding 0)
//   X: [n_tokens, rows] F32 from x_offset, x_stride floats apart (binding 1)
//   Y: [n_tokens, cols] F32 from y_offset, y_stride floats apart (binding 2)
// Grid: x = ceil(cols / WG), y = n_tokens.
#extension GL_GOOGLE_include_directive : require

#include "matvec_layout.h"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;

layout(std430, set = 0, binding = 0) readonly buffer Weights { uint weight_words[]; };
layout(std430, set = 0, binding = 1) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Push { MatPush p; };

#define FERRY_QUANT_WORDS weight_words
#include "quant_blocks.glsl"
#include "matvec_weights.glsl"

void main() {
    const uint c = gl_WorkGroupID.x * WG + gl_LocalInvocationID.x;
    const uint t = gl_WorkGroupID.y;
    if (c >= p.cols || t >= p.n_tokens) return;
    const uint xb = p.x_offset + t * p.x_stride;
    float acc = 0.0;
    for (uint r = 0u; r < p.rows; ++r) acc += w_at(p.weight_offset + r * p.row_stride, c) * x[xb + r];
    y[p.y_offset + t * p.y_stride + c] = acc;
}

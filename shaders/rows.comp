#version 450
// Row ops in place on x [n / width, width], as cpu::add_row / cpu::sigmoid_gate:
// ROWS_ADD x[i] += b[i % width] (a bias over every token's row); ROWS_SIGMOID_GATE
// x[i] *= sigmoid(b[i / width]) (a per-token scalar gate, e.g. Qwen2-MoE's shared expert);
// ROWS_SCALE x[i] *= b[i / width] (Llama 4's expert input times its route weight).
// Grid-stride loop, so any n fits one dispatch. F32.
#extension GL_GOOGLE_include_directive : require
#include "block_ops.h"
#include "common_ops.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(std430, set = 0, binding = 0) buffer X {
    float x[];
};  // [n]
layout(std430, set = 0, binding = 1) readonly buffer B {
    float b[];
};  // [width] or [n / width]

layout(push_constant) uniform Push{FERRY_PUSH_ROWS} pc;

void main() {
    const uint stride = gl_NumWorkGroups.x * gl_NumWorkGroups.y * WG;
    for (uint i = flat_group_id() * WG + gl_LocalInvocationID.x; i < pc.n; i += stride) {
#if defined(ROWS_ADD)
        x[i] += b[i % pc.width];
#elif defined(ROWS_SIGMOID_GATE)
        x[i] *= 1.0 / (1.0 + exp(-b[i / pc.width]));
#elif defined(ROWS_SCALE)
        x[i] *= b[i / pc.width];
#else
#error "define ROWS_ADD or ROWS_SIGMOID_GATE"
#endif
    }
}

#version 450
// Arithmetic peak for the benchmarks (bench/bench_matmul.cpp): each invocation runs `iters`
// rounds of 8 independent vec4 fused multiply-adds (64 FLOPs a round) and writes their sum,
// so the compiler keeps every one. FLOPs = invocations * iters * 64.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(std430, set = 0, binding = 0) writeonly buffer Out { vec4 out_[]; };

layout(push_constant) uniform Push {
    uint iters;
    float a, b;
} pc;

void main() {
    const uint id = gl_GlobalInvocationID.x;
    vec4 x0 = vec4(float(id) * 1e-7), x1 = x0 + 0.1, x2 = x0 + 0.2, x3 = x0 + 0.3;
    vec4 x4 = x0 + 0.4, x5 = x0 + 0.5, x6 = x0 + 0.6, x7 = x0 + 0.7;
    const vec4 a = vec4(pc.a), b = vec4(pc.b);
    for (uint i = 0u; i < pc.iters; ++i) {
        x0 = fma(x0, a, b);
        x1 = fma(x1, a, b);
        x2 = fma(x2, a, b);
        x3 = fma(x3, a, b);
        x4 = fma(x4, a, b);
        x5 = fma(x5, a, b);
        x6 = fma(x6, a, b);
        x7 = fma(x7, a, b);
    }
    out_[id] = ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7));
}

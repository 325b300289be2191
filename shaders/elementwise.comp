#version 450
// out[i] = a[i] OP b[i] (ADD, MUL), out[i] = a[i] * scale (SCALE) or the soft cap
// scale · tanh(a[i] / scale) (SOFTCAP, as cpu::softcap), over n floats.
// Workgroup size is a specialization constant so the host picks it per device.
layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 1) readonly buffer B { float b[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Out { float result[]; };

layout(push_constant) uniform Push {
    uint n;
    float scale;
} pc;

void main() {
    const uint i = gl_GlobalInvocationID.x;
    if (i >= pc.n) return;
#if defined(OP_ADD)
    result[i] = a[i] + b[i];
#elif defined(OP_MUL)
    result[i] = a[i] * b[i];
#elif defined(OP_SCALE)
    result[i] = a[i] * pc.scale;
#elif defined(OP_SOFTCAP)
    // tanh saturates long before |x| = 15; the clamp keeps drivers' exp-based tanh finite.
    result[i] = pc.scale * tanh(clamp(a[i] / pc.scale, -15.0, 15.0));
#else
#error "define OP_ADD, OP_MUL, OP_SCALE or OP_SOFTCAP"
#endif
}

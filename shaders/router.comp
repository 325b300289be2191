#version 450
// MoE router, one workgroup per token: logits [tokens, n_experts] (F32, from the router
// matvec) -> top_k expert ids and weights, exactly as cpu::route:
//   function 0 SoftmaxThenTopK: p = softmax(logits), weights p[chosen]
//   function 1 TopKThenSoftmax: weights = softmax(logits[chosen])
//   function 2 Sigmoid:         p = sigmoid(logits), weights p[chosen]
// then optional renormalisation (divide by their sum), weight_scale and, where bound
// (has_expert_scale), each chosen expert's own output scale (Gemma 4's ffn_down_exps.scale). Selection ranks
// p + bias when a bias is bound (has_bias), else the logits themselves: every function is
// monotone, so that is the same choice without exp's rounding in the way. Ties go to the
// lower expert id. Chosen experts come out in selection order (best first).
// Outputs: ids int32 [tokens, top_k], weights F32 [tokens, top_k]. F32 arithmetic.
#extension GL_GOOGLE_include_directive : require
#include "block_ops.h"
#include "common_ops.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 128;
#include "reduce.glsl"

layout(std430, set = 0, binding = 0) readonly buffer Logits { float logits[]; };  // [tokens, n_experts]
layout(std430, set = 0, binding = 1) readonly buffer Bias { float bias[]; };      // [n_experts] if has_bias
layout(std430, set = 0, binding = 2) writeonly buffer Ids { int ids[]; };         // [tokens, top_k]
layout(std430, set = 0, binding = 3) writeonly buffer Weights { float weights[]; };  // [tokens, top_k]
layout(std430, set = 0, binding = 4) readonly buffer ExpertScale { float expert_scale[]; };  // [n_experts]

layout(push_constant) uniform Push { FERRY_PUSH_ROUTER } pc;

shared float prob[FERRY_ROUTER_MAX_EXPERTS];
shared float sel[FERRY_ROUTER_MAX_EXPERTS];
shared int chosen[FERRY_ROUTER_MAX_K];

const float NEG_INF = -1.0 / 0.0;

void main() {
    const uint t = flat_group_id();
    if (t >= pc.tokens) return;  // uniform per workgroup
    const uint tid = gl_LocalInvocationID.x, n = pc.n_experts, base = t * n;

    float local_max = NEG_INF;
    for (uint e = tid; e < n; e += WG) local_max = max(local_max, logits[base + e]);
    const float m = wg_max(local_max);
    float local_sum = 0.0;
    for (uint e = tid; e < n; e += WG) {
        const float l = logits[base + e];
        float p = l;
        if (pc.function == 0u) {
            p = exp(l - m);
            local_sum += p;
        } else if (pc.function == 2u) {
            p = 1.0 / (1.0 + exp(-l));
        }
        prob[e] = p;
    }
    const float sum = wg_sum(local_sum);
    // Each invocation finishes the experts it started; wg_best's barriers publish them.
    for (uint e = tid; e < n; e += WG) {
        if (pc.function == 0u) prob[e] /= sum;
        sel[e] = pc.has_bias != 0u ? prob[e] + bias[e] : logits[base + e];
    }

    // k rounds: each picks the best expert ranked after the previous pick.
    float prev_v = 0.0;
    int prev_i = -1;
    for (uint j = 0u; j < pc.top_k; ++j) {
        float best_v = NEG_INF;
        int best_i = -1;
        for (uint e = tid; e < n; e += WG) {
            const float v = sel[e];
            if (j > 0u && prev_i < 0) break;  // nothing was left last round
            const bool after = j == 0u || v < prev_v || (v == prev_v && int(e) > prev_i);
            if (after && ranks_before(v, int(e), best_v, best_i)) {
                best_v = v;
                best_i = int(e);
            }
        }
        wg_best(best_v, best_i);
        if (tid == 0u) chosen[j] = best_i;
        prev_v = best_v;
        prev_i = best_i;
    }
    barrier();  // prob's final values and chosen[] for thread 0

    if (tid != 0u) return;
    const uint k = pc.top_k, out_base = t * k;
    float w[FERRY_ROUTER_MAX_K];
    float chosen_max = NEG_INF;
    for (uint j = 0u; j < k; ++j) {
        const int e = chosen[j];
        w[j] = e >= 0 ? prob[e] : NEG_INF;
        chosen_max = max(chosen_max, w[j]);
    }
    if (pc.function == 1u) {
        float s = 0.0;
        for (uint j = 0u; j < k; ++j) {
            w[j] = w[j] == NEG_INF ? 0.0 : exp(w[j] - chosen_max);
            s += w[j];
        }
        for (uint j = 0u; j < k; ++j) w[j] /= s;
    }
    for (uint j = 0u; j < k; ++j)
        if (chosen[j] < 0) w[j] = 0.0;
    if (pc.renormalize != 0u) {
        float s = 0.0;
        for (uint j = 0u; j < k; ++j) s += w[j];
        if (s > 0.0)
            for (uint j = 0u; j < k; ++j) w[j] /= s;
    }
    for (uint j = 0u; j < k; ++j) {
        ids[out_base + j] = chosen[j];
        float scaled = w[j] * pc.weight_scale;
        if (pc.has_expert_scale != 0u && chosen[j] >= 0) scaled *= expert_scale[chosen[j]];
        weights[out_base + j] = scaled;
    }
}

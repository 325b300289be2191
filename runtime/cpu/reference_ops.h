#pragma once
// Plain, checked CPU references for every non-matmul step of a transformer block. They
// are the oracles the Vulkan shaders are tested against and the building blocks of the
// CPU reference forward pass: F32 in, F32 out, F32 (or double) accumulation, no tricks.
#include <cstdint>
#include <span>
#include <vector>

namespace ferry::cpu {

// y = x / sqrt(mean(x^2) + eps) * weight          x, y, weight: [n] (weight empty: none)
void rms_norm(std::span<const float> x, std::span<const float> weight, float eps, std::span<float> y);

enum class RopeStyle {
    Normal,  // rotates pairs (2i, 2i+1)             (llama.cpp LLAMA_ROPE_TYPE_NORM)
    Neox,    // rotates pairs (i, i + rot_dims / 2)  (LLAMA_ROPE_TYPE_NEOX: Qwen, gpt-oss, Gemma)
};

struct RopeParams {
    RopeStyle style = RopeStyle::Neox;
    int rot_dims = 0;  // rotated dims of each head (partial rotary when < head_dim)
    float freq_base = 10000.f;
    float freq_scale = 1.f;  // linear position scaling: angle uses pos * freq_scale
    // YaRN (ggml's rope_yarn): with ext_factor > 0, pair i mixes the scaled angle and the
    // unscaled one by ramp(i) = 1 - clamp((i - corr_low) / max(0.001, corr_high - corr_low), 0, 1):
    //   angle_i = scaled * (1 - ramp·ext) + unscaled * ramp·ext
    float ext_factor = 0.f;
    float corr_low = 0.f, corr_high = 0.f;  // yarn_corr_dims
    float mscale = 1.f;                     // cos and sin are multiplied by it (YaRN's magnitude)
    std::span<const float> freq_factors = {};  // [rot_dims / 2] or empty: pair i's angle / factors[i] (rope_freqs)
};

// ggml_rope_yarn_corr_dims: the first and last pair index whose wavelength passes through
// the original context beta_fast / beta_slow times, floored / ceiled into [0, rot_dims - 1].
struct YarnCorrDims {
    float low = 0.f, high = 0.f;
};
YarnCorrDims yarn_corr_dims(int rot_dims, int n_ctx_orig, float freq_base, float beta_fast, float beta_slow);

// In place on x: [n_heads, head_dim] for one token at position pos.
// angle_i = pos * freq_scale * freq_base^(-2i / rot_dims),  i in [0, rot_dims / 2)
// (with YaRN as RopeParams says)
void rope(std::span<float> x, int n_heads, int head_dim, int pos, const RopeParams& params);

struct AttentionParams {
    int n_heads = 0;
    int n_kv_heads = 0;  // grouped-query: head h reads kv head h / (n_heads / n_kv_heads)
    int head_dim = 0;
    float scale = 0.f;       // usually 1/sqrt(head_dim)
    int sliding_window = 0;  // 0: none; else key position must be > query pos - window
    float softcap = 0.f;     // 0: none; else score = softcap * tanh(score / softcap)
    // [n_heads] or empty: gpt-oss's attention sinks, one logit per head that joins the
    // softmax's denominator only: p_j = e^{s_j} / (Σ_i e^{s_i} + e^{sink_h}).
    std::span<const float> sinks = {};
    int chunk = 0;  // > 0: keys from floor(q_pos / chunk) * chunk on (Llama 4's chunked attention)
    // > 0: scores scaled by 1 + temp_scale * ln(floor((q_pos + 1) / temp_floor) + 1) (Llama 4's
    // attention temperature on its no-rope layers).
    float temp_scale = 0.f, temp_floor = 0.f;
};

// One query token at position q_pos attending to key positions [0, q_pos] (causal).
// q: [n_heads, head_dim]; k_cache, v_cache: [n_positions, n_kv_heads, head_dim] with
// n_positions > q_pos; out: [n_heads, head_dim].
void attention(std::span<const float> q, std::span<const float> k_cache, std::span<const float> v_cache,
               int q_pos, const AttentionParams& params, std::span<float> out);

void softmax(std::span<float> x);  // in place, max-subtracted
float silu(float x);
float gelu(float x);  // tanh approximation, as ggml_gelu

// out = act(gate) * up, act = silu (SwiGLU) or gelu (GeGLU).   gate, up, out: [n]
void swiglu(std::span<const float> gate, std::span<const float> up, std::span<float> out);
void geglu(std::span<const float> gate, std::span<const float> up, std::span<float> out);
// gpt-oss's clamped SwiGLU: g = min(gate, limit), u = clamp(up, -limit, limit),
// out = g * sigmoid(alpha * g) * (u + 1).
inline constexpr float kSwigluOaiAlpha = 1.702f, kSwigluOaiLimit = 7.f;
float swiglu_oai(float gate, float up);
void swiglu_oai(std::span<const float> gate, std::span<const float> up, std::span<float> out);

enum class RouterFunction {
    SoftmaxThenTopK,  // p = softmax(logits); pick top-k of p (Qwen3 MoE, OLMoE, Mixtral-equivalent)
    TopKThenSoftmax,  // pick top-k of logits; weights = softmax over the k (gpt-oss)
    Sigmoid,          // p = sigmoid(logits); pick top-k of p + bias (DeepSeek-V3/Llama 4 style)
};

struct RouterParams {
    RouterFunction function = RouterFunction::SoftmaxThenTopK;
    int top_k = 0;
    bool renormalize = false;     // divide chosen weights by their sum
    std::span<const float> bias;  // [n_experts] or empty: added for selection only
    float weight_scale = 1.f;     // multiply final weights (e.g. DeepSeek routed_scaling)
    std::span<const float> expert_scale;  // [n_experts] or empty: each chosen weight times its expert's (Gemma 4)
};

struct RouterChoice {
    std::vector<int> experts;    // [top_k], by descending selection score
    std::vector<float> weights;  // [top_k]
};

// logits: [n_experts]. Ties go to the lower expert id, so results are deterministic.
RouterChoice route(std::span<const float> logits, const RouterParams& params);

// out += weight * x      x, out: [n]
void axpy(float weight, std::span<const float> x, std::span<float> out);

}  // namespace ferry::cpu

#pragma once
// CPU reference of the gated DeltaNet blocks (Qwen3.5/3.6 MoE, Qwen3-Next linear-attention
// layers): the short causal conv1d with its rolling state (shaders/ssm_conv.comp), L2
// normalisation, and the gated delta rule (shaders/delta_net.comp). Plain loops, one
// token at a time, sizes checked; the oracles the shaders are tested against.
#include <cstdint>
#include <span>

namespace ferry::cpu {

// y = SiLU(Σ_k w[c, k] · u[t - (K-1) + k]) per channel c, w[c, 0] multiplying the oldest
// input; x [tokens, channels] holds u and is overwritten by y. state [channels, K-1] holds
// the K-1 inputs before the first token (oldest first) and is left holding the last K-1.
void ssm_conv(std::span<float> x, std::uint32_t tokens, std::uint32_t channels, std::span<const float> weight,
              std::uint32_t kernel, std::span<float> state);

// x / max(‖x‖, eps), in place (ggml's l2_norm).
void l2_norm(std::span<float> x, float eps);

// softplus(x) = ln(1 + eᕽ), x itself beyond 20 (as ggml).
float softplus(float x);

struct DeltaNetShape {
    std::uint32_t k_heads = 0;  // q/k heads (ssm.group_count)
    std::uint32_t v_heads = 0;  // v heads (ssm.time_step_rank), a multiple of k_heads
    std::uint32_t k_dim = 0;    // q/k head size (ssm.state_size)
    std::uint32_t v_dim = 0;    // v head size (ssm.inner_size / v_heads)
    // V head h reads q/k head h / (v_heads / k_heads) (Qwen3-Next: grouped) or h mod
    // k_heads (Qwen3.5: the converter tiles the V heads).
    bool grouped = false;
    float eps = 1e-6f;  // of the L2 norms
    std::uint32_t qk_head(std::uint32_t v_head) const {
        return grouped ? v_head / (v_heads / k_heads) : v_head % k_heads;
    }
    std::uint32_t mix_width() const { return 2 * k_heads * k_dim + v_heads * v_dim; }
};

// One token of the gated delta rule. mix [q k_heads·k_dim | k k_heads·k_dim | v
// v_heads·v_dim] (the conv output); beta_logit, alpha_logit [v_heads] (projections of the
// normed input); dt_bias, a [v_heads] (a = −exp(A_log), as the GGUF stores it). Per V head
// h with q, k = L2-normalised q/k head of h, q /= √k_dim, β = σ(beta_logit), g = a ·
// softplus(alpha_logit + dt_bias):
//   S ← e^g S;  δ = β (v − Sᵀk);  S ← S + k δᵀ;  o = Sᵀq
// state [v_heads, k_dim, v_dim] (S[i, j]: key i, value j) is updated; out [v_heads·v_dim].
void delta_rule_step(std::span<const float> mix, std::span<const float> beta_logit,
                     std::span<const float> alpha_logit, std::span<const float> dt_bias, std::span<const float> a,
                     const DeltaNetShape& shape, std::span<float> state, std::span<float> out);

}  // namespace ferry::cpu

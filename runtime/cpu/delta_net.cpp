#include "cpu/delta_net.h"

#include "base/error.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace ferry::cpu {

void ssm_conv(std::span<float> x, std::uint32_t tokens, std::uint32_t channels, std::span<const float> weight,
              std::uint32_t kernel, std::span<float> state) {
    if (kernel == 0) fail("ssm_conv: kernel size 0");
    const std::size_t km1 = kernel - 1;
    if (x.size() != std::size_t(tokens) * channels || weight.size() != std::size_t(channels) * kernel ||
        state.size() != channels * km1)
        fail("ssm_conv: sizes x {}, weight {}, state {} do not fit {} tokens of {} channels, kernel {}", x.size(),
             weight.size(), state.size(), tokens, channels, kernel);
    std::vector<float> window(kernel);
    for (std::uint32_t c = 0; c < channels; ++c) {
        float* s = state.data() + c * km1;
        const float* w = weight.data() + std::size_t(c) * kernel;
        for (std::uint32_t t = 0; t < tokens; ++t) {
            float& u = x[std::size_t(t) * channels + c];
            std::copy(s, s + km1, window.begin());
            window[km1] = u;
            float y = 0.f;
            for (std::size_t k = 0; k < kernel; ++k) y += w[k] * window[k];
            std::copy(window.begin() + 1, window.end(), s);
            u = y / (1.f + std::exp(-y));
        }
    }
}

void l2_norm(std::span<float> x, float eps) {
    double sum = 0;
    for (float v : x) sum += double(v) * v;
    const float scale = 1.f / std::max(float(std::sqrt(sum)), eps);
    for (float& v : x) v *= scale;
}

float softplus(float x) {
    return x > 20.f ? x : std::log1p(std::exp(x));
}

void delta_rule_step(std::span<const float> mix, std::span<const float> beta_logit,
                     std::span<const float> alpha_logit, std::span<const float> dt_bias, std::span<const float> a,
                     const DeltaNetShape& sh, std::span<float> state, std::span<float> out) {
    const std::size_t Dk = sh.k_dim, Dv = sh.v_dim, Hv = sh.v_heads;
    if (sh.k_heads == 0 || Hv % sh.k_heads != 0) fail("delta rule: {} V heads for {} K heads", Hv, sh.k_heads);
    if (mix.size() != sh.mix_width() || beta_logit.size() != Hv || alpha_logit.size() != Hv ||
        dt_bias.size() != Hv || a.size() != Hv || state.size() != Hv * Dk * Dv || out.size() != Hv * Dv)
        fail("delta rule: sizes do not fit {} K heads of {}, {} V heads of {}", sh.k_heads, Dk, Hv, Dv);
    std::vector<float> q(Dk), k(Dk);
    const std::size_t k_at = sh.k_heads * Dk, v_at = 2 * sh.k_heads * Dk;
    for (std::size_t h = 0; h < Hv; ++h) {
        const std::size_t kh = sh.qk_head(std::uint32_t(h));
        std::copy_n(mix.begin() + std::ptrdiff_t(kh * Dk), Dk, q.begin());
        std::copy_n(mix.begin() + std::ptrdiff_t(k_at + kh * Dk), Dk, k.begin());
        l2_norm(q, sh.eps);
        l2_norm(k, sh.eps);
        const float q_scale = 1.f / std::sqrt(float(Dk));
        const float beta = 1.f / (1.f + std::exp(-beta_logit[h]));
        const float decay = std::exp(a[h] * softplus(alpha_logit[h] + dt_bias[h]));
        float* S = state.data() + h * Dk * Dv;
        for (std::size_t j = 0; j < Dv; ++j) {
            float u = 0.f;
            for (std::size_t i = 0; i < Dk; ++i) {
                S[i * Dv + j] *= decay;
                u += S[i * Dv + j] * k[i];
            }
            const float delta = beta * (mix[v_at + h * Dv + j] - u);
            float o = 0.f;
            for (std::size_t i = 0; i < Dk; ++i) {
                S[i * Dv + j] += k[i] * delta;
                o += S[i * Dv + j] * q[i] * q_scale;
            }
            out[h * Dv + j] = o;
        }
    }
}

}  // namespace ferry::cpu

#include "cpu/reference_ops.h"

#include "base/error.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace ferry::cpu {

void rms_norm(std::span<const float> x, std::span<const float> weight, float eps, std::span<float> y) {
    if ((!weight.empty() && x.size() != weight.size()) || x.size() != y.size()) fail("rms_norm: size mismatch");
    double sum_sq = 0;
    for (float v : x) sum_sq += double(v) * v;
    const float inv = float(1.0 / std::sqrt(sum_sq / double(x.size()) + eps));
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = weight.empty() ? x[i] * inv : x[i] * inv * weight[i];
}

YarnCorrDims yarn_corr_dims(int rot_dims, int n_ctx_orig, float freq_base, float beta_fast, float beta_slow) {
    // The pair index whose wavelength 2π / angle_step fits n_ctx_orig / beta times.
    auto dim = [&](float beta) {
        return float(rot_dims) * std::log(float(n_ctx_orig) / (beta * 2.f * float(M_PI))) /
               (2.f * std::log(freq_base));
    };
    YarnCorrDims d;
    d.low = std::max(0.f, std::floor(dim(beta_fast)));
    d.high = std::min(float(rot_dims - 1), std::ceil(dim(beta_slow)));
    return d;
}

void rope(std::span<float> x, int n_heads, int head_dim, int pos, const RopeParams& p) {
    if (std::size_t(n_heads) * head_dim != x.size()) fail("rope: size mismatch");
    if (!p.freq_factors.empty() && int(p.freq_factors.size()) != p.rot_dims / 2)
        fail("rope: {} frequency factors for {} rotated pairs", p.freq_factors.size(), p.rot_dims / 2);
    if (p.rot_dims <= 0 || p.rot_dims > head_dim || p.rot_dims % 2) fail("rope: bad rot_dims {}", p.rot_dims);
    const int half = p.rot_dims / 2;
    for (int h = 0; h < n_heads; ++h) {
        float* v = x.data() + std::size_t(h) * head_dim;
        for (int i = 0; i < half; ++i) {
            double unscaled = double(pos) * std::pow(double(p.freq_base), -2.0 * i / p.rot_dims);
            if (!p.freq_factors.empty()) unscaled /= p.freq_factors[i];
            double theta = unscaled * p.freq_scale;
            if (p.ext_factor != 0) {
                const double y = (i - p.corr_low) / std::max(0.001, double(p.corr_high) - p.corr_low);
                const double mix = (1.0 - std::clamp(y, 0.0, 1.0)) * p.ext_factor;
                theta = theta * (1 - mix) + unscaled * mix;
            }
            const float c = float(std::cos(theta)) * p.mscale, s = float(std::sin(theta)) * p.mscale;
            const int a = p.style == RopeStyle::Neox ? i : 2 * i;
            const int b = p.style == RopeStyle::Neox ? i + half : 2 * i + 1;
            const float x0 = v[a], x1 = v[b];
            v[a] = x0 * c - x1 * s;
            v[b] = x0 * s + x1 * c;
        }
    }
}

void attention(std::span<const float> q, std::span<const float> k_cache, std::span<const float> v_cache,
               int q_pos, const AttentionParams& p, std::span<float> out) {
    const std::size_t hd = p.head_dim, row = std::size_t(p.n_kv_heads) * hd;
    if (p.n_kv_heads <= 0 || p.n_heads % p.n_kv_heads)
        fail("attention: n_heads not a multiple of n_kv_heads");
    if (q.size() != p.n_heads * hd || out.size() != q.size()) fail("attention: q/out size mismatch");
    if (!p.sinks.empty() && int(p.sinks.size()) != p.n_heads)
        fail("attention: {} sinks for {} heads", p.sinks.size(), p.n_heads);
    if (k_cache.size() < (q_pos + 1) * row || v_cache.size() < (q_pos + 1) * row)
        fail("attention: cache shorter than position {}", q_pos);
    const int group = p.n_heads / p.n_kv_heads;
    int first = p.sliding_window > 0 ? std::max(0, q_pos - p.sliding_window + 1) : 0;
    if (p.chunk > 0) first = std::max(first, q_pos / p.chunk * p.chunk);
    const float scale = p.temp_scale > 0
                            ? p.scale * (1.f + p.temp_scale * std::log(std::floor(float(q_pos + 1) / p.temp_floor) + 1.f))
                            : p.scale;
    std::vector<float> scores(q_pos + 1);
    for (int h = 0; h < p.n_heads; ++h) {
        const float* qh = q.data() + h * hd;
        const std::size_t kv = std::size_t(h / group) * hd;
        float max_score = -INFINITY;
        for (int t = first; t <= q_pos; ++t) {
            const float* kt = k_cache.data() + t * row + kv;
            double dot = 0;
            for (std::size_t i = 0; i < hd; ++i) dot += double(qh[i]) * kt[i];
            float s = float(dot) * scale;
            if (p.softcap > 0) s = p.softcap * std::tanh(s / p.softcap);
            scores[t] = s;
            max_score = std::max(max_score, s);
        }
        const bool sink = !p.sinks.empty();
        if (sink) max_score = std::max(max_score, p.sinks[h]);
        double denom = sink ? std::exp(double(p.sinks[h] - max_score)) : 0.0;
        for (int t = first; t <= q_pos; ++t) denom += std::exp(double(scores[t] - max_score));
        float* oh = out.data() + h * hd;
        for (std::size_t i = 0; i < hd; ++i) {
            double acc = 0;
            for (int t = first; t <= q_pos; ++t)
                acc += std::exp(double(scores[t] - max_score)) * v_cache[t * row + kv + i];
            oh[i] = float(acc / denom);
        }
    }
}

void softmax(std::span<float> x) {
    if (x.empty()) return;
    const float m = *std::max_element(x.begin(), x.end());
    double sum = 0;
    for (float& v : x) {
        v = std::exp(v - m);
        sum += v;
    }
    for (float& v : x) v = float(v / sum);
}

float silu(float x) {
    return x / (1.f + std::exp(-x));
}

float gelu(float x) {
    constexpr float kSqrt2OverPi = 0.7978845608028654f;
    return 0.5f * x * (1.f + std::tanh(kSqrt2OverPi * x * (1.f + 0.044715f * x * x)));
}

void swiglu(std::span<const float> gate, std::span<const float> up, std::span<float> out) {
    if (gate.size() != up.size() || up.size() != out.size()) fail("swiglu: size mismatch");
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = silu(gate[i]) * up[i];
}

void geglu(std::span<const float> gate, std::span<const float> up, std::span<float> out) {
    if (gate.size() != up.size() || up.size() != out.size()) fail("geglu: size mismatch");
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = gelu(gate[i]) * up[i];
}

float swiglu_oai(float gate, float up) {
    const float g = std::min(gate, kSwigluOaiLimit), u = std::clamp(up, -kSwigluOaiLimit, kSwigluOaiLimit);
    return g / (1.f + std::exp(-kSwigluOaiAlpha * g)) * (u + 1.f);
}

void swiglu_oai(std::span<const float> gate, std::span<const float> up, std::span<float> out) {
    if (gate.size() != up.size() || up.size() != out.size()) fail("swiglu_oai: size mismatch");
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = swiglu_oai(gate[i], up[i]);
}

namespace {

// Indices of the k largest values, descending; ties to the lower index.
std::vector<int> top_k_indices(std::span<const float> values, int k) {
    std::vector<int> order(values.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return values[a] > values[b]; });
    order.resize(k);
    return order;
}

}  // namespace

RouterChoice route(std::span<const float> logits, const RouterParams& p) {
    const int n = int(logits.size());
    if (p.top_k <= 0 || p.top_k > n) fail("router: top_k {} out of range for {} experts", p.top_k, n);
    if (!p.bias.empty() && int(p.bias.size()) != n)
        fail("router: bias has {} entries, expected {}", p.bias.size(), n);
    std::vector<float> probs(logits.begin(), logits.end());
    if (p.function == RouterFunction::SoftmaxThenTopK) softmax(probs);
    if (p.function == RouterFunction::Sigmoid)
        for (float& v : probs) v = 1.f / (1.f + std::exp(-v));
    std::vector<float> selection = probs;
    for (std::size_t i = 0; i < p.bias.size(); ++i) selection[i] += p.bias[i];

    RouterChoice choice;
    choice.experts = top_k_indices(selection, p.top_k);
    for (int e : choice.experts) choice.weights.push_back(probs[e]);
    if (p.function == RouterFunction::TopKThenSoftmax) softmax(choice.weights);
    if (p.renormalize) {
        double sum = 0;
        for (float w : choice.weights) sum += w;
        if (sum > 0)
            for (float& w : choice.weights) w = float(w / sum);
    }
    if (!p.expert_scale.empty() && int(p.expert_scale.size()) != n)
        fail("router: expert_scale has {} entries, expected {}", p.expert_scale.size(), n);
    for (std::size_t k = 0; k < choice.weights.size(); ++k) {
        choice.weights[k] *= p.weight_scale;
        if (!p.expert_scale.empty()) choice.weights[k] *= p.expert_scale[choice.experts[k]];
    }
    return choice;
}

void axpy(float weight, std::span<const float> x, std::span<float> out) {
    if (x.size() != out.size()) fail("axpy: size mismatch");
    for (std::size_t i = 0; i < x.size(); ++i) out[i] += weight * x[i];
}

}  // namespace ferry::cpu

#include "sample/sampler.h"

#include "base/error.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>
#include <vector>

namespace ferry::sample {

namespace {

struct Candidate {
    int id;
    float logit;
    double p = 0;
};

// Softmax over the candidates' logits (already scaled), descending by logit.
void normalise(std::vector<Candidate>& c) {
    const float m = c.front().logit;
    double sum = 0;
    for (Candidate& x : c) sum += (x.p = std::exp(double(x.logit) - m));
    for (Candidate& x : c) x.p /= sum;
}

}  // namespace

int argmax(std::span<const float> logits) {
    if (logits.empty()) return -1;
    return int(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

Sampler::Sampler(const SamplerConfig& config) : config_(config), rng_(config.seed) {
    if (!(config.temperature >= 0)) fail("--temp must be >= 0 (got {})", config.temperature);
    if (config.top_k < 0) fail("--top-k must be >= 0 (got {})", config.top_k);
    if (!(config.top_p > 0 && config.top_p <= 1)) fail("--top-p must be in (0, 1] (got {})", config.top_p);
    if (!(config.min_p >= 0 && config.min_p < 1)) fail("--min-p must be in [0, 1) (got {})", config.min_p);
    if (!(config.repeat_penalty > 0)) fail("--repeat-penalty must be > 0 (got {})", config.repeat_penalty);
    if (config.penalty_last_n < 0) fail("--repeat-last-n must be >= 0 (got {})", config.penalty_last_n);
}

void Sampler::accept(int token) {
    if (config_.penalty_last_n == 0) return;
    recent_.push_back(token);
    while (int(recent_.size()) > config_.penalty_last_n) recent_.pop_front();
}

int Sampler::sample(std::span<const float> logits) {
    if (logits.empty()) fail("sampler: empty logits");
    const bool penalise =
        config_.repeat_penalty != 1.f || config_.presence_penalty != 0.f || config_.frequency_penalty != 0.f;
    std::vector<Candidate> c;
    c.reserve(logits.size());
    for (std::size_t i = 0; i < logits.size(); ++i) c.push_back({int(i), logits[i]});
    if (penalise) {
        // As llama.cpp (and OpenAI's formula): logit -= count · frequency + presence.
        std::unordered_map<int, int> count;
        for (int id : recent_) ++count[id];
        for (const auto& [id, n] : count) {
            if (id < 0 || std::size_t(id) >= c.size()) continue;
            float& l = c[id].logit;
            l = l > 0 ? l / config_.repeat_penalty : l * config_.repeat_penalty;
            l -= float(n) * config_.frequency_penalty + config_.presence_penalty;
        }
    }
    // Greedy: argmax of the penalised logits.
    if (config_.temperature == 0.f) {
        int best = 0;
        for (std::size_t i = 1; i < c.size(); ++i)
            if (c[i].logit > c[best].logit) best = int(i);
        return c[best].id;
    }
    // Descending by logit, ties to the lower id, so truncations are deterministic.
    auto by_logit = [](const Candidate& a, const Candidate& b) {
        return a.logit != b.logit ? a.logit > b.logit : a.id < b.id;
    };
    const std::size_t k = config_.top_k > 0 ? std::min<std::size_t>(config_.top_k, c.size()) : c.size();
    std::partial_sort(c.begin(), c.begin() + k, c.end(), by_logit);
    c.resize(k);
    normalise(c);
    if (config_.top_p < 1.f) {
        double cumulative = 0;
        std::size_t keep = 0;
        while (keep < c.size() && cumulative < config_.top_p) cumulative += c[keep++].p;
        c.resize(std::max<std::size_t>(keep, 1));
    }
    if (config_.min_p > 0.f) {
        const double threshold = config_.min_p * c.front().p;
        std::size_t keep = 1;
        while (keep < c.size() && c[keep].p >= threshold) ++keep;
        c.resize(keep);
    }
    for (Candidate& x : c) x.logit /= config_.temperature;
    normalise(c);
    double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    for (const Candidate& x : c) {
        if (u < x.p) return x.id;
        u -= x.p;
    }
    return c.back().id;  // rounding left u just above the last cumulative sum
}

}  // namespace ferry::sample

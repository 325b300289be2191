#pragma once
// Token samplers, in llama.cpp's order: penalties -> top-k -> top-p -> min-p -> temperature
// -> draw. Temperature 0 means greedy (argmax, ties to the lower id), whatever else is set.
#include <cstdint>
#include <deque>
#include <random>
#include <span>

namespace ferry::sample {

struct SamplerConfig {
    float temperature = 0.8f;       // 0: greedy
    int top_k = 40;                 // 0: off
    float top_p = 0.95f;            // 1: off
    float min_p = 0.05f;            // 0: off; keep tokens with p >= min_p * p_max
    float repeat_penalty = 1.0f;    // 1: off; llama.cpp style: logit/penalty if > 0 else *penalty
    float presence_penalty = 0.0f;  // 0: off; subtracted once from every recent token's logit
    float frequency_penalty = 0.0f;  // 0: off; subtracted once per occurrence among the recent
    int penalty_last_n = 64;        // how many recent tokens the penalties look at
    std::uint64_t seed = 0;
};

class Sampler {
public:
    explicit Sampler(const SamplerConfig& config);

    // logits: [n_vocab], raw model output (not modified). Returns the chosen token id.
    int sample(std::span<const float> logits);
    // Tell the sampler about a token that is now part of the context (prompt or generated),
    // for the repetition penalties.
    void accept(int token);
    void reset_history() { recent_.clear(); }
    const SamplerConfig& config() const { return config_; }

private:
    SamplerConfig config_;
    std::mt19937_64 rng_;
    std::deque<int> recent_;
};

// argmax with ties to the lower index; -1 for an empty span.
int argmax(std::span<const float> logits);

}  // namespace ferry::sample

#include "app/sampler_options.h"

#include <chrono>

namespace ferry::app {

void add_sampler_options(CLI::App* cmd, sample::SamplerConfig& c) {
    cmd->add_option("--temp", c.temperature, "Temperature; 0 = greedy")->capture_default_str();
    cmd->add_option("--top-k", c.top_k, "Keep the k most likely tokens; 0 = off")->capture_default_str();
    cmd->add_option("--top-p", c.top_p, "Keep the smallest set with this much probability; 1 = off")
        ->capture_default_str();
    cmd->add_option("--min-p", c.min_p,
                    "Drop tokens below this fraction of the top token's probability; 0 = off")
        ->capture_default_str();
    cmd->add_option("--repeat-penalty", c.repeat_penalty, "Penalise recently seen tokens; 1 = off")
        ->capture_default_str();
    cmd->add_option("--presence-penalty", c.presence_penalty,
                    "Subtract from recently seen tokens' logits; 0 = off")
        ->capture_default_str();
    cmd->add_option("--frequency-penalty", c.frequency_penalty,
                    "Subtract this per occurrence from recently seen tokens' logits; 0 = off")
        ->capture_default_str();
    cmd->add_option("--repeat-last-n", c.penalty_last_n, "How many recent tokens the penalties look at")
        ->capture_default_str();
    c.seed = kRandomSeed;
    cmd->add_option("-s,--seed", c.seed, "Random seed (default: random)");
}

std::uint64_t resolve_seed(std::uint64_t seed) {
    if (seed != kRandomSeed) return seed;
    return std::uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
}

}  // namespace ferry::app

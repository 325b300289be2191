#include "offload/miss_cost.h"

#include "base/error.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace ferry::offload {

namespace {

bool positive_finite(double v) {
    return std::isfinite(v) && v > 0;
}

// The rate a sample implies, or 0 when the sample should be ignored.
double sample_rate(std::uint64_t bytes, double seconds) {
    if (bytes == 0 || !positive_finite(seconds)) return 0;
    const double rate = double(bytes) / seconds;
    return rate >= MissCostModel::kMinRate && rate <= MissCostModel::kMaxRate ? rate : 0;
}

void blend(double& average, double sample) {
    average += MissCostModel::kAlpha * (sample - average);
}

}  // namespace

MissPolicy parse_miss_policy(std::string_view text) {
    for (MissPolicy p : {MissPolicy::Auto, MissPolicy::Copy, MissPolicy::Cpu})
        if (text == name(p)) return p;
    fail("unknown miss policy '{}' (choose one of: auto, copy, cpu)", text);
}

std::string_view name(MissPolicy policy) {
    switch (policy) {
        case MissPolicy::Auto:
            return "auto";
        case MissPolicy::Copy:
            return "copy";
        case MissPolicy::Cpu:
            return "cpu";
    }
    return "?";
}

MissCostModel::MissCostModel(MissRates initial, MissPolicy policy) : rates_(initial), policy_(policy) {
    const MissRates& r = rates_;
    if (!positive_finite(r.upload_bytes_per_s) || !positive_finite(r.cpu_bytes_per_s) ||
        !positive_finite(r.gpu_bytes_per_s) || !positive_finite(r.gpu_pass_s) ||
        !std::isfinite(r.cpu_fixed_s) || r.cpu_fixed_s < 0)
        fail(
            "miss cost model: rates must be positive and finite (upload {} B/s, cpu {} B/s, gpu {} B/s, "
            "gpu pass {} s, cpu fixed {} s)",
            r.upload_bytes_per_s, r.cpu_bytes_per_s, r.gpu_bytes_per_s, r.gpu_pass_s, r.cpu_fixed_s);
}

double MissCostModel::combine(double cpu, double gpu) const {
    return rates_.shared_cores ? cpu + gpu : std::max(cpu, gpu);
}

double MissCostModel::decode_seconds(CpuSplit split, std::uint32_t misses, std::uint32_t hits,
                                     std::uint64_t expert_bytes, std::uint32_t slots) const {
    const double b = double(expert_bytes);
    const std::uint32_t copied = misses - std::min(split.misses, misses);
    const std::uint32_t on_gpu = copied + hits - std::min(split.hits, hits);
    const std::uint32_t passes = (on_gpu + std::max(slots, 1u) - 1) / std::max(slots, 1u);
    const double cpu =
        split.total() == 0 ? 0 : rates_.cpu_fixed_s + split.total() * b / rates_.cpu_bytes_per_s;
    const double gpu = copied * b / rates_.upload_bytes_per_s + passes * rates_.gpu_pass_s;
    return combine(cpu, gpu);
}

double MissCostModel::prefill_cost(std::size_t n_m, std::size_t n_h, std::size_t m, std::size_t g,
                                   double cpu_tokens, std::uint64_t expert_bytes) const {
    const double b = double(expert_bytes);
    const double cpu = n_m + n_h == 0 ? 0 : rates_.cpu_fixed_s + cpu_tokens * b / rates_.cpu_bytes_per_s;
    const double gpu = double(m - n_m) * b / rates_.upload_bytes_per_s +
                       double(m - n_m + g - n_h) * b / rates_.gpu_bytes_per_s;
    return combine(cpu, gpu);
}

double MissCostModel::prefill_seconds(CpuSplit split, std::span<const std::uint32_t> miss_tokens,
                                      std::span<const std::uint32_t> hit_tokens,
                                      std::uint64_t expert_bytes) const {
    const std::size_t m = miss_tokens.size(), g = hit_tokens.size();
    const std::size_t n_m = std::min<std::size_t>(split.misses, m),
                      n_h = std::min<std::size_t>(split.hits, g);
    double cpu_tokens = 0;
    for (std::size_t i = 0; i < n_m; ++i) cpu_tokens += miss_tokens[i];
    for (std::size_t i = 0; i < n_h; ++i) cpu_tokens += hit_tokens[i];
    return prefill_cost(n_m, n_h, m, g, cpu_tokens, expert_bytes);
}

namespace {

// The split `policy` gives: Copy none, Cpu every miss, Auto the one with the smallest
// finish (fewest CPU routes on ties, misses before hits), kept only when it beats the
// all-GPU split by kCopyMargin.
template <class Finish>
CpuSplit best_split(MissPolicy policy, std::uint32_t misses, std::uint32_t hits, const Finish& finish) {
    switch (policy) {
        case MissPolicy::Copy:
            return {};
        case MissPolicy::Cpu:
            return {misses, 0};
        case MissPolicy::Auto:
            break;
    }
    const double all_gpu = finish(CpuSplit{});
    CpuSplit best;
    double best_s = all_gpu;
    for (std::uint32_t total = 1; total <= misses + hits; ++total)
        for (std::uint32_t h = total > misses ? total - misses : 0; h <= std::min(total, hits); ++h) {
            const CpuSplit split{total - h, h};
            if (const double s = finish(split); s < best_s) best = split, best_s = s;
        }
    return best_s < all_gpu * (1 - MissCostModel::kCopyMargin) ? best : CpuSplit{};
}

}  // namespace

CpuSplit MissCostModel::decode_split(std::uint32_t misses, std::uint32_t hits, std::uint64_t expert_bytes,
                                     std::uint32_t slots) const {
    return best_split(policy_, misses, hits, [&](CpuSplit split) {
        return decode_seconds(split, misses, hits, expert_bytes, slots);
    });
}

bool MissCostModel::gpu_worth_caching(std::uint32_t routes, std::uint64_t expert_bytes) const {
    return decode_split(0, routes, expert_bytes, std::max(routes, 1u)).hits == 0;
}

CpuSplit MissCostModel::prefill_split(std::span<const std::uint32_t> miss_tokens,
                                      std::span<const std::uint32_t> hit_tokens,
                                      std::uint64_t expert_bytes) const {
    // Prefix sums of the token counts: every split is then O(1), not O(experts), which
    // matters with 128 experts per layer (up to 129 x 129 splits per layer and batch).
    const auto prefix = [](std::span<const std::uint32_t> tokens) {
        std::vector<double> sums(tokens.size() + 1, 0.0);
        for (std::size_t i = 0; i < tokens.size(); ++i) sums[i + 1] = sums[i] + tokens[i];
        return sums;
    };
    const std::vector<double> miss_sums = prefix(miss_tokens), hit_sums = prefix(hit_tokens);
    const std::size_t m = miss_tokens.size(), g = hit_tokens.size();
    return best_split(policy_, std::uint32_t(m), std::uint32_t(g), [&](CpuSplit split) {
        return prefill_cost(split.misses, split.hits, m, g, miss_sums[split.misses] + hit_sums[split.hits],
                            expert_bytes);
    });
}

void MissCostModel::observe_upload(std::uint64_t bytes, double seconds) {
    if (const double r = sample_rate(bytes, seconds)) blend(rates_.upload_bytes_per_s, r);
}

void MissCostModel::observe_cpu(std::uint64_t bytes, double seconds) {
    if (const double r = sample_rate(bytes, seconds)) blend(rates_.cpu_bytes_per_s, r);
}

void MissCostModel::observe_gpu_prefill(std::uint64_t bytes, double seconds) {
    if (const double r = sample_rate(bytes, seconds)) blend(rates_.gpu_bytes_per_s, r);
}

void MissCostModel::observe_gpu_pass(double seconds) {
    // Same sanity bounds as the fixed cost: a pass is microseconds to milliseconds.
    if (positive_finite(seconds) && seconds < 1) blend(rates_.gpu_pass_s, seconds);
}

void MissCostModel::observe_cpu_fixed(double seconds) {
    // Over a second per layer is a stall (page faults, a suspended process), not overhead.
    if (std::isfinite(seconds) && seconds >= 0 && seconds < 1) blend(rates_.cpu_fixed_s, seconds);
}

}  // namespace ferry::offload

#include "offload/miss_cost.h"

#include "base/error.h"

#include <algorithm>
#include <cmath>

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
        !positive_finite(r.gpu_bytes_per_s) || !std::isfinite(r.cpu_fixed_s) || r.cpu_fixed_s < 0)
        fail(
            "miss cost model: rates must be positive and finite (upload {} B/s, cpu {} B/s, gpu {} B/s, "
            "cpu fixed {} s)",
            r.upload_bytes_per_s, r.cpu_bytes_per_s, r.gpu_bytes_per_s, r.cpu_fixed_s);
}

double MissCostModel::finish_seconds(std::uint32_t n, std::uint32_t misses, std::uint64_t expert_bytes,
                                     std::uint32_t gpu_experts) const {
    const double b = double(expert_bytes);
    const double copied = double(misses - std::min(n, misses));
    const double cpu = n == 0 ? 0 : rates_.cpu_fixed_s + n * b / rates_.cpu_bytes_per_s;
    const double gpu =
        copied * b / rates_.upload_bytes_per_s + (gpu_experts + copied) * b / rates_.gpu_bytes_per_s;
    return std::max(cpu, gpu);
}

namespace {

// How many of `misses` the CPU takes under `policy`: Auto picks the n with the smallest
// finish(n), keeping 0 unless that is kCopyMargin sooner (ties keep the smaller n).
template <class Finish>
std::uint32_t best_split(MissPolicy policy, std::uint32_t misses, const Finish& finish) {
    switch (policy) {
        case MissPolicy::Copy:
            return 0;
        case MissPolicy::Cpu:
            return misses;
        case MissPolicy::Auto:
            break;
    }
    const double copy_all = finish(0u);
    std::uint32_t best = 0;
    double best_s = copy_all;
    for (std::uint32_t n = 1; n <= misses; ++n)
        if (const double s = finish(n); s < best_s) best = n, best_s = s;
    return best_s < copy_all * (1 - MissCostModel::kCopyMargin) ? best : 0;
}

}  // namespace

std::uint32_t MissCostModel::cpu_share(std::uint32_t misses, std::uint64_t expert_bytes,
                                       std::uint32_t gpu_experts) const {
    return best_split(policy_, misses,
                      [&](std::uint32_t n) { return finish_seconds(n, misses, expert_bytes, gpu_experts); });
}

std::uint32_t MissCostModel::prefill_cpu_share(std::span<const std::uint32_t> tokens,
                                               std::uint64_t expert_bytes, std::uint32_t gpu_experts) const {
    const std::uint32_t misses = std::uint32_t(tokens.size());
    const double b = double(expert_bytes);
    return best_split(policy_, misses, [&](std::uint32_t n) {
        double cpu = n ? rates_.cpu_fixed_s : 0.0;
        for (std::uint32_t i = 0; i < n; ++i) cpu += tokens[i] * b / rates_.cpu_bytes_per_s;
        const double gpu = (misses - n) * b / rates_.upload_bytes_per_s +
                           (gpu_experts + misses - n) * b / rates_.gpu_bytes_per_s;
        return std::max(cpu, gpu);
    });
}

void MissCostModel::observe_upload(std::uint64_t bytes, double seconds) {
    if (const double r = sample_rate(bytes, seconds)) blend(rates_.upload_bytes_per_s, r);
}

void MissCostModel::observe_cpu(std::uint64_t bytes, double seconds) {
    if (const double r = sample_rate(bytes, seconds)) blend(rates_.cpu_bytes_per_s, r);
}

void MissCostModel::observe_cpu_fixed(double seconds) {
    // Over a second per layer is a stall (page faults, a suspended process), not overhead.
    if (std::isfinite(seconds) && seconds >= 0 && seconds < 1) blend(rates_.cpu_fixed_s, seconds);
}

}  // namespace ferry::offload

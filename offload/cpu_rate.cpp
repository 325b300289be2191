#include "offload/cpu_rate.h"

#include "base/error.h"

#include <algorithm>
#include <chrono>
#include <vector>

namespace ferry::offload {

double measure_cpu_expert_rate(CpuExperts& experts, std::uint32_t layer, int repeats) {
    if (repeats < 1) fail("measure_cpu_expert_rate: repeats must be at least 1 (got {})", repeats);
    const std::uint32_t n_experts = experts.n_experts();
    const std::uint32_t k = std::clamp(experts.n_experts_used(), 1u, n_experts);
    std::vector<float> h(experts.n_embd(), 0.5f);  // [1, n_embd]
    std::vector<float> out(experts.n_embd());      // [1, n_embd]
    std::vector<ExpertRoute> routes(k);
    std::uint32_t next = 0;
    auto run_once = [&] {
        for (ExpertRoute& r : routes) r = {0, next++ % n_experts, 1.f / float(k)};
        const auto start = std::chrono::steady_clock::now();
        experts.add_experts(layer, h, 1, routes, out);
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    // Warm-up over every expert of the layer: page in its part of the mapping, size the
    // scratch, wake the pool. The timed runs then measure compute from RAM, not page faults.
    std::vector<ExpertRoute> all(n_experts);
    for (std::uint32_t e = 0; e < n_experts; ++e) all[e] = {0, e, 1.f / float(n_experts)};
    experts.add_experts(layer, h, 1, all, out);
    std::vector<double> seconds(static_cast<std::size_t>(repeats));
    for (double& s : seconds) s = run_once();
    std::nth_element(seconds.begin(), seconds.begin() + repeats / 2, seconds.end());
    // A run faster than the clock's tick still counts as one tick, so the rate stays finite.
    const double median = std::max(seconds[std::size_t(repeats / 2)], 1e-9);
    return double(k) * double(experts.expert_bytes(layer)) / median;
}

}  // namespace ferry::offload

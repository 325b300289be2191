#include "offload/budget_planner.h"

#include "base/units.h"

#include <fmt/format.h>

#include <algorithm>

namespace ferry::offload {

std::uint32_t max_slots_per_layer(const PlanInputs& in) {
    if (in.max_pool_bytes == 0 || in.slice_bytes == 0) return in.n_experts;
    return std::uint32_t(std::min<std::uint64_t>(in.n_experts, in.max_pool_bytes / in.slice_bytes));
}

BudgetPlan plan_budget(const PlanInputs& in) {
    BudgetPlan p;
    p.fixed_bytes = in.dense_bytes + in.kv_cache_bytes + in.work_bytes + in.shared_expert_bytes;
    const std::uint64_t all_slots = std::uint64_t(in.n_layers) * in.n_experts;
    const std::uint64_t cap = std::uint64_t(in.n_layers) * max_slots_per_layer(in);
    if (in.n_experts > 0 && max_slots_per_layer(in) == 0) {
        p.advice = fmt::format(
            "one expert's largest weight slice ({}) is more than this device can bind in one buffer ({}); "
            "ferry cannot run this model on it",
            format_bytes(in.slice_bytes), format_bytes(in.max_pool_bytes));
        return p;
    }
    const std::uint64_t min_slots = std::min(min_slots_per_layer(in), std::max(in.n_experts, 1u));
    const std::uint64_t minimum = p.fixed_bytes + std::uint64_t(in.n_layers) * min_slots * in.expert_bytes;
    if (in.n_layers == 0 || in.n_experts == 0 || in.expert_bytes == 0) {
        // A model without routed experts: only the fixed part matters.
        p.fits = p.fixed_bytes <= in.budget_bytes;
        p.used_bytes = p.fixed_bytes;
        p.all_experts_resident = true;
        p.resident_fraction = 1;
    } else if (minimum <= in.budget_bytes) {
        p.fits = true;
        const std::uint64_t by_budget = (in.budget_bytes - p.fixed_bytes) / in.expert_bytes;
        p.total_slots = std::uint32_t(std::min({by_budget, all_slots, cap}));
        p.capped_by_binding = cap < all_slots && by_budget > cap;
        p.slots_per_layer.assign(in.n_layers, p.total_slots / in.n_layers);
        for (std::uint32_t l = 0; l < p.total_slots % in.n_layers; ++l) ++p.slots_per_layer[l];
        p.slot_bytes = std::uint64_t(p.total_slots) * in.expert_bytes;
        p.used_bytes = p.fixed_bytes + p.slot_bytes;
        p.all_experts_resident = p.total_slots == all_slots;
        p.resident_fraction = double(p.total_slots) / double(all_slots);
    }
    if (!p.fits) {
        const std::uint64_t need = in.n_experts ? minimum : p.fixed_bytes;
        p.missing_bytes = need - std::min(need, in.budget_bytes);
        p.advice = fmt::format(
            "--vram-budget {} is {} short: dense weights {} + KV cache {} (--ctx {}) + work buffers {}{} "
            "need {}; "
            "try a smaller --ctx (the KV cache grows with it) or a larger --vram-budget",
            format_bytes(in.budget_bytes), format_bytes(p.missing_bytes), format_bytes(in.dense_bytes),
            format_bytes(in.kv_cache_bytes), in.ctx, format_bytes(in.work_bytes),
            in.n_experts ? fmt::format(" + {} expert slot(s) per layer {}", min_slots,
                                       format_bytes(in.n_layers * min_slots * in.expert_bytes))
                         : std::string(),
            format_bytes(need));
    }
    return p;
}

}  // namespace ferry::offload

#pragma once
// The VRAM budget planner: fills --vram-budget in a fixed order (dense weights, KV cache
// for --ctx, work buffers, shared experts, then routed-expert slots divided among layers)
// and says exactly what is missing when even the fixed part does not fit. Plain numbers in,
// plain numbers out: the model layer measures the sizes, the offload engine allocates.
#include <cstdint>
#include <string>
#include <vector>

namespace ferry::offload {

struct PlanInputs {
    std::uint64_t budget_bytes = 0;         // --vram-budget (or the device default)
    std::uint64_t dense_bytes = 0;          // attention, norms, routers, embeddings, output head
    std::uint64_t kv_cache_bytes = 0;       // for the requested context
    std::uint64_t work_bytes = 0;           // activations, logits, indirection tables
    std::uint64_t shared_expert_bytes = 0;  // always-used experts (all layers)
    std::uint64_t expert_bytes = 0;         // one routed expert (gate + up + down slices)
    std::uint32_t n_layers = 0;             // layers with routed experts
    std::uint32_t n_experts = 0;            // routed experts per layer
    std::uint32_t n_experts_used = 0;       // top-k
    std::uint32_t ctx = 0;                  // for messages
    // Each layer's pool of one expert tensor (slots x its largest slice) is one storage
    // binding, so the device's binding limit caps the slots per layer. 0: no limit.
    std::uint64_t slice_bytes = 0;     // the largest gate, up or down slice of one expert
    std::uint64_t max_pool_bytes = 0;  // the device's largest binding (and allocation)
};

// Slots per layer the binding limit allows: n_experts when there is no limit.
std::uint32_t max_slots_per_layer(const PlanInputs& in);

struct BudgetPlan {
    bool fits = false;              // the fixed part plus one slot per layer fits
    std::uint64_t fixed_bytes = 0;  // dense + kv + work + shared
    std::uint64_t slot_bytes = 0;   // all expert slots
    std::uint64_t used_bytes = 0;   // fixed + slots (never above the budget)
    std::uint32_t total_slots = 0;
    std::vector<std::uint32_t> slots_per_layer;  // even split; the first layers get the remainder
    bool capped_by_binding = false;              // the device's binding limit, not the budget, stopped it
    bool all_experts_resident = false;
    double resident_fraction = 0;     // total_slots / (n_layers * n_experts)
    std::uint64_t missing_bytes = 0;  // when !fits: how much more the budget would need
    std::string advice;               // when !fits: one line saying what would help
};

// Minimum slots per layer for ferry to run: one. With fewer slots than the experts one
// token uses (top-k), a decode step runs each layer's experts in passes through the slots:
// slow, but it runs, and the results stay the same.
inline std::uint32_t min_slots_per_layer(const PlanInputs&) {
    return 1;
}

BudgetPlan plan_budget(const PlanInputs& in);

// The default --vram-budget (the device's budget less a safety margin) is
// vk::default_vram_budget(), next to the device probing that reads the budget.

}  // namespace ferry::offload

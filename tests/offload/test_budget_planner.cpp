#include "offload/budget_planner.h"

#include <doctest/doctest.h>

using namespace ferry::offload;

namespace {

// Qwen3-30B-A3B at Q4_K_M, roughly: 48 layers x 128 experts of ~1.7 MB, ~1.2 GB dense.
PlanInputs qwen_like(std::uint64_t budget) {
    PlanInputs in;
    in.budget_bytes = budget;
    in.dense_bytes = 1200ull << 20;
    in.kv_cache_bytes = 384ull << 20;  // 4096 ctx: 2 * 48 * 4096 * 4 * 128 * 2 bytes
    in.work_bytes = 64ull << 20;
    in.expert_bytes = 1728ull << 10;
    in.n_layers = 48;
    in.n_experts = 128;
    in.n_experts_used = 8;
    in.ctx = 4096;
    return in;
}

}  // namespace

TEST_CASE("a 6 GiB budget: fixed part first, the rest becomes expert slots spread over layers") {
    const BudgetPlan p = plan_budget(qwen_like(6ull << 30));
    REQUIRE(p.fits);
    CHECK(p.fixed_bytes == (1648ull << 20));
    const std::uint64_t free = (6ull << 30) - p.fixed_bytes;
    CHECK(p.total_slots == free / (1728ull << 10));
    CHECK(p.used_bytes <= (6ull << 30));
    CHECK(p.used_bytes + (1728ull << 10) > (6ull << 30));  // no room left for another slot
    CHECK(p.slots_per_layer.size() == 48);
    std::uint32_t sum = 0, lo = ~0u, hi = 0;
    for (std::uint32_t s : p.slots_per_layer) sum += s, lo = std::min(lo, s), hi = std::max(hi, s);
    CHECK(sum == p.total_slots);
    CHECK(hi - lo <= 1);
    CHECK_FALSE(p.all_experts_resident);
    CHECK(p.resident_fraction > 0.4);
    CHECK(p.resident_fraction < 0.5);
}

TEST_CASE("a huge budget holds every expert and no more") {
    const BudgetPlan p = plan_budget(qwen_like(64ull << 30));
    REQUIRE(p.fits);
    CHECK(p.all_experts_resident);
    CHECK(p.total_slots == 48 * 128);
    for (std::uint32_t s : p.slots_per_layer) CHECK(s == 128);
}

TEST_CASE("the minimum is the fixed part plus one slot per layer") {
    PlanInputs in = qwen_like(0);
    const std::uint64_t minimum = (1648ull << 20) + 48 * (1728ull << 10);
    in.budget_bytes = minimum;
    BudgetPlan p = plan_budget(in);
    REQUIRE(p.fits);
    CHECK(p.total_slots == 48);
    for (std::uint32_t s : p.slots_per_layer) CHECK(s == 1);

    in.budget_bytes = minimum - 1;
    p = plan_budget(in);
    CHECK_FALSE(p.fits);
    CHECK(p.missing_bytes == 1);
    CHECK(p.advice.find("--ctx") != std::string::npos);
    CHECK(p.advice.find("KV cache") != std::string::npos);
    CHECK(p.advice.find("1 expert slot(s) per layer") != std::string::npos);
}

TEST_CASE("a device binding limit caps the slots per layer, whatever the budget") {
    // lavapipe binds 128 MiB: with a 1.23 MiB largest slice (a Qwen3-30B down slice at Q6_K), 104 slots.
    PlanInputs in = qwen_like(64ull << 30);
    in.slice_bytes = 1290240;
    in.max_pool_bytes = 128ull << 20;
    CHECK(max_slots_per_layer(in) == 104);
    BudgetPlan p = plan_budget(in);
    REQUIRE(p.fits);
    CHECK_FALSE(p.all_experts_resident);
    CHECK(p.capped_by_binding);
    CHECK(p.total_slots == 48 * 104);
    for (std::uint32_t s : p.slots_per_layer) CHECK(s == 104);

    // A small budget is below the cap: the budget decides, as without a limit.
    in.budget_bytes = 6ull << 30;
    p = plan_budget(in);
    CHECK_FALSE(p.capped_by_binding);
    CHECK(p.total_slots == plan_budget(qwen_like(6ull << 30)).total_slots);

    // No limit known (info without a device): every expert.
    in.max_pool_bytes = 0;
    CHECK(max_slots_per_layer(in) == 128);

    // Not even one slice fits a binding: one clear line, not a budget figure.
    in.max_pool_bytes = 1 << 20;
    p = plan_budget(in);
    CHECK_FALSE(p.fits);
    CHECK(p.missing_bytes == 0);
    CHECK(p.advice.find("more than this device can bind in one buffer") != std::string::npos);
}

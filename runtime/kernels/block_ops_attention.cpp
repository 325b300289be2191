// BlockOps::attention: variant and work split for shaders/attention.comp (+ combine).
#include "base/error.h"
#include "kernels/block_ops.h"
#include "kernels/block_ops_push.h"
#include "kernels/block_ops_util.h"
#include "vk/barrier.h"

#include <algorithm>

namespace ferry::kernels {

using detail::require_bytes;
using detail::spread_groups;

namespace {

// Workgroups worth having in flight before splitting the keys further (a few per
// compute unit on the cards ferry aims at).
constexpr std::uint32_t kTargetGroups = 128;
// Query rows (tokens x splits) the scratch holds: splitting is for short batches.
constexpr std::uint32_t kMaxSplitRows = 64;

std::uint32_t ceil_div(std::uint64_t a, std::uint64_t b) { return std::uint32_t((a + b - 1) / b); }

// Shared memory of attention.comp for a plan (see its shared declarations).
std::uint64_t shared_bytes(std::uint32_t rows, std::uint32_t head_dim, std::uint32_t wg) {
    return (2ull * rows * head_dim + std::uint64_t(rows) * wg + 6ull * rows) * 4;
}

void check_params(const cpu::AttentionParams& p) {
    if (p.n_heads <= 0 || p.n_kv_heads <= 0 || p.n_heads % p.n_kv_heads)
        fail("attention: {} heads are not a multiple of {} KV heads", p.n_heads, p.n_kv_heads);
    if (p.head_dim <= 0 || p.head_dim % 4) fail("attention: head_dim {} must be a multiple of 4", p.head_dim);
    if (p.sliding_window < 0 || p.softcap < 0 || p.chunk < 0) fail("attention: negative sliding window, chunk or soft-cap");
    if (p.temp_scale > 0 && !(p.temp_floor > 0)) fail("attention: temperature needs a positive floor scale");
}

}  // namespace

std::uint64_t BlockOps::attention_scratch_bytes(const cpu::AttentionParams& p) {
    check_params(p);
    return std::uint64_t(kMaxSplitRows) * std::uint32_t(p.n_heads) * (std::uint32_t(p.head_dim) + 2) * 4;
}

AttentionPlan BlockOps::plan_attention(std::uint32_t tokens, std::uint32_t kv_len,
                                       const cpu::AttentionParams& p) const {
    check_params(p);
    const std::uint32_t group = std::uint32_t(p.n_heads / p.n_kv_heads), hd = std::uint32_t(p.head_dim);
    AttentionPlan plan;
    plan.local_size = wg_attention_;
    plan.heads_per_group = 1;
    for (std::uint32_t h = 1; h <= std::min(group, kAttentionMaxRows); ++h)
        if (group % h == 0) plan.heads_per_group = h;
    plan.tokens_per_group = std::clamp<std::uint32_t>(kAttentionMaxRows / plan.heads_per_group, 1, tokens);
    const std::uint64_t shared_limit = device().limits().max_compute_shared_memory;
    while (shared_bytes(plan.heads_per_group * plan.tokens_per_group, hd, plan.local_size) > shared_limit) {
        if (plan.tokens_per_group > 1) {
            plan.tokens_per_group /= 2;
        } else if (plan.heads_per_group > 1) {
            std::uint32_t h = plan.heads_per_group - 1;
            while (group % h) --h;
            plan.heads_per_group = h;
        } else if (plan.local_size > 32) {
            plan.local_size /= 2;
        } else {
            fail("attention: head_dim {} needs more shared memory than the device's {} bytes", hd, shared_limit);
        }
    }
    const std::uint32_t base = std::uint32_t(p.n_heads) / plan.heads_per_group * ceil_div(tokens, plan.tokens_per_group);
    std::uint32_t splits = 1;
    if (base < kTargetGroups)
        splits = std::min({ceil_div(kTargetGroups, base), ceil_div(kv_len, plan.local_size),
                           std::max<std::uint32_t>(1, kMaxSplitRows / tokens)});
    splits = std::max<std::uint32_t>(splits, 1);
    plan.split_len = ceil_div(ceil_div(kv_len, splits), plan.local_size) * plan.local_size;
    plan.n_splits = ceil_div(kv_len, plan.split_len);
    return plan;
}

void BlockOps::attention(vk::CommandBuffer& cmd, const AttentionArgs& a) {
    const cpu::AttentionParams& p = a.params;
    check_params(p);
    if (a.tokens == 0 || a.kv_len == 0) fail("attention: no query tokens or no keys");
    const std::uint32_t hd = std::uint32_t(p.head_dim), n_heads = std::uint32_t(p.n_heads);
    const std::uint32_t q_stride = a.q_stride ? a.q_stride : n_heads * hd;
    if (q_stride < n_heads * hd) fail("attention: q stride {} shorter than a token's heads", q_stride);
    require_bytes(a.q, (std::uint64_t(a.tokens - 1) * q_stride + n_heads * hd) * 4, "attention", "q");
    require_bytes(a.positions, std::uint64_t(a.tokens) * 4, "attention", "positions");
    const std::uint32_t rows = a.cache_rows ? std::min(a.cache_rows, a.kv_len) : a.kv_len;
    if (rows < a.kv_len && (p.sliding_window <= 0 || std::uint64_t(p.sliding_window) + a.tokens - 1 > rows))
        fail("attention: a ring of {} positions cannot hold a window of {} for {} query tokens", rows,
             p.sliding_window, a.tokens);
    require_bytes(a.k_cache, kv_cache_bytes(rows, std::uint32_t(p.n_kv_heads), hd), "attention", "k_cache");
    require_bytes(a.v_cache, kv_cache_bytes(rows, std::uint32_t(p.n_kv_heads), hd), "attention", "v_cache");
    require_bytes(a.out, std::uint64_t(a.tokens) * n_heads * hd * 4, "attention", "out");

    const AttentionPlan plan = plan_attention(a.tokens, a.kv_len, p);
    const std::uint32_t token_groups = ceil_div(a.tokens, plan.tokens_per_group);
    if (token_groups > 65535) fail("attention: {} query tokens in one call is too many", a.tokens);
    const bool split = plan.n_splits > 1;
    if (split) require_bytes(a.scratch, attention_scratch_bytes(p), "attention", "scratch");
    if (a.sinks) require_bytes(*a.sinks, std::uint64_t(n_heads) * 4, "attention", "sinks");

    const vk::Pipeline& pipe = pipelines_.get(
        {.shader = kv_f16_ ? "attention_f16" : "attention",
         .spec_constants = {plan.local_size, hd, plan.heads_per_group, plan.tokens_per_group},
         .push_constant_bytes = sizeof(push::Attention),
         .storage_buffers = 7});
    const push::Attention pc{a.tokens,     n_heads,
                             std::uint32_t(p.n_kv_heads), a.kv_len,
                             plan.split_len, plan.n_splits,
                             q_stride,     std::uint32_t(p.sliding_window),
                             p.scale,      p.softcap,
                             a.sinks ? 1u : 0u, std::uint32_t(p.chunk),
                             p.temp_scale, p.temp_floor,
                             rows};
    cmd.dispatch({.pipeline = &pipe,
                  .buffers = {a.q, a.positions, a.k_cache, a.v_cache, a.out, split ? a.scratch : a.out,
                              a.sinks ? *a.sinks : a.q},
                  .push = vk::push_bytes(pc),
                  .groups = {n_heads / plan.heads_per_group, plan.n_splits, token_groups}});
    if (!split) return;

    vk::compute_to_compute(cmd);
    const std::uint32_t wg = wg_small_rows_;
    const vk::Pipeline& combine = pipelines_.get({.shader = "attention_combine",
                                                  .spec_constants = {wg},
                                                  .push_constant_bytes = sizeof(push::AttentionCombine),
                                                  .storage_buffers = 2});
    const push::AttentionCombine cc{a.tokens, n_heads, hd, plan.n_splits};
    cmd.dispatch({.pipeline = &combine, .buffers = {a.scratch, a.out}, .push = vk::push_bytes(cc),
                  .groups = spread_groups(std::uint64_t(a.tokens) * n_heads)});
}

}  // namespace ferry::kernels

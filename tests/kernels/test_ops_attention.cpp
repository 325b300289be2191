// KV append + attention against cpu::attention. The reference sees K and V rounded to F16
// (what the cache holds), so only the summation order and exp differ. Decode and prefill,
// head_dim 64 and 128, 32 query heads over 4 KV heads, contexts that need several splits,
// sliding window (and its ring cache), soft-capping, attention sinks, chunks and temperature; on the device as it is and on one without 16-bit storage
// (the packed-word fallback).
#include "kernels/block_ops_push.h"
#include "test_ops_util.h"

#include <doctest/doctest.h>

using namespace ferry;

namespace {

// Measured on lavapipe: <= 9.3e-13 across these cases (both variants). About 10x
// headroom for other drivers' exp.
constexpr double kAttentionBound = 1e-11;

struct Case {
    int n_heads, n_kv_heads, head_dim;
    std::uint32_t kv_len;  // keys in the cache after the query tokens are appended
    std::uint32_t tokens;  // query tokens: the last `tokens` positions
    int window = 0;
    float softcap = 0.f;
    bool sinks = false;  // gpt-oss's per-head sink logits
    int chunk = 0;       // Llama 4's chunked attention
    float temp_floor = 0.f;  // > 0: Llama 4's attention temperature with this floor scale (0.1 scale)
    std::uint32_t ring = 0;  // > 0: the caches are a ring of this many positions (a sliding layer's)
};

// Appends all kv_len positions' K/V through kv_append (history, then the query tokens as a
// second call, as a forward pass would), runs attention for the last `tokens` positions
// and compares with the reference. Returns the NMSE.
double run_case(vk::Device& device, const Case& c, std::uint32_t seed, const kernels::BlockOpsOptions& options) {
    kernels::BlockOps ops(device, options);
    cpu::AttentionParams params{c.n_heads, c.n_kv_heads, c.head_dim, 1.f / std::sqrt(float(c.head_dim)),
                                c.window, c.softcap};
    // Sinks of either sign and size: one head's sink dominates its scores.
    auto sinks = test::random_normal(std::size_t(c.n_heads), seed + 3, 3.f);
    if (c.sinks) {
        sinks[0] = 12.f;
        params.sinks = sinks;
    }
    params.chunk = c.chunk;
    if (c.temp_floor > 0) {
        params.temp_scale = 0.1f;
        params.temp_floor = c.temp_floor;
    }
    const std::size_t row = std::size_t(c.n_kv_heads) * c.head_dim, qrow = std::size_t(c.n_heads) * c.head_dim;
    const std::uint32_t n_ctx = c.kv_len + 5;
    const auto k = test::random_normal(c.kv_len * row, seed);
    const auto v = test::random_normal(c.kv_len * row, seed + 1);
    const auto q = test::random_normal(c.tokens * qrow, seed + 2, 2.5f);  // peaky softmax
    std::vector<std::int32_t> positions(c.kv_len);
    for (std::uint32_t i = 0; i < c.kv_len; ++i) positions[i] = std::int32_t(i);

    vk::Buffer dk = test::device_buffer(device, k, "k"), dv = test::device_buffer(device, v, "v");
    vk::Buffer dq = test::device_buffer(device, q, "q");
    // One positions buffer per call: binding offsets must respect minStorageBufferOffsetAlignment.
    const std::uint32_t history = c.kv_len - c.tokens;
    vk::Buffer new_pos = test::device_buffer(device, std::vector(positions.begin() + history, positions.end()), "new positions");
    const std::uint32_t rows = c.ring ? c.ring : n_ctx;
    const std::uint64_t cache_bytes = kernels::kv_cache_bytes(rows, std::uint32_t(c.n_kv_heads), std::uint32_t(c.head_dim));
    vk::Buffer k_cache = test::device_scratch(device, cache_bytes, "k cache");
    vk::Buffer v_cache = test::device_scratch(device, cache_bytes, "v cache");
    vk::Buffer out = test::device_scratch(device, c.tokens * qrow * 4, "out");
    vk::Buffer scratch = test::device_scratch(device, kernels::BlockOps::attention_scratch_bytes(params), "scratch");
    vk::Buffer dsinks = test::device_buffer(device, sinks, "sinks");

    // A ring takes the history in batches that fit it, in order, as decode and prefill do;
    // one positions buffer each.
    const std::uint32_t step = c.ring ? c.ring - std::uint32_t(c.window) + 1 : std::max(history, 1u);
    std::vector<vk::Buffer> chunk_pos;
    for (std::uint32_t first = 0; first < history; first += step)
        chunk_pos.push_back(test::device_buffer(
            device, std::vector(positions.begin() + first, positions.begin() + std::min(first + step, history)),
            "history positions"));
    test::run_once(device, [&](vk::CommandBuffer& cmd) {
        auto append = [&](std::uint32_t first, std::uint32_t count, const vk::Buffer& dpos) {
            if (!count) return;
            ops.kv_append(cmd, {.k = {dk, first * row * 4, count * row * 4},
                                .v = {dv, first * row * 4, count * row * 4},
                                .positions = dpos,
                                .k_cache = k_cache, .v_cache = v_cache, .tokens = count,
                                .n_kv_heads = std::uint32_t(c.n_kv_heads), .head_dim = std::uint32_t(c.head_dim),
                                .n_ctx = n_ctx, .cache_rows = c.ring});
        };
        for (std::uint32_t i = 0; i * step < history; ++i) {
            append(i * step, std::min(step, history - i * step), chunk_pos[i]);
            vk::compute_to_compute(cmd);
        }
        append(history, c.tokens, new_pos);
        vk::compute_to_compute(cmd);
        ops.attention(cmd, {.q = dq, .positions = new_pos, .k_cache = k_cache,
                            .v_cache = v_cache, .out = out, .scratch = scratch, .tokens = c.tokens,
                            .kv_len = c.kv_len, .params = params,
                            .sinks = c.sinks ? std::optional<vk::BufferBinding>(dsinks) : std::nullopt,
                            .cache_rows = c.ring});
    });

    // The cache holds exactly the F16 rounding of K and V; a ring the last `rows` positions.
    const std::uint32_t held = std::min(rows, c.kv_len), oldest = c.kv_len - held;
    const auto k_bits = test::read_back<std::uint16_t>(device, k_cache, held * row);
    const auto v_bits = test::read_back<std::uint16_t>(device, v_cache, held * row);
    std::size_t cache_mismatches = 0;
    for (std::uint32_t p = oldest; p < c.kv_len; ++p)
        for (std::size_t i = 0; i < row; ++i) {
            const std::size_t at = (p % rows) * row + i, from = std::size_t(p) * row + i;
            cache_mismatches += (k_bits[at] != quant::fp32_to_fp16(k[from])) + (v_bits[at] != quant::fp32_to_fp16(v[from]));
        }
    CHECK(cache_mismatches == 0);

    std::vector<float> k16(k.size()), v16(v.size());
    for (std::size_t i = 0; i < k.size(); ++i) k16[i] = test::round_f16(k[i]), v16[i] = test::round_f16(v[i]);
    std::vector<float> want(c.tokens * qrow);
    for (std::uint32_t t = 0; t < c.tokens; ++t)
        cpu::attention(std::span(q).subspan(t * qrow, qrow), k16, v16, int(history + t), params,
                       std::span(want).subspan(t * qrow, qrow));
    return test::nmse(test::read_back<float>(device, out, want.size()), want);
}

const Case kCases[] = {
    {32, 4, 128, 1, 1},        // first token
    {32, 4, 128, 37, 1},       // decode, one split
    {32, 4, 128, 1000, 1},     // decode, many splits
    {32, 4, 64, 777, 1},       // head_dim 64
    {32, 4, 128, 300, 300},    // prefill from empty
    {32, 4, 128, 530, 19},     // prefill continuing, splits with several tokens
    {32, 4, 64, 257, 3, 100},  // sliding window
    {32, 4, 128, 400, 2, 0, 30.f},       // soft-capping
    {8, 8, 64, 200, 7, 64, 50.f},        // no grouping, window + soft-cap
    {12, 4, 80, 129, 5},                 // odd head count per group (3), head_dim 80
    {64, 8, 64, 1, 1, 0, 0.f, true},     // sinks (gpt-oss-20b's heads): first token
    {64, 8, 64, 900, 1, 0, 0.f, true},   // sinks, decode over many splits
    {64, 8, 64, 300, 40, 128, 0.f, true},  // sinks with a sliding window (split 0 may see no key)
    {4, 2, 64, 90, 90, 24, 0.f, true},   // sinks, window, prefill from empty (tiny-gptoss)
    {8, 2, 128, 300, 100, 0, 0.f, false, 64},      // chunks of 64, prefill across chunk starts
    {8, 2, 128, 700, 1, 0, 0.f, false, 256},       // chunked decode, many splits
    {8, 2, 128, 300, 60, 0, 0.f, false, 0, 16.f},  // temperature: floor 16 (8192 in Llama 4)
    {2, 1, 128, 130, 130, 0, 0.f, false, 0, 8.f},  // MQA (llama4-dev's heads), temperature
    {8, 2, 64, 300, 1, 24, 0.f, false, 0, 0.f, 24},  // sliding ring: decode, a ring of just the window
    {8, 2, 64, 301, 9, 24, 0.f, false, 0, 0.f, 32},  // ring prefill: window + tokens - 1 = its rows
    {16, 8, 256, 2100, 1, 1024, 0.f, false, 0, 0.f, 1087},  // Gemma-4-26B's sliding layer, many splits
    {16, 2, 512, 700, 1},    // Gemma-4-26B's global layer: head_dim 512, decode
    {16, 2, 512, 80, 40},    // and prefill
};

}  // namespace

TEST_CASE("attention with the F16 KV cache matches cpu::attention (device's own variant)") {
    test::GpuTest gpu;
    if (!gpu) return;
    MESSAGE("KV cache through 16-bit storage: " << kernels::BlockOps(gpu.device()).kv_f16_storage());
    std::uint32_t seed = 100;
    for (const auto& options : test::kWorkgroupChoices)
    for (const Case& c : kCases) {
        CAPTURE(options.attention_workgroup);
        CAPTURE(c.head_dim);
        CAPTURE(c.kv_len);
        CAPTURE(c.tokens);
        CAPTURE(c.window);
        const double e = run_case(gpu.device(), c, seed += 10, options);
        MESSAGE("attention hd=" << c.head_dim << " kv=" << c.kv_len << " tokens=" << c.tokens << " nmse=" << e);
        CHECK(e <= kAttentionBound);
    }
}

TEST_CASE("attention fallback: a device without 16-bit storage packs the KV cache in words") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device* device = test::fallback_device();
    REQUIRE(device);
    REQUIRE_FALSE(device->features().storage_buffer_16bit);
    CHECK_FALSE(kernels::BlockOps(*device).kv_f16_storage());
    std::uint32_t seed = 500;
    for (const Case& c : kCases) {
        CAPTURE(c.head_dim);
        CAPTURE(c.kv_len);
        CAPTURE(c.tokens);
        const double e = run_case(*device, c, seed += 10, {});
        MESSAGE("attention (packed) kv=" << c.kv_len << " tokens=" << c.tokens << " nmse=" << e);
        CHECK(e <= kAttentionBound);
    }
}

TEST_CASE("attention splits long contexts for a single token and not for a long prefill") {
    test::GpuTest gpu;
    if (!gpu) return;
    kernels::BlockOps ops(gpu.device(), test::kWorkgroupChoices[1]);
    const cpu::AttentionParams p{32, 4, 128, 0.088f, 0, 0.f};
    const auto decode = ops.plan_attention(1, 4096, p);
    CHECK(decode.heads_per_group == 8);
    CHECK(decode.n_splits > 1);
    CHECK(std::uint64_t(decode.n_splits) * decode.split_len >= 4096);
    const auto prefill = ops.plan_attention(512, 512, p);
    CHECK(prefill.n_splits == 1);
    CHECK(prefill.heads_per_group * prefill.tokens_per_group <= kernels::kAttentionMaxRows);
}

// Router and top-k/argmax shaders against cpu::route and a stable sort: the chosen ids
// must be identical (ties to the lower index), weights within a tight NMSE.
#include "test_ops_util.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>

using namespace ferry;

namespace {

// Measured on lavapipe: router weights <= 1.4e-14. About 7x headroom for other drivers'
// exp.
constexpr double kRouterBound = 1e-13;

// Logits whose sorted neighbours are at least `gap` apart (no near-ties).
std::vector<float> separated_logits(std::size_t n, std::uint32_t seed, float gap) {
    std::vector<float> v(n);
    std::iota(v.begin(), v.end(), 0.f);
    for (float& x : v) x = x * gap - float(n) * gap / 2;
    std::mt19937 rng(seed);
    std::shuffle(v.begin(), v.end(), rng);
    return v;
}

struct RouterCase {
    cpu::RouterFunction function;
    std::uint32_t n_experts, top_k;
    bool renormalize, bias;
    float weight_scale;
    bool expert_scale = false;  // each chosen expert's own output scale (Gemma 4)
};

void check_router(vk::Device& device, const RouterCase& c, const std::vector<float>& logits, std::uint32_t tokens,
                  const std::vector<float>& bias, const kernels::BlockOpsOptions& options) {
    kernels::BlockOps ops(device, options);
    std::vector<std::int32_t> want_ids;
    std::vector<float> want_w;
    for (std::uint32_t t = 0; t < tokens; ++t) {
        cpu::RouterParams p{c.function, int(c.top_k), c.renormalize, {}, c.weight_scale};
        if (c.bias) p.bias = bias;
        if (c.expert_scale) p.expert_scale = std::span(bias).first(c.n_experts);
        const auto choice = cpu::route(std::span(logits).subspan(t * c.n_experts, c.n_experts), p);
        want_ids.insert(want_ids.end(), choice.experts.begin(), choice.experts.end());
        want_w.insert(want_w.end(), choice.weights.begin(), choice.weights.end());
    }
    vk::Buffer dl = test::device_buffer(device, logits, "logits"), db = test::device_buffer(device, bias, "bias");
    vk::Buffer ids = test::device_scratch(device, want_ids.size() * 4, "ids");
    vk::Buffer w = test::device_scratch(device, want_w.size() * 4, "weights");
    test::run_once(device, [&](vk::CommandBuffer& cmd) {
        ops.router(cmd, {.logits = dl, .ids = ids, .weights = w,
                         .bias = c.bias ? std::optional<vk::BufferBinding>(db) : std::nullopt, .tokens = tokens,
                         .n_experts = c.n_experts, .top_k = c.top_k, .function = c.function,
                         .renormalize = c.renormalize, .weight_scale = c.weight_scale,
                         .expert_scale = c.expert_scale ? std::optional<vk::BufferBinding>(db) : std::nullopt});
    });
    CHECK(test::read_back<std::int32_t>(device, ids, want_ids.size()) == want_ids);
    const double e = test::nmse(test::read_back<float>(device, w, want_w.size()), want_w);
    MESSAGE("router function=" << int(c.function) << " n=" << c.n_experts << " k=" << c.top_k << " nmse=" << e);
    CHECK(e <= kRouterBound);
}

const RouterCase kRouterCases[] = {
    {cpu::RouterFunction::SoftmaxThenTopK, 128, 8, true, false, 1.f},   // Qwen3-30B-A3B
    {cpu::RouterFunction::SoftmaxThenTopK, 128, 8, true, false, 1.f, true},  // Gemma 4
    {cpu::RouterFunction::SoftmaxThenTopK, 128, 8, false, false, 1.f},
    {cpu::RouterFunction::SoftmaxThenTopK, 8, 2, false, false, 1.f},    // Mixtral
    {cpu::RouterFunction::TopKThenSoftmax, 32, 4, false, false, 1.f},   // gpt-oss
    {cpu::RouterFunction::Sigmoid, 256, 8, true, true, 2.5f},           // DeepSeek-V3 style
    {cpu::RouterFunction::Sigmoid, 129, 1, false, false, 1.f},
    {cpu::RouterFunction::SoftmaxThenTopK, 60, 4, true, true, 1.f},
    {cpu::RouterFunction::TopKThenSoftmax, 512, 32, true, true, 0.5f},
};

}  // namespace

TEST_CASE("router picks the same experts as cpu::route with matching weights") {
    test::GpuTest gpu;
    if (!gpu) return;
    std::uint32_t seed = 1;
    for (const RouterCase& c : kRouterCases) {
        CAPTURE(int(c.function));
        CAPTURE(c.n_experts);
        const std::uint32_t tokens = 5;
        std::vector<float> logits;
        for (std::uint32_t t = 0; t < tokens; ++t) {
            const auto row = separated_logits(c.n_experts, seed++, 8.f / float(c.n_experts));
            logits.insert(logits.end(), row.begin(), row.end());
        }
        // Bias values spaced apart from the logits' spacing, so p + bias has no near-ties.
        const auto bias = separated_logits(c.n_experts, seed++, 0.37f);
        for (const auto& options : test::kWorkgroupChoices) check_router(gpu.device(), c, logits, tokens, bias, options);
    }
}

TEST_CASE("router breaks exact ties towards the lower expert id, as cpu::route") {
    test::GpuTest gpu;
    if (!gpu) return;
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> level(0, 5);
    for (const RouterCase& c : kRouterCases) {
        CAPTURE(int(c.function));
        const std::uint32_t tokens = 3;
        std::vector<float> logits(tokens * c.n_experts);
        for (float& x : logits) x = float(level(rng)) * 0.5f;  // six values: many exact ties
        std::vector<float> bias(c.n_experts);
        for (float& x : bias) x = float(level(rng) % 2);
        for (const auto& options : test::kWorkgroupChoices) check_router(gpu.device(), c, logits, tokens, bias, options);
    }
}

namespace {

// k best of each row: value descending, ties to the lower index (a stable sort).
void cpu_top_k(const std::vector<float>& values, std::uint32_t rows, std::uint32_t n, std::uint32_t k,
               std::vector<float>& out_v, std::vector<std::int32_t>& out_i) {
    for (std::uint32_t r = 0; r < rows; ++r) {
        std::vector<std::int32_t> order(n);
        std::iota(order.begin(), order.end(), 0);
        const float* v = values.data() + std::size_t(r) * n;
        std::stable_sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) { return v[a] > v[b]; });
        for (std::uint32_t j = 0; j < k; ++j) {
            out_i.push_back(order[j]);
            out_v.push_back(v[order[j]]);
        }
    }
}

}  // namespace

TEST_CASE("top_k and argmax over a 151936-entry vocabulary, with ties across chunks") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    struct Shape {
        std::uint32_t rows, n, k;
    };
    for (const auto& options : test::kWorkgroupChoices)
    for (Shape s : {Shape{1, 151936, 1}, Shape{2, 151936, 40}, Shape{1, 151936, 256}, Shape{3, 1000, 7},
                    Shape{1, 5, 5}, Shape{2, 4097, 1}, Shape{1, 70000, 200}}) {
        kernels::BlockOps ops(device, options);
        CAPTURE(options.reduction_workgroup);
        CAPTURE(s.rows);
        CAPTURE(s.n);
        CAPTURE(s.k);
        auto values = test::random_normal(std::size_t(s.rows) * s.n, s.n + s.k, 3.f);
        // Coarse values give many exact ties; plant the maximum several times, far apart.
        for (float& v : values) v = std::round(v * 64.f) / 64.f;
        for (std::uint32_t r = 0; r < s.rows; ++r)
            for (std::uint32_t i : {s.n - 1, s.n / 2, s.n / 3 + 1, 0u}) values[std::size_t(r) * s.n + i] = 99.f;
        std::vector<float> want_v;
        std::vector<std::int32_t> want_i;
        cpu_top_k(values, s.rows, s.n, s.k, want_v, want_i);

        vk::Buffer dv = test::device_buffer(device, values, "logits");
        vk::Buffer ov = test::device_scratch(device, want_v.size() * 4, "top values");
        vk::Buffer oi = test::device_scratch(device, want_i.size() * 4, "top ids");
        vk::Buffer scratch = test::device_scratch(device, kernels::topk_scratch_bytes(s.rows, s.n, s.k), "scratch");
        test::run_once(device, [&](vk::CommandBuffer& cmd) {
            ops.top_k(cmd, {.values = dv, .out_values = ov, .out_ids = oi, .scratch = scratch, .rows = s.rows,
                            .n = s.n, .k = s.k});
        });
        const auto got_i = test::read_back<std::int32_t>(device, oi, want_i.size());
        for (std::size_t j = 0; j < got_i.size(); ++j)
            if (got_i[j] != want_i[j]) {
                MESSAGE("first mismatch at " << j << ": got " << got_i[j] << " want " << want_i[j]);
                break;
            }
        CHECK(got_i == want_i);
        CHECK(test::read_back<float>(device, ov, want_v.size()) == want_v);
    }
}

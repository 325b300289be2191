// SwiGLU/GeGLU/gpt-oss's clamped SwiGLU (with per-route expert biases), the weighted sum
// of expert outputs (with per-expert biases) and the embedding gather against the CPU
// references (cpu::swiglu, geglu, swiglu_oai, axpy, quant::dequantize_row).
#include "test_ops_util.h"

#include "base/error.h"
#include "cpu/elementwise.h"
#include "quant/quant.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include <doctest/doctest.h>

using namespace ferry;

namespace {

// Measured on lavapipe: glu <= 1.2e-15 (exp/tanh), moe_combine 0 and embed 0 (the same
// F32 operations as the references). The bounds leave room for other drivers' exp/tanh and
// for fused multiply-adds, nothing more.
constexpr double kGluBound = 1e-14;
constexpr double kCombineBound = 1e-14;
constexpr double kEmbedBound = 1e-14;

}  // namespace

TEST_CASE("swiglu and geglu match the CPU reference, large and odd sizes, in place") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    kernels::BlockOps ops(device);
    for (kernels::Glu kind : {kernels::Glu::SwiGLU, kernels::Glu::GeGLU}) {
        for (std::uint32_t n : {1u, 255u, 768u * 8u, 100003u, 2000000u}) {
            CAPTURE(n);
            auto gate = test::random_normal(n, n, 4.f);
            gate[0] = -120.f;  // exp overflow on the way: silu must give -0, gelu 0
            const auto up = test::random_normal(n, n + 1, 2.f);
            std::vector<float> want(n);
            if (kind == kernels::Glu::SwiGLU)
                cpu::swiglu(gate, up, want);
            else
                cpu::geglu(gate, up, want);
            vk::Buffer dg = test::device_buffer(device, gate, "gate"),
                       du = test::device_buffer(device, up, "up");
            test::run_once(device, [&](vk::CommandBuffer& cmd) {
                ops.glu(cmd, {.gate = dg, .up = du, .out = dg, .n = n, .kind = kind});  // in place over gate
            });
            const auto got = test::read_back<float>(device, dg, n);
            const double e = test::nmse(got, want);
            MESSAGE(std::string(kind == kernels::Glu::SwiGLU ? "swiglu" : "geglu")
                    << " n=" << n << " nmse=" << e);
            CHECK(e <= kGluBound);
            CHECK(std::isfinite(got[0]));
        }
    }
}

TEST_CASE("gpt-oss's clamped SwiGLU with per-route expert biases matches the CPU reference") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    kernels::BlockOps ops(device);
    const std::uint32_t width = 96, routes = 37, n_experts = 8, n = routes * width;
    auto gate = test::random_normal(n, 11, 6.f);  // well past the clamp at 7 on both sides
    const auto up = test::random_normal(n, 12, 6.f);
    const auto bias_gate = test::random_normal(n_experts * width, 13), bias_up = test::random_normal(n_experts * width, 14);
    std::vector<std::int32_t> ids(routes);
    for (std::uint32_t r = 0; r < routes; ++r) ids[r] = std::int32_t((r * 5 + 3) % n_experts);
    std::vector<float> want(n), plain(n);
    cpu::swiglu_oai(gate, up, plain);
    for (std::uint32_t r = 0; r < routes; ++r)
        for (std::uint32_t i = 0; i < width; ++i) {
            const std::size_t b = std::size_t(ids[r]) * width + i, at = std::size_t(r) * width + i;
            want[at] = cpu::swiglu_oai(gate[at] + bias_gate[b], up[at] + bias_up[b]);
        }
    vk::Buffer dg = test::device_buffer(device, gate, "gate"), du = test::device_buffer(device, up, "up");
    vk::Buffer dbg = test::device_buffer(device, bias_gate, "bias gate"), dbu = test::device_buffer(device, bias_up, "bias up");
    vk::Buffer dids = test::device_buffer(device, ids, "ids");
    vk::Buffer out = test::device_scratch(device, n * 4, "out"), out_plain = test::device_scratch(device, n * 4, "out plain");
    test::run_once(device, [&](vk::CommandBuffer& cmd) {
        ops.glu(cmd, {.gate = dg, .up = du, .out = out_plain, .n = n, .kind = kernels::Glu::SwiGLUOai});
        ops.glu(cmd, {.gate = dg,
                      .up = du,
                      .out = out,
                      .n = n,
                      .kind = kernels::Glu::SwiGLUOai,
                      .bias = kernels::GluRouteBias{.ids = dids, .bias_gate = dbg, .bias_up = dbu, .width = width,
                                                    .n_experts = n_experts}});
    });
    const double e_plain = test::nmse(test::read_back<float>(device, out_plain, n), plain);
    const double e = test::nmse(test::read_back<float>(device, out, n), want);
    MESSAGE("swiglu_oai nmse=" << e_plain << ", with route biases nmse=" << e);
    CHECK(e_plain <= kGluBound);
    CHECK(e <= kGluBound);
    // Clamping: a gate far above 7 acts as 7, an up far outside ±7 as ±7.
    CHECK(cpu::swiglu_oai(100.f, 100.f) == cpu::swiglu_oai(7.f, 7.f));
    CHECK(cpu::swiglu_oai(3.f, -50.f) == cpu::swiglu_oai(3.f, -7.f));
}

TEST_CASE("row ops: a bias over every row, a per-row sigmoid gate and a per-row scale match the CPU reference") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    kernels::BlockOps ops(device);
    for (auto [rows, width] : {std::pair{1u, 1u}, std::pair{3u, 257u}, std::pair{128u, 2048u}}) {
        CAPTURE(rows);
        CAPTURE(width);
        const std::uint32_t n = rows * width;
        const auto x = test::random_normal(n, n, 2.f);
        const auto bias = test::random_normal(width, width + 7);
        auto gate = test::random_normal(rows, rows + 3, 4.f);
        gate[0] = -120.f;  // exp overflow: the gate is 0
        std::vector<float> want_add = x, want_gate = x, want_scale = x;
        cpu::add_row(want_add, bias);
        cpu::sigmoid_gate(want_gate, gate);
        for (std::uint32_t i = 0; i < n; ++i) want_scale[i] *= gate[i / width];
        vk::Buffer da = test::device_buffer(device, x, "x (add)"),
                   dg = test::device_buffer(device, x, "x (gate)"), ds = test::device_buffer(device, x, "x (scale)");
        vk::Buffer db = test::device_buffer(device, bias, "bias"),
                   dgate = test::device_buffer(device, gate, "gate");
        test::run_once(device, [&](vk::CommandBuffer& cmd) {
            ops.rows(cmd, {.x = da, .b = db, .n = n, .width = width, .op = kernels::RowOp::Add});
            ops.rows(cmd, {.x = dg, .b = dgate, .n = n, .width = width, .op = kernels::RowOp::SigmoidGate});
            ops.rows(cmd, {.x = ds, .b = dgate, .n = n, .width = width, .op = kernels::RowOp::Scale});
        });
        CHECK(test::read_back<float>(device, ds, n) == want_scale);  // one F32 multiply each
        CHECK(test::read_back<float>(device, da, n) == want_add);  // one F32 add each
        const auto got_gate = test::read_back<float>(device, dg, n);
        CHECK(test::nmse(got_gate, want_gate) <= kGluBound);  // exp as in glu
        CHECK(got_gate[0] == 0.f);
    }
    vk::Buffer small = test::device_buffer(device, std::vector<float>(8), "x");
    test::run_once(device, [&](vk::CommandBuffer& cmd) {
        CHECK_THROWS_WITH_AS(ops.rows(cmd, {.x = small, .b = small, .n = 8, .width = 3}),
                             doctest::Contains("not rows of 3"), Error);
    });
}

TEST_CASE("moe_combine adds the weighted expert outputs into the residual in k order") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    kernels::BlockOps ops(device);
    struct Shape {
        std::uint32_t tokens, n, k;
    };
    for (Shape s : {Shape{1, 2048, 8}, Shape{5, 2048, 8}, Shape{3, 1001, 1}, Shape{17, 64, 9}}) {
        for (bool accumulate : {true, false}) {
            CAPTURE(s.tokens);
            CAPTURE(s.n);
            CAPTURE(accumulate);
            const auto x = test::random_normal(std::size_t(s.tokens) * s.n, s.n);
            const auto experts = test::random_normal(std::size_t(s.tokens) * s.k * s.n, s.n + 1);
            const auto w = test::random_normal(std::size_t(s.tokens) * s.k, s.n + 2, 0.3f);
            std::vector<float> want = accumulate ? x : std::vector<float>(x.size(), 0.f);
            for (std::uint32_t t = 0; t < s.tokens; ++t)
                for (std::uint32_t k = 0; k < s.k; ++k)
                    cpu::axpy(w[t * s.k + k], std::span(experts).subspan((t * s.k + k) * s.n, s.n),
                              std::span(want).subspan(t * s.n, s.n));
            vk::Buffer dx = test::device_buffer(device, x, "x"),
                       de = test::device_buffer(device, experts, "experts");
            vk::Buffer dw = test::device_buffer(device, w, "weights");
            test::run_once(device, [&](vk::CommandBuffer& cmd) {
                ops.moe_combine(cmd, {.x = dx,
                                      .expert_out = de,
                                      .weights = dw,
                                      .tokens = s.tokens,
                                      .n = s.n,
                                      .top_k = s.k,
                                      .accumulate = accumulate});
            });
            const double e = test::nmse(test::read_back<float>(device, dx, x.size()), want);
            MESSAGE("moe_combine tokens=" << s.tokens << " n=" << s.n << " nmse=" << e);
            CHECK(e <= kCombineBound);
        }
    }
}

TEST_CASE("moe_combine with expert biases adds each route's bias row of its expert (gpt-oss's down bias)") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    kernels::BlockOps ops(device);
    const std::uint32_t tokens = 6, n = 256, k = 4, n_experts = 32;
    const auto x = test::random_normal(std::size_t(tokens) * n, 31);
    const auto experts = test::random_normal(std::size_t(tokens) * k * n, 32);
    const auto bias = test::random_normal(std::size_t(n_experts) * n, 33);
    auto w = test::random_normal(std::size_t(tokens) * k, 34, 0.3f);
    w[1] = 0.f;  // a route computed on the CPU: neither its output nor its bias is added
    std::vector<std::int32_t> ids(tokens * k);
    for (std::uint32_t i = 0; i < tokens * k; ++i) ids[i] = std::int32_t((i * 7 + 1) % n_experts);
    std::vector<float> want = x, y(n);
    for (std::uint32_t t = 0; t < tokens; ++t)
        for (std::uint32_t j = 0; j < k; ++j) {
            if (w[t * k + j] == 0.f) continue;
            for (std::uint32_t i = 0; i < n; ++i)
                y[i] = experts[(t * k + j) * n + i] + bias[std::size_t(ids[t * k + j]) * n + i];
            cpu::axpy(w[t * k + j], y, std::span(want).subspan(t * n, n));
        }
    vk::Buffer dx = test::device_buffer(device, x, "x"), de = test::device_buffer(device, experts, "experts");
    vk::Buffer dw = test::device_buffer(device, w, "weights"), di = test::device_buffer(device, ids, "ids");
    vk::Buffer db = test::device_buffer(device, bias, "bias");
    test::run_once(device, [&](vk::CommandBuffer& cmd) {
        ops.moe_combine(cmd, {.x = dx,
                              .expert_out = de,
                              .weights = dw,
                              .tokens = tokens,
                              .n = n,
                              .top_k = k,
                              .ids = di,
                              .bias = db,
                              .n_experts = n_experts});
    });
    const double e = test::nmse(test::read_back<float>(device, dx, x.size()), want);
    MESSAGE("moe_combine with biases nmse=" << e);
    CHECK(e <= kCombineBound);
}

namespace {

// out[tokens, n_cols] of ops.embed over the table `dt` and ids `di`, read back.
std::vector<float> run_embed(vk::Device& device, kernels::BlockOps& ops, const vk::Buffer& dt,
                             const vk::Buffer& di, gguf::TensorType type, std::uint32_t n_rows,
                             std::uint32_t n_cols, std::uint32_t tokens) {
    vk::Buffer dout = test::device_scratch(device, std::uint64_t(tokens) * n_cols * 4, "out");
    test::run_once(device, [&](vk::CommandBuffer& cmd) {
        ops.embed(cmd, {.table = dt,
                        .ids = di,
                        .out = dout,
                        .type = type,
                        .n_rows = n_rows,
                        .n_cols = n_cols,
                        .tokens = tokens});
    });
    return test::read_back<float>(device, dout, std::size_t(tokens) * n_cols);
}

}  // namespace

TEST_CASE("embed gathers rows of every quant type as F32, equal to dequantize_row") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    kernels::BlockOps ops(device);
    using T = gguf::TensorType;
    const T types[] = {T::F32,  T::F16,  T::BF16, T::Q4_0, T::Q4_1, T::Q5_0,   T::Q5_1,   T::Q8_0,
                       T::Q2_K, T::Q3_K, T::Q4_K, T::Q5_K, T::Q6_K, T::IQ4_NL, T::IQ4_XS, T::MXFP4};
    const std::vector<std::int32_t> ids = {3, 0, 9, 3, 10, -1, 4};  // 10 and -1 are outside: zeros
    const std::uint32_t n_rows = 10;
    for (T type : types) {
        const auto& traits = gguf::type_traits(type);
        // Odd block counts, so Q8_0/Q5_0/MXFP4 rows start at unaligned bytes.
        const std::uint32_t n_cols = traits.block_elements == 256 ? 3 * 256 : 7 * 32;
        CAPTURE(traits.name);
        const auto values = test::random_normal(std::size_t(n_rows) * n_cols, n_cols + 3);
        const std::uint64_t row_bytes = gguf::row_bytes(traits, n_cols);
        std::vector<std::uint8_t> table(n_rows * row_bytes);
        for (std::uint32_t r = 0; r < n_rows; ++r)
            quant::quantize_row(type, values.data() + r * n_cols, table.data() + r * row_bytes, n_cols);
        std::vector<float> want(ids.size() * n_cols, 0.f);
        std::vector<float> row(n_cols);
        for (std::size_t t = 0; t < ids.size(); ++t) {
            if (ids[t] < 0 || std::uint32_t(ids[t]) >= n_rows) continue;
            // A copy keeps dequantize_row's alignment rule whatever row_bytes is.
            std::vector<std::uint32_t> aligned((row_bytes + 3) / 4);
            std::memcpy(aligned.data(), table.data() + ids[t] * row_bytes, row_bytes);
            quant::dequantize_row(type, aligned.data(), row.data(), n_cols);
            std::copy(row.begin(), row.end(), want.begin() + t * n_cols);
        }
        table.resize((table.size() + 3) / 4 * 4, 0);
        vk::Buffer dt = test::device_buffer(device, table, "table"),
                   di = test::device_buffer(device, ids, "ids");
        const auto got = run_embed(device, ops, dt, di, type, n_rows, n_cols, std::uint32_t(ids.size()));
        const double e = test::nmse(got, want);
        MESSAGE("embed " << traits.name << " nmse=" << e);
        CHECK(e <= kEmbedBound);
        for (std::uint32_t c = 0; c < n_cols; ++c) CHECK(got[5 * n_cols + c] == 0.f);
    }
}

TEST_CASE("embed reads a table larger than one binding in row ranges, with the same result") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    const std::uint64_t align =
        std::max<std::uint64_t>(device.limits().min_storage_buffer_offset_alignment, 4);
    using T = gguf::TensorType;
    for (T type : {T::F32, T::Q8_0, T::Q4_K, T::MXFP4}) {
        const auto& traits = gguf::type_traits(type);
        const std::uint32_t n_cols = traits.block_elements == 256 ? 256 : 3 * 32;
        const std::uint64_t row_bytes = gguf::row_bytes(traits, n_cols);
        const std::uint64_t step = align / std::gcd(align, row_bytes);  // rows per aligned range start
        const std::uint32_t n_rows = std::uint32_t(7 * step + 3);       // 4 ranges of 2 steps, the last short
        CAPTURE(traits.name);
        const auto values = test::random_normal(std::size_t(n_rows) * n_cols, 17);
        std::vector<std::uint8_t> table(n_rows * row_bytes);
        for (std::uint32_t r = 0; r < n_rows; ++r)
            quant::quantize_row(type, values.data() + r * n_cols, table.data() + r * row_bytes, n_cols);
        table.resize((table.size() + 3) / 4 * 4, 0);
        // First, last, both sides of each range edge, and two outside the table.
        std::vector<std::int32_t> ids = {0, std::int32_t(n_rows - 1), -1, std::int32_t(n_rows)};
        for (std::uint64_t edge = 2 * step; edge < n_rows; edge += 2 * step)
            ids.insert(ids.end(), {std::int32_t(edge - 1), std::int32_t(edge)});
        vk::Buffer dt = test::device_buffer(device, table, "table"),
                   di = test::device_buffer(device, ids, "ids");
        std::vector<std::vector<float>> results;
        for (std::uint64_t max_binding : {std::uint64_t{0}, 2 * step * row_bytes + 3}) {
            kernels::BlockOps ops(device, {.max_binding_bytes = max_binding});
            results.push_back(
                run_embed(device, ops, dt, di, type, n_rows, n_cols, std::uint32_t(ids.size())));
        }
        CHECK(results[0] == results[1]);
        for (std::uint32_t c = 0; c < n_cols; ++c) {
            CHECK(results[1][2 * n_cols + c] == 0.f);  // id -1
            CHECK(results[1][3 * n_cols + c] == 0.f);  // id n_rows
        }
        CHECK(std::any_of(results[1].begin(), results[1].end(), [](float v) { return v != 0.f; }));
    }
}

// RMSNorm and RoPE shaders against cpu::rms_norm / cpu::rope: block norms (rows of
// n_embd), Qwen3's per-head norms in place, NeoX and normal RoPE with partial rotary dims
// and positions from a buffer, at awkward sizes.
#include "test_ops_util.h"

#include <doctest/doctest.h>

using namespace ferry;

namespace {

// Measured on lavapipe: rms_norm <= 1.5e-14; rope <= 7e-10, which is the F32 angle: at
// position 4000 one ulp of the angle is 2.4e-4 rad, and the reference forms it in double
// (ggml forms it in F32 too). About 5x headroom for other drivers' exp2/sin/cos.
constexpr double kNormBound = 1e-13;
constexpr double kRopeBound = 3e-9;

}  // namespace

TEST_CASE("rms_norm matches cpu::rms_norm for token rows and per-head rows (in place)") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    struct Shape {
        std::uint32_t n, rows;
        bool in_place;
    };
    for (const auto& options : test::kWorkgroupChoices)
    for (Shape s : {Shape{2048, 1, false}, Shape{2048, 7, false}, Shape{1, 3, false}, Shape{1000, 5, false},
                    Shape{4097, 2, false}, Shape{128, 32 * 3, true}, Shape{64, 4 * 5, true}, Shape{77, 9, true}}) {
        kernels::BlockOps ops(device, options);
        CAPTURE(s.n);
        CAPTURE(s.rows);
        CAPTURE(options.reduction_workgroup);
        const auto x = test::random_normal(std::size_t(s.n) * s.rows, s.n + s.rows, 3.f);
        const auto w = test::random_normal(s.n, s.n * 7 + 1);
        const float eps = 1e-6f;
        std::vector<float> want(x.size());
        for (std::uint32_t r = 0; r < s.rows; ++r)
            cpu::rms_norm(std::span(x).subspan(r * s.n, s.n), w, eps, std::span(want).subspan(r * s.n, s.n));

        vk::Buffer dx = test::device_buffer(device, x, "x"), dw = test::device_buffer(device, w, "weight");
        vk::Buffer dy = test::device_scratch(device, x.size() * 4, "y");
        const vk::Buffer& out = s.in_place ? dx : dy;
        test::run_once(device, [&](vk::CommandBuffer& cmd) {
            ops.rms_norm(cmd, {.x = dx, .weight = dw, .y = out, .n = s.n, .rows = s.rows, .eps = eps});
        });
        const double e = test::nmse(test::read_back<float>(device, out, x.size()), want);
        MESSAGE("rms_norm n=" << s.n << " rows=" << s.rows << " nmse=" << e);
        CHECK(e <= kNormBound);
    }
}

TEST_CASE("rms_norm without a weight (Llama 4's q/k norm) matches cpu::rms_norm with an empty weight") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    kernels::BlockOps ops(device);
    const std::uint32_t n = 128, rows = 2 * 9;  // 2 heads of 9 tokens, in place
    const auto x = test::random_normal(std::size_t(n) * rows, 77, 3.f);
    std::vector<float> want(x.size());
    for (std::uint32_t r = 0; r < rows; ++r)
        cpu::rms_norm(std::span(x).subspan(r * n, n), {}, 1e-5f, std::span(want).subspan(r * n, n));
    vk::Buffer dx = test::device_buffer(device, x, "x");
    test::run_once(device, [&](vk::CommandBuffer& cmd) {
        ops.rms_norm(cmd, {.x = dx, .weight = dx, .y = dx, .n = n, .rows = rows, .eps = 1e-5f, .unweighted = true});
    });
    const double e = test::nmse(test::read_back<float>(device, dx, x.size()), want);
    MESSAGE("rms_norm unweighted nmse=" << e);
    CHECK(e <= kNormBound);
}

TEST_CASE("rms_norm honours row strides (a head slice of a wider row)") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    kernels::BlockOps ops(device);
    const std::uint32_t n = 48, rows = 6, stride = 80;
    const auto x = test::random_normal(rows * stride, 5);
    const auto w = test::random_normal(n, 6);
    std::vector<float> want(rows * stride, -5.f), got_init(rows * stride, -5.f);
    for (std::uint32_t r = 0; r < rows; ++r)
        cpu::rms_norm(std::span(x).subspan(r * stride, n), w, 1e-5f, std::span(want).subspan(r * stride, n));
    vk::Buffer dx = test::device_buffer(device, x, "x"), dw = test::device_buffer(device, w, "w");
    vk::Buffer dy = test::device_buffer(device, got_init, "y");
    test::run_once(device, [&](vk::CommandBuffer& cmd) {
        ops.rms_norm(cmd, {.x = dx, .weight = dw, .y = dy, .n = n, .rows = rows, .eps = 1e-5f, .x_stride = stride,
                           .y_stride = stride});
    });
    const auto got = test::read_back<float>(device, dy, want.size());
    CHECK(test::nmse(got, want) <= kNormBound);
    for (std::uint32_t r = 0; r < rows; ++r)
        for (std::uint32_t i = n; i < stride; ++i) CHECK(got[r * stride + i] == -5.f);  // gaps untouched
}

TEST_CASE("rope matches cpu::rope: both styles, partial rotary, freq scale, YaRN, rope_freqs, positions per token") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    kernels::BlockOps ops(device);
    struct Case {
        cpu::RopeStyle style;
        std::uint32_t n_heads, head_dim;
        int rot_dims;
        float base, scale;
    };
    const Case cases[] = {
        {cpu::RopeStyle::Neox, 32, 128, 128, 1000000.f, 1.f},  // Qwen3 q
        {cpu::RopeStyle::Neox, 4, 128, 128, 1000000.f, 1.f},   // Qwen3 k
        {cpu::RopeStyle::Normal, 8, 64, 64, 10000.f, 1.f},
        {cpu::RopeStyle::Neox, 3, 64, 32, 10000.f, 0.25f},     // partial, linear scaling
        {cpu::RopeStyle::Normal, 5, 80, 22, 500000.f, 0.5f},
        {cpu::RopeStyle::Neox, 64, 64, 64, 150000.f, 1.f / 32},  // YaRN as gpt-oss (below)
        {cpu::RopeStyle::Normal, 2, 128, 128, 500000.f, 1.f},   // rope_freqs as Llama 4 (below)
    };
    const std::vector<std::int32_t> positions = {0, 1, 2, 17, 511, 4000, 123};
    const std::uint32_t tokens = std::uint32_t(positions.size());
    for (const Case& c : cases) {
        CAPTURE(c.head_dim);
        CAPTURE(c.rot_dims);
        cpu::RopeParams params{c.style, c.rot_dims, c.base, c.scale};
        if (c.scale == 1.f / 32) {  // gpt-oss: YaRN factor 32 over 4096 positions, betas 32 / 1
            const cpu::YarnCorrDims d = cpu::yarn_corr_dims(c.rot_dims, 4096, c.base, 32.f, 1.f);
            CHECK(d.low == 8.f);  // floor(8.09), ceil(17.4): the pairs YaRN ramps over
            CHECK(d.high == 18.f);
            params.ext_factor = 1.f;
            params.corr_low = d.low;
            params.corr_high = d.high;
            params.mscale = 1.f + 0.1f * std::log(32.f);
        }
        std::vector<float> factors;  // Llama 4: per-pair frequency divisors
        if (c.base == 500000.f) {
            factors = test::random_normal(std::size_t(c.rot_dims / 2), 9);
            for (float& f : factors) f = 1.f + std::abs(f) * 4.f;
            params.freq_factors = factors;
        }
        vk::Buffer dfactors = test::device_buffer(device, factors.empty() ? std::vector<float>{1.f} : factors, "factors");
        const std::size_t row = std::size_t(c.n_heads) * c.head_dim;
        const auto x = test::random_normal(row * tokens, c.n_heads + c.head_dim);
        std::vector<float> want = x;
        for (std::uint32_t t = 0; t < tokens; ++t)
            cpu::rope(std::span(want).subspan(t * row, row), int(c.n_heads), int(c.head_dim), positions[t], params);
        vk::Buffer dx = test::device_buffer(device, x, "x"), dp = test::device_buffer(device, positions, "positions");
        test::run_once(device, [&](vk::CommandBuffer& cmd) {
            ops.rope(cmd, {.x = dx, .positions = dp, .tokens = tokens, .n_heads = c.n_heads, .head_dim = c.head_dim,
                           .params = params,
                           .freq_factors = factors.empty() ? std::nullopt : std::optional<vk::BufferBinding>(dfactors)});
        });
        const auto got = test::read_back<float>(device, dx, x.size());
        const double e = test::nmse(got, want);
        MESSAGE("rope hd=" << c.head_dim << " rot=" << c.rot_dims << " nmse=" << e);
        CHECK(e <= kRopeBound);
        // Dims past rot_dims are copied through untouched.
        for (std::uint32_t t = 0; t < tokens; ++t)
            for (std::uint32_t h = 0; h < c.n_heads; ++h)
                for (std::uint32_t i = std::uint32_t(c.rot_dims); i < c.head_dim; ++i)
                    CHECK(got[t * row + h * c.head_dim + i] == x[t * row + h * c.head_dim + i]);
    }
}

TEST_CASE("block ops refuse shapes they cannot run, naming the problem") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    kernels::BlockOps ops(device);
    vk::Buffer small = test::device_scratch(device, 64, "small");
    vk::CommandBuffer cmd(device, vk::QueueKind::Compute);
    cmd.begin();
    CHECK_THROWS_WITH_AS(ops.rms_norm(cmd, {.x = small, .weight = small, .y = small, .n = 2048}),
                         doctest::Contains("'small'"), Error);
    CHECK_THROWS_WITH_AS(ops.rope(cmd, {.x = small, .positions = small, .n_heads = 1, .head_dim = 8,
                                        .params = {cpu::RopeStyle::Neox, 3, 10000.f, 1.f}}),
                         doctest::Contains("rot_dims 3"), Error);
    cmd.submit();
    cmd.wait();
}

// The linear-attention (gated DeltaNet) kernels against their CPU references: the causal
// conv1d with its rolling state (cpu::ssm_conv), the delta rule over a batch of tokens
// (cpu::delta_rule_step token after token, L2 norms included) with its state carried
// from one call to the next, both head pairings, and the column gather.
#include "test_ops_util.h"

#include "base/error.h"
#include "cpu/delta_net.h"

#include <doctest/doctest.h>

using namespace ferry;

namespace {

// Measured on lavapipe: conv <= 1.4e-14, delta rule <= 1.1e-13 (F32 sums over k_dim in
// the same order as the reference, exp/log of the gates). Room for other drivers' exp
// and fused multiply-adds, nothing more.
constexpr double kConvBound = 1e-12;
constexpr double kDeltaBound = 1e-10;

}  // namespace

TEST_CASE("ssm_conv matches the CPU reference and carries its state across calls") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    kernels::BlockOps ops(device);
    struct Shape {
        std::uint32_t channels, kernel, first, second, stride;
    };
    for (Shape s : {Shape{640, 4, 5, 1, 640}, Shape{33, 4, 1, 1, 40}, Shape{8192, 4, 37, 3, 8192},
                    Shape{7, 2, 3, 2, 7}, Shape{5, 1, 2, 2, 5}}) {
        CAPTURE(s.channels);
        CAPTURE(s.kernel);
        const auto weight = test::random_normal(std::size_t(s.channels) * s.kernel, s.channels, 0.5f);
        std::vector<float> state(std::size_t(s.channels) * (s.kernel - 1), 0.f);
        vk::Buffer dw = test::device_buffer(device, weight, "weight");
        vk::Buffer ds = test::device_buffer(device, test::random_normal(std::max<std::size_t>(state.size(), 1), 9),
                                            "state (garbage: the first call is fresh)");
        for (std::uint32_t call = 0; call < 2; ++call) {
            const std::uint32_t T = call == 0 ? s.first : s.second;
            CAPTURE(T);
            auto x = test::random_normal(std::size_t(T) * s.stride, s.channels + call, 2.f);
            std::vector<float> want;  // the channels of every token, through the reference
            for (std::uint32_t t = 0; t < T; ++t)
                want.insert(want.end(), x.begin() + std::ptrdiff_t(t) * s.stride,
                            x.begin() + std::ptrdiff_t(t) * s.stride + s.channels);
            cpu::ssm_conv(want, T, s.channels, weight, s.kernel, state);
            vk::Buffer dx = test::device_buffer(device, x, "x");
            test::run_once(device, [&](vk::CommandBuffer& cmd) {
                ops.ssm_conv(cmd, {.x = dx, .weight = dw, .state = ds, .tokens = T, .channels = s.channels,
                                   .kernel = s.kernel, .x_stride = s.stride, .fresh = call == 0});
            });
            const auto got_all = test::read_back<float>(device, dx, x.size());
            std::vector<float> got;
            for (std::uint32_t t = 0; t < T; ++t) {
                got.insert(got.end(), got_all.begin() + std::ptrdiff_t(t) * s.stride,
                           got_all.begin() + std::ptrdiff_t(t) * s.stride + s.channels);
                for (std::uint32_t c = s.channels; c < s.stride; ++c)  // the gap stays as it was
                    CHECK(got_all[std::size_t(t) * s.stride + c] == x[std::size_t(t) * s.stride + c]);
            }
            const double err = test::nmse(got, want);
            MESSAGE("ssm_conv nmse=" << err);
            CHECK(err <= kConvBound);
            if (!state.empty()) CHECK(test::nmse(test::read_back<float>(device, ds, state.size()), state) <= kConvBound);
        }
    }
    vk::Buffer small = test::device_buffer(device, std::vector<float>(64), "x");
    test::run_once(device, [&](vk::CommandBuffer& cmd) {
        CHECK_THROWS_WITH_AS(ops.ssm_conv(cmd, {.x = small, .weight = small, .state = small, .channels = 4, .kernel = 9}),
                             doctest::Contains("kernel of 9 taps"), Error);
        CHECK_THROWS_WITH_AS(ops.ssm_conv(cmd, {.x = small, .weight = small, .state = small, .tokens = 2,
                                                .channels = 40, .kernel = 4}),
                             doctest::Contains("needs"), Error);
    });
}

TEST_CASE("delta_net matches the CPU delta rule token by token, state carried, both head pairings") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    for (const kernels::BlockOpsOptions& options : test::kWorkgroupChoices) {
        kernels::BlockOps ops(device, options);
        struct Shape {
            cpu::DeltaNetShape shape;
            std::uint32_t first, second, extra_stride;
        };
        const Shape shapes[] = {
            {{.k_heads = 2, .v_heads = 6, .k_dim = 64, .v_dim = 64, .grouped = false}, 130, 1, 0},
            {{.k_heads = 2, .v_heads = 6, .k_dim = 64, .v_dim = 64, .grouped = true}, 1, 5, 3},
            {{.k_heads = 16, .v_heads = 32, .k_dim = 128, .v_dim = 128, .grouped = false}, 3, 1, 0},
            {{.k_heads = 3, .v_heads = 3, .k_dim = 20, .v_dim = 9, .grouped = true}, 4, 4, 1},
        };
        for (const Shape& s : shapes) {
            const cpu::DeltaNetShape& sh = s.shape;
            CAPTURE(sh.v_heads);
            CAPTURE(sh.grouped);
            const std::uint32_t width = sh.mix_width(), stride = width + s.extra_stride, Hv = sh.v_heads;
            const auto dt_bias = test::random_normal(Hv, 1);
            std::vector<float> a = test::random_normal(Hv, 2);
            for (float& v : a) v = -std::exp(v);  // as the GGUF stores it: −exp(A_log)
            std::vector<float> state(std::size_t(Hv) * sh.k_dim * sh.v_dim, 0.f);
            vk::Buffer ddt = test::device_buffer(device, dt_bias, "dt_bias"), da = test::device_buffer(device, a, "a");
            vk::Buffer dstate = test::device_buffer(device, test::random_normal(state.size(), 3), "state (garbage)");
            for (std::uint32_t call = 0; call < 2; ++call) {
                const std::uint32_t T = call == 0 ? s.first : s.second;
                CAPTURE(T);
                const auto mix = test::random_normal(std::size_t(T) * stride, 10 + call);
                const auto beta = test::random_normal(std::size_t(T) * Hv, 20 + call, 2.f);
                const auto alpha = test::random_normal(std::size_t(T) * Hv, 30 + call, 2.f);
                std::vector<float> want(std::size_t(T) * Hv * sh.v_dim);
                for (std::uint32_t t = 0; t < T; ++t)
                    cpu::delta_rule_step(std::span(mix).subspan(std::size_t(t) * stride, width),
                                         std::span(beta).subspan(std::size_t(t) * Hv, Hv),
                                         std::span(alpha).subspan(std::size_t(t) * Hv, Hv), dt_bias, a, sh, state,
                                         std::span(want).subspan(std::size_t(t) * Hv * sh.v_dim, Hv * sh.v_dim));
                vk::Buffer dmix = test::device_buffer(device, mix, "mix"), db = test::device_buffer(device, beta, "beta"),
                           dal = test::device_buffer(device, alpha, "alpha");
                vk::Buffer dout = test::device_scratch(device, want.size() * 4, "out");
                test::run_once(device, [&](vk::CommandBuffer& cmd) {
                    ops.delta_net(cmd, {.mix = dmix, .beta = db, .alpha = dal, .dt_bias = ddt, .a = da,
                                        .state = dstate, .out = dout, .tokens = T, .shape = sh,
                                        .mix_stride = stride, .fresh = call == 0});
                });
                const double err = test::nmse(test::read_back<float>(device, dout, want.size()), want);
                MESSAGE("delta_net nmse=" << err);
                CHECK(err <= kDeltaBound);
                CHECK(test::nmse(test::read_back<float>(device, dstate, state.size()), state) <= kDeltaBound);
            }
        }
    }
}

TEST_CASE("gather copies column blocks of every token's row") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    kernels::BlockOps ops(device);
    // A gated attention's q projection: 4 heads of [q 8 | gate 8] per token; take the gates.
    const std::uint32_t T = 3, heads = 4, D = 8, in_stride = 2 * heads * D, out_stride = heads * D + 5;
    const auto in = test::random_normal(std::size_t(T) * in_stride, 1);
    std::vector<float> want(std::size_t(T) * out_stride, 7.f);
    for (std::uint32_t t = 0; t < T; ++t)
        for (std::uint32_t h = 0; h < heads; ++h)
            for (std::uint32_t i = 0; i < D; ++i)
                want[t * out_stride + 5 + h * D + i] = in[t * in_stride + D + h * 2 * D + i];
    vk::Buffer din = test::device_buffer(device, in, "in"),
               dout = test::device_buffer(device, std::vector<float>(want.size(), 7.f), "out");
    test::run_once(device, [&](vk::CommandBuffer& cmd) {
        ops.gather(cmd, {.in = din, .out = dout, .tokens = T, .groups = heads, .len = D, .in_stride = in_stride,
                         .in_offset = D, .in_group_stride = 2 * D, .out_stride = out_stride, .out_offset = 5});
        CHECK_THROWS_WITH_AS(ops.gather(cmd, {.in = din, .out = dout, .tokens = T, .groups = heads, .len = D,
                                              .in_stride = in_stride, .in_offset = D + 1, .in_group_stride = 2 * D,
                                              .out_stride = out_stride}),
                             doctest::Contains("do not fit"), Error);
    });
    CHECK(test::read_back<float>(device, dout, want.size()) == want);
}

TEST_CASE("gather interleaves heads into a wider row (MLA's [rope | latent] query heads)") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    kernels::BlockOps ops(device);
    // 3 heads of [nope 8 | rope 4] in; each head's rope part goes to the front of a head
    // of 4 + 12 floats, the rest of the row untouched.
    const std::uint32_t T = 2, heads = 3, nope = 8, rope = 4, in_stride = heads * (nope + rope),
                        out_head = rope + 12, out_stride = heads * out_head;
    const auto in = test::random_normal(std::size_t(T) * in_stride, 2);
    std::vector<float> want(std::size_t(T) * out_stride, 7.f);
    for (std::uint32_t t = 0; t < T; ++t)
        for (std::uint32_t h = 0; h < heads; ++h)
            for (std::uint32_t i = 0; i < rope; ++i)
                want[t * out_stride + h * out_head + i] = in[t * in_stride + h * (nope + rope) + nope + i];
    vk::Buffer din = test::device_buffer(device, in, "in"),
               dout = test::device_buffer(device, std::vector<float>(want.size(), 7.f), "out");
    test::run_once(device, [&](vk::CommandBuffer& cmd) {
        ops.gather(cmd, {.in = din, .out = dout, .tokens = T, .groups = heads, .len = rope, .in_stride = in_stride,
                         .in_offset = nope, .in_group_stride = nope + rope, .out_stride = out_stride,
                         .out_offset = 0, .out_group_stride = out_head});
        CHECK_THROWS_WITH_AS(ops.gather(cmd, {.in = din, .out = dout, .tokens = T, .groups = heads, .len = rope,
                                              .in_stride = in_stride, .in_offset = nope,
                                              .in_group_stride = nope + rope, .out_stride = out_stride,
                                              .out_offset = 13, .out_group_stride = out_head}),
                             doctest::Contains("do not fit"), Error);
    });
    CHECK(test::read_back<float>(device, dout, want.size()) == want);
}

// shaders/elementwise.comp against the CPU reference (runtime/cpu/elementwise.h):
// upload -> dispatch -> download, sizes that are and are not multiples of the workgroup.
#include "cpu/elementwise.h"
#include "elementwise_gpu.h"
#include "support/vulkan_test_device.h"
#include "vk/barrier.h"
#include "vk/transfer.h"

#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

using namespace ferry;

namespace {

std::vector<float> random_floats(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-100.0f, 100.0f);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return v;
}

// Runs one op on the GPU: a, b uploaded, result read back through a readback buffer in
// the same submission as the dispatch.
std::vector<float> run_gpu(vk::Device& device, const vk::Pipeline& pipeline, std::uint32_t local_size,
                           const std::vector<float>& a, const std::vector<float>& b, float scale) {
    const std::uint64_t bytes = a.size() * sizeof(float);
    vk::Buffer da(device, bytes, vk::MemoryKind::DeviceLocal, "a");
    vk::Buffer db(device, bytes, vk::MemoryKind::DeviceLocal, "b");
    vk::Buffer dout(device, bytes, vk::MemoryKind::DeviceLocal, "out");
    vk::Buffer readback(device, bytes, vk::MemoryKind::Readback, "readback");
    vk::upload(device, da, std::span<const float>(a));
    vk::upload(device, db, std::span<const float>(b));

    const test::ElementwisePush push{static_cast<std::uint32_t>(a.size()), scale};
    vk::CommandBuffer cmd(device, vk::QueueKind::Compute);
    cmd.begin();
    cmd.dispatch({.pipeline = &pipeline,
                  .buffers = {da, db, dout},
                  .push = vk::push_bytes(push),
                  .groups = {vk::group_count(a.size(), local_size)}});
    vk::compute_to_transfer(cmd);
    cmd.copy(dout, readback);
    vk::transfer_to_host(cmd);
    cmd.submit();
    cmd.wait();
    readback.invalidate();
    const auto out = readback.as<const float>();
    return {out.begin(), out.end()};
}

}  // namespace

TEST_CASE("elementwise add, mul and scale match the CPU reference at awkward sizes") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    const float scale = 0.37f;
    for (std::uint32_t local_size : {64u, 256u}) {
        const auto add = test::elementwise_pipeline(device, "add", local_size);
        const auto mul = test::elementwise_pipeline(device, "mul", local_size);
        const auto scl = test::elementwise_pipeline(device, "scale", local_size);
        for (std::size_t n : {1u, 63u, 64u, 65u, 1000u, 4097u, 100003u}) {
            CAPTURE(local_size);
            CAPTURE(n);
            const auto a = random_floats(n, static_cast<std::uint32_t>(n));
            const auto b = random_floats(n, static_cast<std::uint32_t>(n) + 1);
            std::vector<float> want(n);

            cpu::add(a, b, want);
            CHECK(run_gpu(device, *add, local_size, a, b, scale) == want);
            cpu::mul(a, b, want);
            CHECK(run_gpu(device, *mul, local_size, a, b, scale) == want);
            cpu::scale(a, scale, want);
            CHECK(run_gpu(device, *scl, local_size, a, b, scale) == want);
        }
    }
}

// Gemma's logit soft-cap: tanh rounds differently on the GPU, so a bound instead of equality
// (|a| up to 100 with cap 30 covers the saturated ends; 3e-6 relative to the cap is a few ulps).
TEST_CASE("elementwise softcap matches cap * tanh(a / cap)") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    const float cap = 30.f;
    const auto softcap = test::elementwise_pipeline(device, "softcap", 64);
    for (std::size_t n : {1u, 65u, 4097u}) {
        CAPTURE(n);
        const auto a = random_floats(n, static_cast<std::uint32_t>(n) + 7);
        std::vector<float> want(n);
        cpu::softcap(a, cap, want);
        const auto got = run_gpu(device, *softcap, 64, a, a, cap);
        for (std::size_t i = 0; i < n; ++i) CHECK(std::abs(got[i] - want[i]) <= 3e-6f * cap);
    }
}

TEST_CASE("a dispatch writes no element past n") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    const auto add = test::elementwise_pipeline(device, "add", 64);
    constexpr std::uint32_t n = 70, capacity = 128;  // the second group covers 64..127
    std::vector<float> ones(capacity, 1.0f), sentinel(capacity, -7.0f);
    vk::Buffer a(device, capacity * 4, vk::MemoryKind::DeviceLocal, "a");
    vk::Buffer out(device, capacity * 4, vk::MemoryKind::DeviceLocal, "out");
    vk::upload(device, a, std::span<const float>(ones));
    vk::upload(device, out, std::span<const float>(sentinel));
    const test::ElementwisePush push{n, 0.0f};
    vk::CommandBuffer cmd(device, vk::QueueKind::Compute);
    cmd.begin();
    cmd.dispatch({.pipeline = add.get(),
                  .buffers = {a, a, out},
                  .push = vk::push_bytes(push),
                  .groups = {vk::group_count(n, 64)}});
    cmd.submit();
    cmd.wait();
    std::vector<float> got(capacity);
    vk::download(device, out, std::span<float>(got));
    for (std::uint32_t i = 0; i < capacity; ++i) {
        CAPTURE(i);
        CHECK(got[i] == (i < n ? 2.0f : -7.0f));
    }
}

TEST_CASE("a dispatch with the wrong number of buffers or push bytes is refused before recording") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    const auto add = test::elementwise_pipeline(device, "add", 64);
    vk::Buffer a(device, 256, vk::MemoryKind::DeviceLocal, "a");
    const test::ElementwisePush push{64, 0.0f};
    vk::CommandBuffer cmd(device, vk::QueueKind::Compute);
    cmd.begin();
    CHECK_THROWS_AS(cmd.dispatch({.pipeline = add.get(), .buffers = {a, a}, .push = vk::push_bytes(push)}),
                    std::logic_error);
    const std::uint32_t short_push = 1;
    CHECK_THROWS_AS(
        cmd.dispatch({.pipeline = add.get(), .buffers = {a, a, a}, .push = vk::push_bytes(short_push)}),
        std::logic_error);
    cmd.submit();
    cmd.wait();
    CHECK_THROWS_WITH_AS(vk::Pipeline(device, {.shader = "no_such_shader"}),
                         doctest::Contains("no_such_shader"), Error);
}

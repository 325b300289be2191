// Copies on the transfer queue, ordered against compute by timeline semaphores.
#include "elementwise_gpu.h"
#include "support/vulkan_test_device.h"
#include "vk/barrier.h"
#include "vk/copy_rate.h"
#include "vk/transfer.h"

#include <doctest/doctest.h>

#include <numeric>
#include <stdexcept>
#include <vector>

using namespace ferry;

TEST_CASE("an upload on the transfer queue, then a dispatch that waits for its timeline value") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    constexpr std::uint32_t n = 3000;
    const auto scale = test::elementwise_pipeline(device, "scale", 64);

    vk::Buffer staging(device, n * 4, vk::MemoryKind::Staging, "staging");
    vk::Buffer input(device, n * 4, vk::MemoryKind::DeviceLocal, "input");
    vk::Buffer output(device, n * 4, vk::MemoryKind::DeviceLocal, "output");
    vk::Buffer readback(device, n * 4, vk::MemoryKind::Readback, "readback");
    auto host = staging.as<float>();
    std::iota(host.begin(), host.end(), 1.0f);

    vk::Timeline uploads(device), compute(device);
    vk::CommandBuffer copy(device, vk::QueueKind::Transfer);
    copy.begin();
    copy.copy(staging, input);
    const std::uint64_t uploaded = uploads.next();
    copy.submit({.waits = {}, .signals = {{&uploads, uploaded}}});

    vk::CommandBuffer cmd(device, vk::QueueKind::Compute);
    cmd.begin();
    const test::ElementwisePush push{n, 2.0f};
    cmd.dispatch({.pipeline = scale.get(),
                  .buffers = {input, input, output},
                  .push = vk::push_bytes(push),
                  .groups = {vk::group_count(n, 64)}});
    vk::compute_to_transfer(cmd);
    cmd.copy(output, readback);
    vk::transfer_to_host(cmd);
    const std::uint64_t done = compute.next();
    cmd.submit({.waits = {{&uploads, uploaded, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT}},
                .signals = {{&compute, done}}});

    compute.wait(done, "elementwise scale");
    CHECK(uploads.value() >= uploaded);
    readback.invalidate();
    const auto out = readback.as<const float>();
    for (std::uint32_t i = 0; i < n; ++i) {
        CAPTURE(i);
        REQUIRE(out[i] == 2.0f * static_cast<float>(i + 1));
    }
}

TEST_CASE("a download waits for the compute submission that wrote its source") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    constexpr std::uint32_t n = 513;
    const auto add = test::elementwise_pipeline(device, "add", 64);
    std::vector<float> a(n);
    std::iota(a.begin(), a.end(), -100.0f);
    vk::Buffer in(device, n * 4, vk::MemoryKind::DeviceLocal, "in");
    vk::Buffer out(device, n * 4, vk::MemoryKind::DeviceLocal, "out");
    vk::upload(device, in, std::span<const float>(a));

    vk::Timeline compute(device);
    vk::CommandBuffer cmd(device, vk::QueueKind::Compute);
    cmd.begin();
    const test::ElementwisePush push{n, 0.0f};
    cmd.dispatch({.pipeline = add.get(),
                  .buffers = {in, in, out},
                  .push = vk::push_bytes(push),
                  .groups = {vk::group_count(n, 64)}});
    const std::uint64_t written = compute.next();
    cmd.submit({.waits = {}, .signals = {{&compute, written}}});

    // No host wait in between: the transfer queue orders itself after the dispatch.
    std::vector<float> got(n);
    vk::download(device, out, std::span<float>(got), 0,
                 {{.timeline = &compute, .value = written, .stages = VK_PIPELINE_STAGE_TRANSFER_BIT}});
    for (std::uint32_t i = 0; i < n; ++i) {
        CAPTURE(i);
        REQUIRE(got[i] == 2.0f * a[i]);
    }
}

TEST_CASE("time_copies runs the steps in order and reports a plausible time") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    constexpr std::uint64_t bytes = 4u << 20;
    vk::Buffer staging(device, bytes, vk::MemoryKind::Staging, "staging");
    vk::Buffer middle(device, bytes, vk::MemoryKind::DeviceLocal, "middle");
    vk::Buffer readback(device, bytes, vk::MemoryKind::Readback, "readback");
    auto host = staging.as<std::uint32_t>();
    std::iota(host.begin(), host.end(), 7u);
    const vk::CopyStep steps[] = {{&staging, &middle}, {&middle, &readback, {0, 0, bytes / 2}}};
    for (vk::QueueKind queue : {vk::QueueKind::Transfer, vk::QueueKind::Compute}) {
        const vk::CopyTiming t = vk::time_copies(device, queue, steps, 2);
        CHECK(t.seconds > 0);
        CHECK(t.seconds < 10);
        readback.invalidate();
        const auto out = readback.as<std::uint32_t>();
        CHECK(out[0] == 7u);
        CHECK(out[bytes / 8 - 1] == 7u + bytes / 8 - 1);  // the last word of the half copied
    }
    CHECK_THROWS_AS(vk::time_copies(device, vk::QueueKind::Transfer, steps, 0), std::logic_error);
}

// GPU timestamps (vk::Timestamps): a copy timed on the device agrees with the same copy
// timed on the host, queries are reset and reused, and both reset paths (host reset and
// vkCmdResetQueryPool) keep the validation layer clean.
#include "support/vulkan_test_device.h"
#include "vk/timestamps.h"

#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstring>

using namespace ferry;

namespace {

constexpr std::uint64_t kCopyBytes = 16ull << 20;

struct Timed {
    double gpu_s = 0;
    double host_s = 0;
};

// One copy of `src` into `dst` between two timestamps (queries 0 and 1); the host times
// submit to wait around it.
Timed time_copy(vk::Device& device, vk::QueueKind kind, vk::Timestamps& ts, const vk::Buffer& src,
                const vk::Buffer& dst) {
    vk::CommandBuffer cmd(device, kind);
    cmd.begin();
    ts.reset(cmd, 0, 2);
    // After a host reset the queries read as not written until the GPU writes them.
    if (device.features().host_query_reset) CHECK_FALSE(ts.read(0, 2).has_value());
    ts.write(cmd, 0, VK_PIPELINE_STAGE_TRANSFER_BIT);
    cmd.copy(src, dst);
    ts.write(cmd, 1, VK_PIPELINE_STAGE_TRANSFER_BIT);
    const auto t0 = std::chrono::steady_clock::now();
    cmd.submit();
    cmd.wait();
    Timed t;
    t.host_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto ticks = ts.read(0, 2);
    REQUIRE(ticks.has_value());  // the submission finished: both queries are written
    CHECK((*ticks)[1] >= (*ticks)[0]);
    const std::optional<double> s = ts.seconds(0, 1);
    REQUIRE(s.has_value());
    t.gpu_s = *s;
    return t;
}

void check_rate(const Timed& t) {
    CAPTURE(t.gpu_s);
    CAPTURE(t.host_s);
    CHECK(std::isfinite(t.gpu_s));
    CHECK(t.gpu_s > 0);
    CHECK(t.gpu_s < 60);  // 16 MiB: anything near this is a unit error, not a slow driver
    // A loose sanity bound, not a speed test: the device-timed rate is the host-timed one
    // without submit and wake-up overhead, so within a wide factor of it.
    const double gpu_rate = double(kCopyBytes) / t.gpu_s, host_rate = double(kCopyBytes) / t.host_s;
    CHECK(gpu_rate > 0.05 * host_rate);
    CHECK(gpu_rate < 20 * host_rate);
}

}  // namespace

TEST_CASE("timestamps time a 16 MiB upload on the transfer queue close to the host-timed rate") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::Device& device = gpu.device();
    if (!vk::Timestamps::supported(device, vk::QueueKind::Transfer)) {
        MESSAGE("SKIPPED: ", device.info().name, " has no timestamps on its transfer queue");
        return;
    }
    vk::Buffer staging(device, kCopyBytes, vk::MemoryKind::Staging, "staging");
    vk::Buffer vram(device, kCopyBytes, vk::MemoryKind::DeviceLocal, "vram");
    std::memset(staging.bytes().data(), 0x5a, kCopyBytes);
    vk::Timestamps ts(device, vk::QueueKind::Transfer, 2);
    CHECK(ts.count() == 2);
    CHECK(ts.period_ns() > 0);
    time_copy(device, vk::QueueKind::Transfer, ts, staging, vram);  // first touch of the pages
    // The same queries again: reset makes them writable a second time.
    check_rate(time_copy(device, vk::QueueKind::Transfer, ts, staging, vram));
    CHECK_THROWS_AS(ts.read(1, 2), std::logic_error);
}

TEST_CASE("without host query reset, timestamps reset by command on a compute-capable queue") {
    test::GpuTest gpu;
    if (!gpu) return;
    vk::DeviceOptions options;
    options.apply_env();
    options.disable("query_reset");
    vk::Device device(gpu.instance(), options);
    CHECK_FALSE(device.features().host_query_reset);
    // vkCmdResetQueryPool needs compute (or graphics): a transfer-only queue has no timestamps now.
    const bool transfer_compute = device.transfer_queue().supports_compute();
    if (!vk::Timestamps::supported(device, vk::QueueKind::Compute)) {
        MESSAGE("SKIPPED: ", device.info().name, " has no timestamps on its compute queue");
        return;
    }
    CHECK(vk::Timestamps::supported(device, vk::QueueKind::Transfer) == transfer_compute);
    vk::Buffer staging(device, kCopyBytes, vk::MemoryKind::Staging, "staging");
    vk::Buffer vram(device, kCopyBytes, vk::MemoryKind::DeviceLocal, "vram");
    std::memset(staging.bytes().data(), 0x33, kCopyBytes);
    vk::Timestamps ts(device, vk::QueueKind::Compute, 2);
    time_copy(device, vk::QueueKind::Compute, ts, staging, vram);
    check_rate(time_copy(device, vk::QueueKind::Compute, ts, staging, vram));
}

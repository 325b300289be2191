#pragma once
// GPU timestamps: a VkQueryPool of TIMESTAMP queries, for how long work took on the device
// itself (no host scheduling in it). ExpertOffload times each upload batch with a pair,
// which is how the real host -> device link rate is measured while running.
//
//   if (vk::Timestamps::supported(device, vk::QueueKind::Transfer)) {
//       vk::Timestamps ts(device, vk::QueueKind::Transfer, 2);
//       cmd.begin();
//       ts.reset(cmd, 0, 2);
//       ts.write(cmd, 0, VK_PIPELINE_STAGE_TRANSFER_BIT);
//       cmd.copy(staging, vram);
//       ts.write(cmd, 1, VK_PIPELINE_STAGE_TRANSFER_BIT);
//       cmd.submit();
//       cmd.wait();
//       const std::optional<double> s = ts.seconds(0, 1);  // nullopt until both are written
//   }
//
// Reset: vkCmdResetQueryPool is a graphics/compute command (the registry lists no transfer
// queue for it), so a transfer-only queue resets on the host (vkResetQueryPool, the Vulkan
// 1.2 hostQueryReset feature, which Device enables where the driver has it).
#include "vk/command.h"
#include "vk/device.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace ferry::vk {

class Timestamps {
public:
    // Whether timestamps work on `queue`: its family has timestampValidBits > 0, the
    // device a positive finite timestampPeriod, and there is a way to reset queries there
    // (host reset, or a queue with compute). Callers that get false measure nothing.
    static bool supported(Device& device, QueueKind queue);

    // `count` queries for command buffers of `queue`. Throws std::logic_error where
    // supported() is false.
    Timestamps(Device& device, QueueKind queue, std::uint32_t count);
    // The queries must no longer be in use by submitted work.
    ~Timestamps();
    Timestamps(const Timestamps&) = delete;
    Timestamps& operator=(const Timestamps&) = delete;

    std::uint32_t count() const { return count_; }
    // Makes queries [first, first + count) unwritten, before write() may use them again.
    // With hostQueryReset this happens on the host at once (work that wrote them must
    // have finished, e.g. the command buffer's previous submission); else it is recorded
    // into `cmd`.
    void reset(CommandBuffer& cmd, std::uint32_t first, std::uint32_t count);
    // Records: query `query` gets the time at which all earlier commands on the queue
    // have finished `stage`.
    void write(CommandBuffer& cmd, std::uint32_t query, VkPipelineStageFlagBits stage);
    // Ticks of queries [first, first + count), masked to the family's valid bits; nullopt
    // while any of them is not written yet (never waits).
    std::optional<std::vector<std::uint64_t>> read(std::uint32_t first, std::uint32_t count) const;
    // Seconds from query `from` to query `to` (a later write); nullopt until both exist.
    std::optional<double> seconds(std::uint32_t from, std::uint32_t to) const;
    // Ticks to seconds (timestampPeriod ns per tick).
    double to_seconds(std::uint64_t ticks) const { return double(ticks) * period_ns_ * 1e-9; }
    double period_ns() const { return period_ns_; }

private:
    Device& device_;
    Queue& queue_;
    std::uint32_t count_;
    double period_ns_ = 0;
    std::uint64_t mask_ = 0;  // timestampValidBits low bits
    bool host_reset_ = false;
    VkQueryPool pool_ = VK_NULL_HANDLE;
};

}  // namespace ferry::vk

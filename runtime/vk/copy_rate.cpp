#include "vk/copy_rate.h"

#include "base/timing.h"
#include "vk/barrier.h"
#include "vk/timestamps.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <stdexcept>

namespace ferry::vk {

CopyTiming time_copies(Device& device, QueueKind queue, std::span<const CopyStep> steps, int rounds) {
    if (steps.empty() || rounds < 1) throw std::logic_error("time_copies: no steps or no rounds");
    CommandBuffer cmd(device, queue);
    std::optional<Timestamps> timer;
    if (Timestamps::supported(device, queue)) timer.emplace(device, queue, 2);
    CopyTiming best{.seconds = 1e30, .gpu_timed = timer.has_value()};
    for (int i = 0; i <= rounds; ++i) {  // round 0 warms up (first touch, clocks)
        cmd.begin();
        if (timer) {
            timer->reset(cmd, 0, 2);
            timer->write(cmd, 0, VK_PIPELINE_STAGE_TRANSFER_BIT);
        }
        for (std::size_t s = 0; s < steps.size(); ++s) {
            if (s > 0) transfer_to_transfer(cmd);
            cmd.copy(*steps[s].src, *steps[s].dst, steps[s].region);
        }
        if (timer) timer->write(cmd, 1, VK_PIPELINE_STAGE_TRANSFER_BIT);
        const auto t0 = std::chrono::steady_clock::now();
        cmd.submit();
        cmd.wait();
        const double host_s = seconds_since(t0);
        const std::optional<double> gpu_s = timer ? timer->seconds(0, 1) : std::nullopt;
        if (i > 0) best.seconds = std::min(best.seconds, gpu_s && *gpu_s > 0 ? *gpu_s : host_s);
    }
    best.seconds = std::max(best.seconds, 1e-9);
    return best;
}

}  // namespace ferry::vk

#pragma once
// Timing buffer copies on a queue: the one loop behind every link or memory bandwidth probe
// (ferry bench's device copy bound, the offload engine's host -> device rate at start,
// bench_offload's upload bound). GPU-timed where the queue has timestamps, so submission
// latency stays out of small copies; host-timed otherwise.
#include "vk/buffer.h"
#include "vk/command.h"
#include "vk/device.h"

#include <span>

namespace ferry::vk {

struct CopyStep {
    const Buffer* src = nullptr;
    const Buffer* dst = nullptr;
    CopyRegion region = {};
};

struct CopyTiming {
    double seconds = 0;      // the fastest round
    bool gpu_timed = false;  // measured with GPU timestamps
};

// Records `steps` in order (a transfer barrier between steps) into one submission on
// `queue`, runs it once to warm up and `rounds` (>= 1) more times, and returns the fastest.
CopyTiming time_copies(Device& device, QueueKind queue, std::span<const CopyStep> steps, int rounds);

}  // namespace ferry::vk

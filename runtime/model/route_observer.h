#pragma once
// A callback that sees every router decision of a forward pass: (MoE layer, token
// position, chosen experts with their weights), in execution order. Routing traces
// (--trace-out) and tests comparing the GPU's routing with the CPU reference use it.
#include "cpu/reference_ops.h"

#include <cstdint>
#include <functional>
#include <span>

namespace ferry::model {

using RouteObserver =
    std::function<void(std::uint32_t layer, std::uint32_t position, const cpu::RouterChoice&)>;

// Sees each prediction the offload prefetcher acts on: the experts it expects `layer` to
// choose at token `position`, before that router runs (decode, when offloading).
using PredictionObserver =
    std::function<void(std::uint32_t layer, std::uint32_t position, std::span<const std::uint32_t> experts)>;

}  // namespace ferry::model

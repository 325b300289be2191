#pragma once
// Start-up measurement of how fast this machine computes routed experts on the CPU, the
// cpu_bytes_per_s of offload/miss_cost.h. Timed work lives here, not in tests.
#include "offload/cpu_experts.h"

#include <cstdint>

namespace ferry::offload {

// Bytes of expert weights per second that add_experts reads for one decode token routed to
// top-k experts of `layer`: one warm-up run over all the layer's experts (pages them in),
// then the median of `repeats` timed runs (at least 1). Each run takes the next k experts
// in turn, so repeats do not simply re-read what the last one left in the CPU cache; when a
// layer's experts all fit in the cache (small models) the figure is an upper bound on the
// rate from RAM. Takes about (n_experts + repeats·k) expert computations.
double measure_cpu_expert_rate(CpuExperts& experts, std::uint32_t layer, int repeats);

}  // namespace ferry::offload

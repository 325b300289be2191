#pragma once
// The expert-cache lines of --stats (run, chat's /stats, bench): hit rate, bytes uploaded
// per token, time compute waited for uploads, prefetch and prediction accuracy, CPU misses,
// and the host -> device link rate the GPU measured for the uploads.
#include "offload/expert_offload.h"

#include <cstdint>
#include <string>

namespace ferry::app {

// Lines (each ending in '\n') describing `stats` for a run of `tokens` tokens.
std::string offload_report(const offload::OffloadStats& stats, std::uint64_t tokens);

}  // namespace ferry::app

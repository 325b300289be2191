#pragma once
// GET /metrics: Prometheus text format (version 0.0.4) from the server's request counts
// and the engine's counters.
#include "serve/engine.h"

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace ferry::serve {

class RequestCounter {
public:
    // route: one of the server's paths or "other" (so the label set stays small).
    void count(const std::string& route, int status);
    std::map<std::pair<std::string, int>, std::uint64_t> snapshot() const;

private:
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, int>, std::uint64_t> counts_;
};

std::string prometheus_text(const std::map<std::pair<std::string, int>, std::uint64_t>& requests,
                            const EngineStats& engine);

}  // namespace ferry::serve

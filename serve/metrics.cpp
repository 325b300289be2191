#include "serve/metrics.h"

#include <fmt/core.h>

namespace ferry::serve {

void RequestCounter::count(const std::string& route, int status) {
    std::lock_guard lock(mutex_);
    ++counts_[{route, status}];
}

std::map<std::pair<std::string, int>, std::uint64_t> RequestCounter::snapshot() const {
    std::lock_guard lock(mutex_);
    return counts_;
}

namespace {

void metric(std::string& out, const char* name, const char* type, const char* help, double value) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help, type, value);
}

double rate(double tokens, double seconds) {
    return seconds > 0 ? tokens / seconds : 0;
}

}  // namespace

std::string prometheus_text(const std::map<std::pair<std::string, int>, std::uint64_t>& requests,
                            const EngineStats& e) {
    std::string out;
    out +=
        "# HELP ferry_requests_total HTTP requests answered, by route and status.\n"
        "# TYPE ferry_requests_total counter\n";
    for (const auto& [key, n] : requests)
        out +=
            fmt::format("ferry_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", key.first, key.second, n);
    metric(out, "ferry_generations_finished_total", "counter", "Generations that ran to a stop or a limit.",
           double(e.requests_finished));
    metric(out, "ferry_generations_cancelled_total", "counter",
           "Generations stopped because the client went away (or the server shut down).",
           double(e.requests_cancelled));
    metric(out, "ferry_generations_failed_total", "counter", "Generations ended by an internal error.",
           double(e.requests_failed));
    metric(out, "ferry_prompt_tokens_total", "counter", "Prompt tokens of finished generations.",
           double(e.prompt_tokens));
    metric(out, "ferry_prompt_tokens_cached_total", "counter", "Of those, reused from a sequence's KV cache.",
           double(e.cached_tokens));
    metric(out, "ferry_prefill_tokens_total", "counter", "Tokens run through prefill.",
           double(e.prefilled_tokens));
    metric(out, "ferry_prefill_seconds_total", "counter", "Time spent in prefill.", e.prefill_seconds);
    metric(out, "ferry_generated_tokens_total", "counter", "Tokens generated and run.",
           double(e.generated_tokens));
    metric(out, "ferry_decode_seconds_total", "counter", "Time spent sampling and decoding.",
           e.decode_seconds);
    metric(out, "ferry_batched_decode_passes_total", "counter",
           "Decode passes that ran several sequences' tokens together (continuous batching).",
           double(e.batched_decode_passes));
    metric(out, "ferry_batched_decode_tokens_total", "counter", "Tokens decoded in those passes.",
           double(e.batched_decode_tokens));
    metric(out, "ferry_prefill_tokens_per_second", "gauge", "Prefill tokens per second since start.",
           rate(double(e.prefilled_tokens), e.prefill_seconds));
    metric(out, "ferry_decode_tokens_per_second", "gauge",
           "Decode tokens per second since start (one sequence's view).",
           rate(double(e.generated_tokens), e.decode_seconds));
    metric(out, "ferry_queue_depth", "gauge", "Requests waiting for a sequence.", double(e.queue_depth));
    metric(out, "ferry_active_requests", "gauge", "Requests holding a sequence.", double(e.active));
    metric(out, "ferry_parallel_sequences", "gauge", "Sequences (--parallel).", double(e.parallel));
    metric(out, "ferry_device_memory_bytes", "gauge",
           "Device-local bytes the model holds (weights, KV caches, work).", double(e.device_bytes));
    metric(out, "ferry_offloading", "gauge",
           "1 when routed experts are offloaded (the hit rate below is live).", e.offloading ? 1 : 0);
    metric(out, "ferry_expert_hits_total", "counter", "Chosen experts found in VRAM.", double(e.expert_hits));
    metric(out, "ferry_expert_misses_total", "counter", "Chosen experts copied in on demand.",
           double(e.expert_misses));
    const std::uint64_t uses = e.expert_hits + e.expert_misses;
    // Resident models have every expert in VRAM: their hit rate is 1 by definition.
    metric(out, "ferry_expert_hit_rate", "gauge", "Hits over expert uses (1 when every expert is resident).",
           e.offloading ? (uses ? double(e.expert_hits) / double(uses) : 0) : 1);
    metric(out, "ferry_bytes_uploaded_total", "counter", "Expert bytes copied host to device.",
           double(e.bytes_uploaded));
    return out;
}

}  // namespace ferry::serve

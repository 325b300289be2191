#pragma once
// Routing traces: which experts each MoE layer's router chose for each token.
//
// Two layouts are read (detected from the header's "format"):
//  * moe-routing-trace/v1 — the layout of ../shared/data/traces (one line per token, all
//    layers in it; see that folder's README).
//  * ferry-routing-trace/v1 — ferry's own compact layout, written by TraceWriter while the
//    runtime decodes (`--trace-out`) and by `ferry simulate --convert-to`. JSON Lines:
//      line 1: {"format":"ferry-routing-trace/v1","model":"...","n_experts":128,"top_k":8,
//               "layers":[0,1,...],"cross_layer":[0,1,...],"batched":false}
//      then one line per routing event, in execution order:
//               [token, layer_index, [expert ids...], [gate weights...]]
//      or, when a predictor was on, with the experts it predicted for that step (before the
//      router chose) as a fifth element: [token, layer_index, [ids], [weights], [predicted]].
//      Readers take the fifth element as a note and replay only the router's choice.
//    layer_index indexes "layers" (model layer ids); ids in the router's rank order;
//    weights are floats printed in their shortest exact form, so a file reads back to the
//    identical trace. A (token, layer) without a line is missing (like null in v1).
//    "cross_layer" lists the layer indices whose records are aligned token by token.
// A per-event line (not per token) lets the runtime stream events as they happen.
#include "scheduler/types.h"

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ferry::scheduler {

inline constexpr const char* kCompactFormat = "ferry-routing-trace/v1";
inline constexpr const char* kSharedFormat = "moe-routing-trace/v1";

struct TraceInfo {
    std::string model;
    std::uint32_t n_experts = 0;
    std::uint32_t top_k = 0;
    std::vector<std::uint32_t> layers;       // model layer ids, in execution order
    std::vector<std::uint32_t> cross_layer;  // indices into `layers` aligned token by token
    bool batched = false;                    // requests interleaved (continuous batching)
};

class Trace {
public:
    Trace() = default;
    explicit Trace(TraceInfo info);

    const TraceInfo& info() const { return info_; }
    Geometry geometry() const;
    std::uint32_t n_layers() const { return static_cast<std::uint32_t>(info_.layers.size()); }
    std::uint64_t n_tokens() const { return n_tokens_; }
    std::uint64_t n_entries() const;  // present (token, layer) entries

    // Appends a token; `per_layer[j]` is layer j's choice list or nullopt when missing.
    void add_token(const std::vector<std::optional<std::vector<Choice>>>& per_layer);
    // Sets (token, layer) directly, growing the token count; used by the compact reader.
    void set(std::uint64_t token, std::uint32_t layer, std::span<const Choice> chosen);

    bool has(std::uint64_t token, std::uint32_t layer) const;
    std::span<const Choice> at(std::uint64_t token, std::uint32_t layer) const;

    bool operator==(const Trace& other) const;

private:
    void grow(std::uint64_t tokens);
    TraceInfo info_;
    std::uint64_t n_tokens_ = 0;
    // Entry (t, j) is lists_[t * n_layers + j]; empty and !present_ means missing.
    std::vector<std::vector<Choice>> lists_;
    std::vector<std::uint8_t> present_;
};

// Reads either layout. Throws scheduler::Error "<path>:<line>: <what is wrong>".
Trace read_trace(const std::string& path);
Trace read_trace(std::istream& in, const std::string& name);

// Streams events in the compact layout (the runtime's --trace-out).
class TraceWriter {
public:
    TraceWriter(std::ostream& out, const TraceInfo& info);
    // `predicted`: the experts a predictor named for this step beforehand (may be empty).
    void write(const RouteEvent& event, std::span<const std::uint32_t> predicted = {});

private:
    std::ostream& out_;
};

// Writes a whole trace in the compact layout.
void write_trace(std::ostream& out, const Trace& trace);

}  // namespace ferry::scheduler

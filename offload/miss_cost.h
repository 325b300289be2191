#pragma once
// Where a layer's routed experts run for one step: the GPU computes the ones in VRAM (hits)
// and the misses copied over the bus; the CPU can compute misses straight from host memory
// while the GPU works (hybrid execution), and, when it is faster than the device at an
// expert FFN, hits too.
//
// Decode cost model, per layer and token, for m misses and g hits of b bytes each, with
// s expert slots per layer, when the CPU computes n_m of the misses and n_h of the hits:
//
//   cpu  = n == 0 ? 0 : cpu_fixed + n·b / cpu_rate               n = n_m + n_h
//   gpu  = (m − n_m)·b / upload_rate + passes·gpu_pass           passes = ⌈(m − n_m + g − n_h) / s⌉
//   finish = max(cpu, gpu), or cpu + gpu when the device computes on the host's own cores
//
// gpu_pass is one decode FFN pass over the top-k routes: the GPU kernels cover every route
// of a pass whether or not it is the GPU's, so moving one route to the CPU saves its copy,
// not compute, unless it saves a whole pass. cpu_fixed is what choosing the CPU at all
// costs the layer: one more submission and wait, the result upload. Copies and GPU compute
// are counted in sequence (the layer's experts wait for their copies).
//
// Auto picks the split with the smallest finish, preferring fewer CPU routes on ties, but
// keeps the all-GPU split unless the best finishes at least kCopyMargin sooner: a copy also
// warms the cache for the next tokens, which this one-token model does not see.
//
// Prefill is modelled per expert group: the CPU pays per token (cpu_fixed + Σ tokens·b /
// cpu_rate: its kernels re-read small blocks per token at best), the GPU once per expert
// (copy b / upload_rate if missing, then b / gpu_rate for the whole group).
//
// Rates start from measurements (or the defaults below) and follow observations through an
// exponential moving average, so the split adapts to the machine while running. Plain
// numbers only: the model layer times the work, the offload engine acts on the answer.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace ferry::offload {

enum class MissPolicy {
    Auto,  // the cost model decides per layer
    Copy,  // always copy misses to VRAM (the GPU computes every expert)
    Cpu,   // always compute misses on the CPU (hits stay on the GPU)
};

// "auto" | "copy" | "cpu"; anything else throws ferry::Error naming the valid values.
MissPolicy parse_miss_policy(std::string_view text);
std::string_view name(MissPolicy policy);

// What each side can do. The defaults are the figures of DESIGN.md (PCIe 3.0 x16,
// dual-channel DDR4, a GTX 1060-class card); measure.
struct MissRates {
    double upload_bytes_per_s = 12e9;  // host → VRAM copies of expert slices
    double cpu_bytes_per_s = 20e9;     // expert weights read by the CPU expert FFN
    double gpu_bytes_per_s = 190e9;    // expert weights read by the GPU expert FFN (prefill groups)
    double gpu_pass_s = 60e-6;         // one decode FFN pass over the top-k routes
    double cpu_fixed_s = 100e-6;       // per layer that uses the CPU path at all
    bool shared_cores = false;         // the device computes on the host's cores (lavapipe): times add
};

// How many routes of a layer the CPU computes.
struct CpuSplit {
    std::uint32_t misses = 0;  // of the experts not in VRAM (the rest are copied)
    std::uint32_t hits = 0;    // of the experts in VRAM (auto only, when the CPU is faster)
    std::uint32_t total() const { return misses + hits; }
    bool operator==(const CpuSplit&) const = default;
};

class MissCostModel {
public:
    // Relative gain a CPU split must bring over the all-GPU one (see above).
    static constexpr double kCopyMargin = 0.05;
    // Weight of each new observation in the moving average.
    static constexpr double kAlpha = 0.2;
    // Rate samples outside [kMinRate, kMaxRate] bytes/s are timer glitches, not the machine.
    static constexpr double kMinRate = 1e5;
    static constexpr double kMaxRate = 1e13;

    // Throws ferry::Error unless every rate and time is positive and finite (cpu_fixed_s >= 0).
    MissCostModel(MissRates initial, MissPolicy policy);

    // Decode: the split for a layer with `misses` and `hits` among its routes, each expert
    // `expert_bytes`, with `slots` (>= 1) expert slots. Copy → none, Cpu → every miss,
    // Auto → the split finishing soonest (above).
    CpuSplit decode_split(std::uint32_t misses, std::uint32_t hits, std::uint64_t expert_bytes,
                          std::uint32_t slots) const;
    // Whether experts are worth copying ahead of use (prefetch) or behind it (after the CPU
    // served a miss): false where, with every one of a layer's `routes` cached in one pass,
    // auto would still give some to the CPU, i.e. the CPU beats the device even at cached
    // experts (lavapipe does: its shaders run on the same cores, slower than native code).
    bool gpu_worth_caching(std::uint32_t routes, std::uint64_t expert_bytes) const;
    // The layer's decode finish time in seconds under `split`.
    double decode_seconds(CpuSplit split, std::uint32_t misses, std::uint32_t hits,
                          std::uint64_t expert_bytes, std::uint32_t slots) const;

    // Prefill: the split for a layer whose missing experts are used by miss_tokens[i] tokens
    // and whose resident ones by hit_tokens[i], each list sorted ascending by the caller
    // (the CPU takes the least-used ones of each). Copy → none, Cpu → every miss, Auto →
    // the split finishing soonest, with the same margin.
    CpuSplit prefill_split(std::span<const std::uint32_t> miss_tokens,
                           std::span<const std::uint32_t> hit_tokens, std::uint64_t expert_bytes) const;
    double prefill_seconds(CpuSplit split, std::span<const std::uint32_t> miss_tokens,
                           std::span<const std::uint32_t> hit_tokens, std::uint64_t expert_bytes) const;

    // Measured samples: `bytes` of expert weights copied (or computed on the CPU, the CPU's
    // expert FFN alone) in `seconds`. Non-positive, non-finite or absurd samples are ignored.
    void observe_upload(std::uint64_t bytes, double seconds);
    void observe_cpu(std::uint64_t bytes, double seconds);
    // The CPU path's fixed cost of one layer (extra submission and wait, result upload).
    void observe_cpu_fixed(double seconds);
    // One decode FFN pass on the GPU.
    void observe_gpu_pass(double seconds);
    // A prefill chunk on the GPU: `bytes` of expert weights (its experts) in `seconds`.
    void observe_gpu_prefill(std::uint64_t bytes, double seconds);

    const MissRates& rates() const { return rates_; }
    MissPolicy policy() const { return policy_; }

private:
    double combine(double cpu, double gpu) const;
    // Prefill finish time for n_m of m misses and n_h of g hits on the CPU, whose experts
    // are used by cpu_tokens tokens in all.
    double prefill_cost(std::size_t n_m, std::size_t n_h, std::size_t m, std::size_t g, double cpu_tokens,
                        std::uint64_t expert_bytes) const;

    MissRates rates_;
    MissPolicy policy_;
};

}  // namespace ferry::offload

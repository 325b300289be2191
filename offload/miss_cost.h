#pragma once
// What to do with a layer's experts that are not in VRAM (misses) for one decode token:
// copy them over the bus and compute them on the GPU, or compute them on the CPU straight
// from host memory while the GPU computes the cached ones (hybrid execution).
//
// The cost model, per layer, for m misses of b bytes each, g experts computed on the GPU
// anyway (hits), and n of the misses given to the CPU:
//
//   cpu(n) = n == 0 ? 0 : cpu_fixed + n·b / cpu_rate
//   gpu(n) = (m − n)·b / upload_rate + (g + m − n)·b / gpu_rate
//   finish(n) = max(cpu(n), gpu(n))        the two sides run at the same time
//
// cpu_fixed is what choosing the CPU at all costs the layer: reading h back, uploading the
// result, one more submission. Uploads and GPU compute are counted in sequence (the layer's
// experts wait for their copies). Auto picks the smallest n minimising finish(n), but keeps
// n = 0 unless that n finishes at least kCopyMargin sooner: a copy also warms the cache for
// the next tokens, which this one-token model does not see, so near-ties go to copying.
//
// Rates start from measurements (or the defaults below) and follow observations through an
// exponential moving average, so the split adapts to the machine while running. Plain
// numbers only: the model layer times the work, the offload engine acts on the answer.
#include <cstdint>
#include <span>
#include <string_view>

namespace ferry::offload {

enum class MissPolicy {
    Auto,  // the cost model decides per layer
    Copy,  // always copy misses to VRAM (the GPU computes every expert)
    Cpu,   // always compute misses on the CPU
};

// "auto" | "copy" | "cpu"; anything else throws ferry::Error naming the valid values.
MissPolicy parse_miss_policy(std::string_view text);
std::string_view name(MissPolicy policy);

// Bytes of expert weights per second each way can move or consume. The defaults are the
// figures of DESIGN.md (PCIe 3.0 x16, dual-channel DDR4, a GTX 1060-class card); measure.
struct MissRates {
    double upload_bytes_per_s = 12e9;  // host → VRAM copies of expert slices
    double cpu_bytes_per_s = 20e9;     // expert weights read by the CPU expert FFN
    double gpu_bytes_per_s = 190e9;    // expert weights read by the GPU expert FFN
    double cpu_fixed_s = 100e-6;       // per layer that uses the CPU path at all
};

class MissCostModel {
public:
    // Relative gain the CPU split must bring over copying everything (see above).
    static constexpr double kCopyMargin = 0.05;
    // Weight of each new observation in the moving average.
    static constexpr double kAlpha = 0.2;
    // Rate samples outside [kMinRate, kMaxRate] bytes/s are timer glitches, not the machine.
    static constexpr double kMinRate = 1e5;
    static constexpr double kMaxRate = 1e13;

    // Throws ferry::Error unless every rate is positive and finite and cpu_fixed_s >= 0.
    MissCostModel(MissRates initial, MissPolicy policy);

    // How many of a layer's `misses` (each `expert_bytes`) the CPU should compute for one
    // decode token while the GPU computes `gpu_experts` cached ones: Copy → 0, Cpu → all,
    // Auto → the n minimising finish(n) above.
    std::uint32_t cpu_share(std::uint32_t misses, std::uint64_t expert_bytes,
                            std::uint32_t gpu_experts) const;

    // Prefill: how many of a layer's missing experts the CPU should compute for a batch, when
    // miss i is used by tokens[i] tokens (sorted ascending by the caller: the CPU takes the
    // least-used ones, whose copies buy the least). The CPU pays per token (cpu_fixed +
    // Σ tokens·b / cpu_rate: its kernels re-read small blocks per token at best), the GPU
    // once per expert (copy b / upload_rate, then b / gpu_rate for the whole group).
    // Copy → 0, Cpu → all, Auto → the n finishing soonest, with the same copy margin.
    std::uint32_t prefill_cpu_share(std::span<const std::uint32_t> tokens, std::uint64_t expert_bytes,
                                    std::uint32_t gpu_experts) const;

    // The layer's finish time in seconds when the CPU computes n of the misses.
    double finish_seconds(std::uint32_t n, std::uint32_t misses, std::uint64_t expert_bytes,
                          std::uint32_t gpu_experts) const;

    // Measured samples: `bytes` of expert weights copied (or computed on the CPU, the CPU's
    // expert FFN alone) in `seconds`. Non-positive, non-finite or absurd samples are ignored.
    void observe_upload(std::uint64_t bytes, double seconds);
    void observe_cpu(std::uint64_t bytes, double seconds);
    // The CPU path's fixed cost of one layer (readback, result upload, extra submission).
    void observe_cpu_fixed(double seconds);

    const MissRates& rates() const { return rates_; }
    MissPolicy policy() const { return policy_; }

private:
    MissRates rates_;
    MissPolicy policy_;
};

}  // namespace ferry::offload

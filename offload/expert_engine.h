#pragma once
// The expert engine: everything about a model's routed experts that is not the model —
// where each expert lives (VRAM slot pools, the host tier), copies and prefetch, hybrid
// CPU execution and its cost model, their timers and statistics. The MoE block of a
// recipe calls it once per layer (decode_layer / prefill_layer) and gets its GPU work
// recorded through MoeGpu, the few operations only the model can record (its buffers,
// its kernels). The engine sees experts as byte ranges (offload/expert_layout.h) and the
// router's choice: never a family.
//
// Why no slot is overwritten while the GPU reads it, and how copies overlap compute:
// offload/expert_offload.h.
#include "cpu/thread_pool.h"
#include "gguf/reader.h"
#include "offload/cpu_experts.h"
#include "offload/expert_layout.h"
#include "offload/expert_offload.h"
#include "offload/expert_pools.h"
#include "offload/expert_source.h"
#include "offload/miss_cost.h"
#include "vk/command.h"
#include "vk/device.h"
#include "vk/timestamps.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace ferry::offload {

// Replaces a decode step's routing (benchmarks replay a real model's routing on a
// generated one). Gets the router's choice for `layer` at `position` in ids / weights
// ([top-k]) and may overwrite both; returns whether it did.
using RouteOverride = std::function<bool(std::uint32_t layer, std::uint32_t position,
                                         std::span<std::int32_t> ids, std::span<float> weights)>;
// Sees each prediction the prefetcher acts on: the experts it expects `layer` to choose at
// token `position`, before that router runs.
using PredictionObserver =
    std::function<void(std::uint32_t layer, std::uint32_t position, std::span<const std::uint32_t> experts)>;

struct ExpertEngineOptions {
    // Routed experts held in VRAM per layer; 0 (or >= the expert count): all of them.
    std::uint32_t expert_slots = 0;
    std::string cache_policy = "lru";  // scheduler::policy_names()
    bool prefetch = true;              // copy predicted experts ahead of use (decode)
    std::string predictor = "gate";    // scheduler/predictor.h spec
    MissPolicy miss_policy = MissPolicy::Copy;
    bool cpu_moe = false;  // every routed expert on the CPU, none in VRAM
    int threads = 0;       // CPU threads for experts computed on the CPU (0: every core)
    // The host tier; must outlive the engine. Null: the mapped file as is, with read-ahead.
    ExpertSource* expert_source = nullptr;
};

// One layer's router choice, read back from the GPU.
struct LayerRoutes {
    std::vector<std::int32_t> ids;         // [tokens, K]
    std::vector<float> weights;            // [tokens, K]
    std::vector<std::uint32_t> predicted;  // the lookahead's ids and router weights [<= K]
    std::vector<float> predicted_weights;
    std::vector<float> h;  // [h_rows, n_embd]: the layer's normed expert input (CPU experts)
};

// A GPU-timed span of expert work: queries (first, first + 1) of `timer`.
struct FfnTimer {
    vk::Timestamps* timer = nullptr;
    std::uint32_t first = 0;
};

// One expert group of a prefill chunk: the batch's routes to one expert, in its slot.
struct ExpertGroup {
    std::uint32_t slot = 0;
    std::span<const std::uint32_t> routes;  // indices token * K + k
};

// What the engine asks the model's MoE block to record. Every call records into `cmd`
// (recording before and after) unless it says it submits.
class MoeGpu {
public:
    virtual ~MoeGpu() = default;
    // The router of `layer` applied to the residual stream as it is now, into lookahead
    // buffers of its own (a guess at that layer's choice).
    virtual void record_lookahead(vk::CommandBuffer& cmd, std::uint32_t layer) = 0;
    // Reads the current layer's `routes` ids and weights back (submits through
    // ExpertEngine::submit_and_wait); with `predicted` the lookahead's too; with h_rows
    // that many rows of the expert input. Throws ferry::Error for an id outside the experts.
    virtual LayerRoutes read_routes(vk::CommandBuffer& cmd, std::uint32_t routes, bool predicted,
                                    std::uint32_t h_rows) = 0;
    // Replaces the layer's routes on the GPU with ids / weights ([K]); submits and waits.
    virtual void write_routes(vk::CommandBuffer& cmd, std::span<const std::int32_t> ids,
                              std::span<const float> weights) = 0;
    // Decode: x += the layer's experts over the top-k routes, each route's slot taken from
    // `residency` (uint32 [n_experts], expert -> slot; null: the identity).
    virtual void record_decode(vk::CommandBuffer& cmd, std::uint32_t layer, const vk::Buffer* residency,
                               FfnTimer timer) = 0;
    // Decode, one pass: the expert FFN over all K routes with route k's slot slots[k]
    // (routes outside the pass read slot 0), keeping the rows of the routes in `keep` for
    // record_combine(passes = true).
    virtual void record_decode_pass(vk::CommandBuffer& cmd, std::uint32_t layer,
                                    std::span<const std::uint32_t> slots, std::span<const std::uint32_t> keep,
                                    FfnTimer timer) = 0;
    // Prefill, one chunk of expert groups (staging area `area`, 0 or 1, so the next chunk can
    // be staged while this one is copied): the FFN of every route of every group.
    virtual void record_prefill_chunk(vk::CommandBuffer& cmd, std::uint32_t layer,
                                      std::span<const ExpertGroup> groups, std::uint32_t area,
                                      FfnTimer timer) = 0;
    // x += Σ_k weights · expert_out over `tokens` (the passes' rows with `passes`); with
    // `weights` given ([tokens, K]), those replace the router's.
    virtual void record_combine(vk::CommandBuffer& cmd, std::uint32_t layer, std::uint32_t tokens, bool passes,
                                std::span<const float> weights) = 0;
    // x += sum ([tokens, n_embd], host memory).
    virtual void record_add(vk::CommandBuffer& cmd, std::span<const float> sum) = 0;
};

class ExpertEngine {
public:
    // `file` and `layout` must outlive the engine. Makes the VRAM pools (resident ones
    // uploaded now); offloading (fewer slots than experts, or cpu_moe) starts with start().
    ExpertEngine(vk::Device& device, const gguf::File& file, const ExpertLayout& layout,
                 const ExpertEngineOptions& options, const PoolProgress& progress = {});
    ~ExpertEngine();
    ExpertEngine(const ExpertEngine&) = delete;
    ExpertEngine& operator=(const ExpertEngine&) = delete;

    // Offloading: the host tier, the copies and, for cpu / auto / cpu_moe, the CPU experts,
    // and the start-up measurements (upload rate; for hybrid the CPU's and the GPU's expert
    // rates). Call once the model can record (its buffers exist); `staging` is a
    // host-visible buffer of the model's to time copies from. Nothing when resident.
    void start(MoeGpu& gpu, vk::CommandBuffer& cmd, const vk::Buffer& staging);

    const ExpertLayout& layout() const { return layout_; }
    const ExpertPools& pools() const { return *pools_; }
    bool offloading() const { return offload_ != nullptr; }
    const MissCostModel* miss_cost() const { return miss_cost_.get(); }
    OffloadStats stats() const { return offload_ ? offload_->stats() : OffloadStats{}; }

    void set_route_override(RouteOverride f) { route_override_ = std::move(f); }
    void set_prediction_observer(PredictionObserver f) { prediction_observer_ = std::move(f); }

    // A forward batch of `tokens` begins at `position`.
    void begin_batch(std::uint32_t tokens, std::uint32_t position);
    // x += the layer's MoE output; the router's ids / weights are on the GPU.
    void decode_layer(MoeGpu& gpu, vk::CommandBuffer& cmd, std::uint32_t layer);
    void prefill_layer(MoeGpu& gpu, vk::CommandBuffer& cmd, std::uint32_t layer, std::uint32_t tokens);

    // Submits compute work; when it reads experts whose copies may still run, it waits for
    // them on the GPU, and the host's wait for them is timed as upload stall.
    void submit_and_wait(vk::CommandBuffer& cmd);
    void submit_compute(vk::CommandBuffer& cmd);  // submit_and_wait in two halves, so the host
    void finish_compute(vk::CommandBuffer& cmd);  // can compute CPU experts in between

private:
    void decode_offloaded(MoeGpu& gpu, vk::CommandBuffer& cmd, std::uint32_t layer);
    void override_routes(MoeGpu& gpu, vk::CommandBuffer& cmd, std::uint32_t layer, LayerRoutes& routes);
    // Prefill, hybrid: which of `used` experts the CPU computes (removed from `used`).
    std::vector<std::uint32_t> take_cpu_experts(std::uint32_t layer, std::vector<std::uint32_t>& used,
                                                const std::vector<std::vector<std::uint32_t>>& by_expert);
    // Records the GPU's share with the `cpu` routes' weights zeroed, submits, computes the
    // `cpu` routes meanwhile, and records x += their sum.
    void run_cpu_routes(MoeGpu& gpu, vk::CommandBuffer& cmd, std::uint32_t layer, std::uint32_t tokens,
                        bool passes, const LayerRoutes& routes, std::span<const ExpertRoute> cpu,
                        bool gpu_idle);
    void follow_measurements();
    void measure_upload_rate();
    std::uint32_t prefetch_count(std::uint32_t layer);
    FfnTimer pass_timer();
    std::uint64_t expert_bytes(std::uint32_t layer) const { return layout_.layers[layer].expert_bytes(); }

    vk::Device& device_;
    const gguf::File& file_;
    const ExpertLayout& layout_;
    ExpertEngineOptions options_;
    std::unique_ptr<ExpertPools> pools_;
    std::unique_ptr<ExpertSource> own_source_;        // when options_.expert_source is null
    std::unique_ptr<ExpertOffload> offload_;          // null: every expert resident
    std::unique_ptr<vk::CommandBuffer> prefill_cmd_;  // the second buffer of streamed prefill chunks
    RouteOverride route_override_;
    PredictionObserver prediction_observer_;
    std::uint32_t position_ = 0;            // of the batch's first token
    std::uint64_t pending_ready_ = 0;       // timeline value the next compute submission waits for
    std::vector<std::uint32_t> predicted_;  // the experts predicted for layer predicted_layer_ (decode)
    std::uint32_t predicted_layer_ = 0;
    double upload_rate_ = 0;                                   // host -> device bytes/s
    double layer_seconds_ = 0;                                 // decode time per layer (moving average)
    std::chrono::steady_clock::time_point last_layer_time_{};  // the last router read-back
    std::unique_ptr<cpu::ThreadPool> threads_;                 // hybrid / cpu_moe only
    std::unique_ptr<CpuExperts> cpu_experts_;                  // hybrid / cpu_moe only
    std::unique_ptr<MissCostModel> miss_cost_;                 // hybrid only
    std::vector<float> cpu_out_;  // [tokens, n_embd]: the CPU experts' weighted sum
    // One decode FFN pass (queries 0, 1) and one prefill chunk (2, 3) timed on the GPU at a
    // time, read back once the next layer has waited for its work; null where unsupported.
    std::unique_ptr<vk::Timestamps> ffn_timer_;
    bool pass_timer_armed_ = false;
    bool chunk_timer_armed_ = false;
    std::uint64_t chunk_timed_bytes_ = 0;
};

}  // namespace ferry::offload

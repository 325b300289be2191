#pragma once
// The forward pass on Vulkan. It reads like the model (runtime/model/reference_forward.cpp
// is the same walk on the CPU): embed, then per layer attention and MoE blocks, then the
// output head. Decode (one token) runs as one submission with no host round trip: the
// router's choice becomes expert weight offsets on the GPU (kernels/expert_slots.h).
// Prefill runs batches of tokens; each layer's expert groups are built on the host from
// the router's ids (one read-back per layer), then one expert matmul per weight.
#include "cpu/thread_pool.h"
#include "gguf/reader.h"
#include "kernels/block_ops.h"
#include "kernels/matvec.h"
#include "model/config.h"
#include "model/cpu_experts.h"
#include "model/expert_offload.h"
#include "model/gpu_weights.h"
#include "model/route_observer.h"
#include "offload/miss_cost.h"
#include "vk/buffer.h"
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

namespace ferry::model {

// Replaces a decode step's routing (benchmarks: replay a real model's routing trace on a
// generated model, so cache behaviour is realistic). Gets the router's choice for `layer` at
// `position` in ids / weights ([top-k]) and may overwrite both; returns whether it did.
using RouteOverride = std::function<bool(std::uint32_t layer, std::uint32_t position,
                                         std::span<std::int32_t> ids, std::span<float> weights)>;

struct GpuModelOptions {
    std::uint32_t n_ctx = 4096;    // KV cache positions
    std::uint32_t max_batch = 64;  // tokens per prefill batch (work buffers scale with it)
    // Routed experts held in VRAM per layer; 0 (or >= the expert count): all of them. Fewer
    // slots: experts are copied in from the mapped file when the router picks them,
    // which changes speed, never results. At least 1; below top-k a decode step runs the
    // layer's experts in passes through the slots.
    std::uint32_t expert_slots = 0;
    // Eviction policy of the expert slots (scheduler::policy_names()).
    std::string cache_policy = "lru";
    // Decode, when offloading: apply layer l+1's router to layer l's hidden state on the
    // GPU (one small matvec) and start copying the experts it predicts while layer l runs.
    bool prefetch = true;
    // What predicts the experts to prefetch: a scheduler/predictor.h spec. "gate" is the
    // lookahead above; history predictors ("repeat", "transition", "popularity") learn from
    // the decode routing and also predict the next token's first layer; "+" combines.
    std::string predictor = "gate";
    // Offloading: what happens to an expert that is not in a slot. Copy: copy it in (results
    // identical to the resident run). Cpu / Auto (the cost model of offload/miss_cost.h
    // decides per layer): compute some on the CPU from the mapped file while the GPU
    // computes the rest (equal within the CPU kernels' tolerance, not bit-identical).
    offload::MissPolicy miss_policy = offload::MissPolicy::Copy;
    // Every routed expert on the CPU, none in VRAM (expert_slots is ignored): the baseline
    // of common tools' "--cpu-moe", to compare with.
    bool cpu_moe = false;
    int threads = 0;  // CPU threads for experts computed on the CPU (0: every core)
    // Where offloaded experts come from (the host tier: mmap, mlock, no-mmap); must outlive
    // the model. Null: the mapped file as is, with read-ahead.
    ExpertSource* expert_source = nullptr;
    // Decode only; prefill keeps the model's own routing. Costs one extra submission per
    // layer and token.
    RouteOverride route_override = {};
};

// Bytes GpuModel allocates beside weights and KV cache for prefill batches of `batch`
// tokens (activations, tables; with host_memory_counts also its staging and readback
// buffers, for devices whose host-visible memory is device-local and so counts against the
// budget): what the budget planner must leave. Exact up to allocation alignment.
// offload_expert_bytes: one routed expert's bytes when offloading (its tables and upload
// ring), 0 when every expert is resident.
std::uint64_t work_buffer_bytes(const ModelConfig& config, std::uint32_t batch, bool host_memory_counts,
                                std::uint64_t offload_expert_bytes);

class GpuModel {
public:
    GpuModel(vk::Device& device, const gguf::File& file, const GpuModelOptions& options,
             const LoadProgress& progress = {});
    ~GpuModel();
    GpuModel(const GpuModel&) = delete;
    GpuModel& operator=(const GpuModel&) = delete;

    const ModelConfig& config() const { return config_; }
    std::uint32_t n_past() const { return n_past_; }
    // Tokens run through forward() since construction (resets do not count back).
    std::uint64_t tokens_processed() const { return tokens_processed_; }
    std::uint32_t n_ctx() const { return options_.n_ctx; }

    // Appends tokens at positions n_past().. (in batches of max_batch) and returns logits:
    // of every token ([n, n_vocab]) when all_logits, else of the last one ([n_vocab]).
    // Throws ferry::Error when the context would overflow or an id is outside the vocabulary.
    std::vector<float> forward(std::span<const std::int32_t> tokens, bool all_logits = false);
    // Forgets positions >= n (the KV entries stay but are overwritten before being read).
    void truncate(std::uint32_t n);
    void reset() { truncate(0); }

    // Device-local bytes this model holds (weights, KV cache, work buffers).
    std::uint64_t device_bytes() const;

    // Sees every router decision (copied out of the GPU once per batch, so decode keeps
    // its single submission). Empty: routing is not read back at all.
    void set_route_observer(RouteObserver observer) { observer_ = std::move(observer); }
    void set_prediction_observer(PredictionObserver observer) { prediction_observer_ = std::move(observer); }

    bool offloading() const { return offload_ != nullptr; }
    // Hybrid offload's cost model (its measured rates); null otherwise.
    const offload::MissCostModel* miss_cost() const { return miss_cost_.get(); }
    // Zeroes when not offloading.
    OffloadStats offload_stats() const { return offload_ ? offload_->stats() : OffloadStats{}; }

    // Bytes of the Work buffers (gpu_model_work.h): device-local and host-visible ones.
    struct WorkBytes {
        std::uint64_t device = 0, host = 0;
    };
    // The largest expert pool (one tensor's slots of one layer) the device can bind: the
    // storage buffer range, the allocation limit and the shaders' 32-bit offsets.
    static std::uint64_t max_pool_bytes(const vk::Device& device);
    static WorkBytes work_bytes(const ModelConfig& config, std::uint32_t batch,
                                std::uint64_t attn_scratch_bytes);

private:
    struct Work;  // activation buffers, sized for max_batch tokens

    // Runs one batch (tokens <= max_batch) at positions n_past_...; logits of the batch's
    // tokens (all or last) are appended to `logits`.
    void forward_batch(std::span<const std::int32_t> tokens, bool all_logits, std::vector<float>& logits);
    void record_attention(vk::CommandBuffer& cmd, std::uint32_t layer, std::uint32_t tokens);
    void record_router(vk::CommandBuffer& cmd, std::uint32_t layer, std::uint32_t tokens,
                       bool lookahead = false);
    void record_experts_decode(vk::CommandBuffer& cmd, std::uint32_t layer);
    void record_experts_prefill(vk::CommandBuffer& cmd, std::uint32_t layer, std::uint32_t tokens);
    void record_residual_add(vk::CommandBuffer& cmd, const vk::Buffer& delta, std::uint32_t n);
    // Reads the layer's router ids and weights back (one submission); with `predicted`,
    // also the lookahead prediction of the next layer (record_router with lookahead).
    // With h_rows, also that many rows of the normed hidden state (hybrid: CPU experts' input).
    struct Routes {
        std::vector<std::int32_t> ids;
        std::vector<float> weights;
        std::vector<std::uint32_t> predicted;  // the lookahead's ids and router weights [K]
        std::vector<float> predicted_weights;
        std::vector<float> h;  // [h_rows, n_embd]
    };
    // route_override: lets it rewrite `routes` and uploads the result as the layer's choice.
    void override_routes(vk::CommandBuffer& cmd, std::uint32_t layer, Routes& routes);
    Routes read_routes(vk::CommandBuffer& cmd, std::uint32_t routes, bool predicted,
                       std::uint32_t h_rows = 0);
    // Decode, offloading: reads this layer's choice, makes it resident (or hands misses to
    // the CPU), starts prefetches, and records the layer's MoE block.
    void decode_offloaded_layer(vk::CommandBuffer& cmd, std::uint32_t layer);
    // The expert FFN of one token over K routes whose offsets are in gate_off/up_off/down_off.
    void record_decode_ffn(vk::CommandBuffer& cmd, std::uint32_t layer);
    // Prefill, hybrid: which of `used` experts the CPU computes (removed from `used`).
    // by_expert[e]: the batch's routes to expert e. Everything with cpu_moe; the misses (and
    // hits) the cost model gives the CPU, the least-used ones, otherwise.
    std::vector<std::uint32_t> take_cpu_experts(std::uint32_t layer, std::vector<std::uint32_t>& used,
                                                const std::vector<std::vector<std::uint32_t>>& by_expert);
    // Hybrid: records x += Σ weights · expert_out with the weights of the `cpu` routes zeroed
    // (moe_combine then skips their rows), submits, computes the `cpu` routes on the CPU from
    // routes.h while the GPU runs, and records x += their sum. `cmd` is recording before and after.
    // gpu_idle: `cmd` holds no expert FFN work (its wait then measures the path's fixed cost).
    void run_cpu_routes(vk::CommandBuffer& cmd, std::uint32_t layer, std::uint32_t tokens,
                        const vk::Buffer& expert_out, const Routes& routes, std::span<const ExpertRoute> cpu,
                        bool gpu_idle);
    void start_hybrid(const gguf::File& file);
    // Hybrid: feeds the cost model what was measured since the last call (GPU-timed upload
    // batches, the timed FFN pass) and keeps the prefetch count's link rate current.
    void follow_measurements();
    void measure_upload_rate();
    std::uint32_t prefetch_count(std::uint32_t layer);
    void record_route_copy(vk::CommandBuffer& cmd, std::uint32_t layer, std::uint32_t tokens);
    void report_routes(std::uint32_t tokens);
    void submit_and_wait(vk::CommandBuffer& cmd);
    void submit_compute(vk::CommandBuffer& cmd);  // submit_and_wait in two halves, so the host
    void finish_compute(vk::CommandBuffer& cmd);  // can compute CPU experts in between

    vk::Device& device_;
    const gguf::File& file_;
    ModelConfig config_;
    GpuModelOptions options_;
    GpuWeights weights_;
    std::vector<vk::Buffer> k_cache_, v_cache_;  // per layer: F16 [n_ctx, n_kv_heads, head_dim]
    std::unique_ptr<Work> work_;
    kernels::BlockOps ops_;
    kernels::MatKernels mat_;
    kernels::PipelineSet pipelines_;  // elementwise add, expert_slots
    std::unique_ptr<vk::CommandBuffer> cmd_;
    std::unique_ptr<vk::CommandBuffer>
        prefill_cmd_;  // offloading: the second buffer of streamed prefill chunks
    std::uint32_t n_past_ = 0;
    std::uint64_t tokens_processed_ = 0;
    RouteObserver observer_;
    PredictionObserver prediction_observer_;

    std::unique_ptr<ExpertSource> own_source_;  // when options_.expert_source is null
    std::unique_ptr<ExpertOffload> offload_;    // null: every expert resident
    std::uint64_t pending_ready_ = 0;       // offload timeline value the next compute submission waits for
    std::vector<std::uint32_t> predicted_;  // the experts predicted for layer predicted_layer_ (decode)
    std::uint32_t predicted_layer_ = 0;
    double upload_rate_ = 0;                                   // host -> device bytes/s, measured at start
    double layer_seconds_ = 0;                                 // decode time per layer (moving average)
    std::chrono::steady_clock::time_point last_layer_time_{};  // the last router read-back
    std::unique_ptr<cpu::ThreadPool> threads_;                 // hybrid / cpu_moe only
    std::unique_ptr<CpuExperts> cpu_experts_;                  // hybrid / cpu_moe only
    std::unique_ptr<offload::MissCostModel> miss_cost_;        // hybrid only
    std::vector<float> cpu_out_;  // [tokens, n_embd]: the CPU experts' weighted sum (hybrid)
    // Hybrid: one decode FFN pass (queries 0, 1) and one prefill chunk (2, 3) timed on the GPU
    // at a time, read back once the next layer has waited for its work; null where
    // timestamps are unsupported.
    std::unique_ptr<vk::Timestamps> ffn_timer_;
    bool pass_timer_armed_ = false;        // queries 0, 1 are written and not yet read
    bool chunk_timer_armed_ = false;       // queries 2, 3 likewise
    std::uint64_t chunk_timed_bytes_ = 0;  // expert bytes of the timed chunk
};

}  // namespace ferry::model

#pragma once
// The forward pass on Vulkan: the family's recipe (families/*.cpp) recorded through
// GpuBlocks over batches of tokens, with the routed experts in the expert engine
// (offload/expert_engine.h). Decode (one token) runs as one submission with no host round
// trip when every expert is resident: the router's choice becomes expert weight offsets on
// the GPU (kernels/expert_slots.h). Prefill runs batches of tokens; each layer's expert
// groups are built on the host from the router's ids (one read-back per layer).
// runtime/model/reference_forward.h is the same recipe on the CPU.
#include "gguf/reader.h"
#include "kernels/block_ops.h"
#include "kernels/matvec.h"
#include "model/config.h"
#include "model/gpu_weights.h"
#include "model/recipe.h"
#include "model/route_observer.h"
#include "model/sequence_state.h"
#include "offload/expert_engine.h"
#include "offload/miss_cost.h"
#include "vk/command.h"
#include "vk/device.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace ferry::model {

struct Work;
class GpuBlocks;

using RouteOverride = offload::RouteOverride;
using offload::ExpertSource;
using offload::OffloadStats;

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
    // The graph to run instead of the file's architecture's recipe (same architecture;
    // tests/reference runs the reference engine's reading of a family with it). Null: the
    // file's.
    const Recipe* recipe = nullptr;
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
    // The sequence forward() runs on: the model's own unless use_sequence() chose another.
    SequenceState& sequence() { return *sequence_; }
    std::uint32_t n_past() const { return sequence_->n_past(); }
    // Tokens run through forward() since construction (resets do not count back).
    std::uint64_t tokens_processed() const { return tokens_processed_; }
    std::uint32_t n_ctx() const { return options_.n_ctx; }

    // Appends tokens at positions n_past().. (in batches of max_batch) and returns logits:
    // of every token ([n, n_vocab]) when all_logits, else of the last one ([n_vocab]).
    // Throws ferry::Error when the context would overflow or an id is outside the vocabulary.
    std::vector<float> forward(std::span<const std::int32_t> tokens, bool all_logits = false);
    // Forgets positions >= n and returns the positions kept (SequenceState::truncate: a
    // model with recurrent layers keeps all or nothing).
    std::uint32_t truncate(std::uint32_t n);
    // Recurrent layers: once the sequence reaches `position` in a later forward() (a batch
    // is cut there), its states are saved, so a later truncate() to `position` or beyond
    // comes back there instead of starting over: chat asks for the end of the conversation
    // before the new answer's opening, where the next turn's prompt diverges from what the
    // answer left. No effect without recurrent layers.
    void checkpoint_at(std::uint32_t position) { sequence_->request_checkpoint(position); }
    void reset() { sequence_->reset(); }

    // Another sequence's state (n_ctx positions; device memory counted against the budget),
    // for use_sequence(); the model's own is made at construction.
    std::unique_ptr<SequenceState> new_sequence();
    // forward(), truncate() and n_past() act on `sequence` from now on (null: the model's own).
    // It must outlive its use here.
    void use_sequence(SequenceState* sequence);

    // One decode step of several sequences in one forward pass (continuous batching):
    // tokens[i] is sequences[i]'s next token, at its n_past; returns the logits [n, n_vocab]
    // in that order and advances each sequence by one. The weights are read once for all of
    // them; the logits equal each sequence's own forward() within the rounding of a batched
    // product. At most max_batch distinct sequences, each with room in its context. Runs
    // them one by one where the device cannot bind each row (can_decode_many) or a route
    // observer is set (it sees one sequence's positions).
    std::vector<float> decode_many(std::span<SequenceState* const> sequences, std::span<const std::int32_t> tokens);
    // Whether decode_many batches on this device: every per-row slice it binds is aligned to
    // the device's storage-buffer offset alignment.
    bool can_decode_many() const { return decode_many_ok_; }

    // Device-local bytes this model holds (weights, KV cache, work buffers).
    std::uint64_t device_bytes() const;

    // Sees every router decision (copied out of the GPU once per batch, so decode keeps
    // its single submission). Empty: routing is not read back at all.
    void set_route_observer(RouteObserver observer) { observer_ = std::move(observer); }
    void set_prediction_observer(PredictionObserver observer);

    bool offloading() const { return engine_->offloading(); }
    // Hybrid offload's cost model (its measured rates); null otherwise.
    const offload::MissCostModel* miss_cost() const { return engine_->miss_cost(); }
    // Zeroes when not offloading.
    OffloadStats offload_stats() const { return engine_->stats(); }

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
    // Runs one batch (tokens <= max_batch) at positions n_past...; logits of the batch's
    // tokens (all or last) are appended to `logits`. With `rows`, token t is instead the
    // next of rows[t] (decode_many).
    void forward_batch(std::span<const std::int32_t> tokens, bool all_logits, std::vector<float>& logits,
                       std::span<SequenceState* const> rows = {});
    void report_routes(std::uint32_t tokens);
    void check_token_ids(std::span<const std::int32_t> tokens) const;  // ferry::Error outside the vocabulary
    // can_decode_many's answer for this config on this device (fixed at construction).
    static bool rows_bindable(const ModelConfig& config, const vk::Device& device);
    // Records `record`'s copies between barriers and waits for them (checkpoints).
    void copy_states(const std::function<void(vk::CommandBuffer&)>& record);

    vk::Device& device_;
    const gguf::File& file_;
    ModelConfig config_;
    GpuModelOptions options_;
    const Recipe& recipe_;
    offload::ExpertLayout expert_layout_;
    GpuWeights weights_;
    std::unique_ptr<offload::ExpertEngine> engine_;
    bool decode_many_ok_;
    std::unique_ptr<SequenceState> own_sequence_;
    SequenceState* sequence_ = nullptr;
    std::unique_ptr<Work> work_;
    kernels::BlockOps ops_;
    kernels::MatKernels mat_;
    kernels::PipelineSet pipelines_;  // elementwise add, expert_slots
    std::unique_ptr<GpuBlocks> blocks_;
    std::unique_ptr<vk::CommandBuffer> cmd_;
    std::uint64_t tokens_processed_ = 0;
    RouteObserver observer_;
};

}  // namespace ferry::model

#pragma once
// Offloaded experts in VRAM: which (layer, expert) sits in which slot of the layer's
// expert pools, and the copies that put it there.
//
// Residency and eviction are the scheduler's (scheduler::ExpertCache with one pool per
// layer, ranked by a scheduler::CachePolicy), so the runtime and `ferry simulate` make the
// same decisions. Copies run on the transfer queue (the compute queue where the device has
// no separate one) from a staging ring; each batch of copies signals the offload timeline,
// and the compute submission that reads an expert waits for that expert's value only.
// Prefetches of the next layer's predicted experts therefore overlap the current layer.
//
// Why no slot is overwritten while the GPU reads it: the forward pass reads a layer's
// router ids back before asking for that layer's experts, so every earlier read of that
// layer's pools has finished; prefetches only target other layers, whose pools no queued
// work reads. Copies into one slot are ordered by a transfer barrier at the start of each
// batch.
#include "offload/expert_layout.h"
#include "offload/expert_pools.h"
#include "offload/expert_source.h"
#include "scheduler/cache.h"
#include "scheduler/policy.h"
#include "scheduler/predictor.h"
#include "vk/buffer.h"
#include "vk/command.h"
#include "vk/device.h"
#include "vk/timeline.h"
#include "vk/timestamps.h"

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace ferry::offload {

struct OffloadStats {
    std::uint64_t hits = 0;             // chosen experts already in a slot (or on their way)
    std::uint64_t misses = 0;           // chosen experts copied in on demand
    std::uint64_t bytes_uploaded = 0;   // expert bytes copied host -> device (demand + prefetch)
    std::uint64_t prefetched = 0;       // experts copied ahead of use
    std::uint64_t prefetch_used = 0;    // of those, chosen before being evicted
    std::uint64_t predicted = 0;        // experts predicted for a layer (prediction slots)
    std::uint64_t predicted_right = 0;  // of those, chosen by that layer's router
    double stall_s = 0;                 // host-measured time compute waited for uploads
    std::uint64_t cpu_experts = 0;      // uses computed on the CPU (hybrid): misses, hits where faster
    // The host tier (model/expert_source.h): page faults that went to disk while copying
    // experts out of the mapped file, their time, and slices read ahead of use.
    std::uint64_t page_faults = 0;
    double fault_stall_s = 0;
    std::uint64_t read_aheads = 0;
    // The host -> device link as the GPU measured it (timestamps around each upload batch of
    // at least 64 KiB): bytes of the timed batches and the device time of their copies.
    // Both 0 where the transfer queue has no timestamps.
    std::uint64_t link_bytes = 0;
    double link_s = 0;
    std::vector<std::uint64_t> layer_hits = {}, layer_misses = {};  // [n_layers]: the same counts per layer
};

// One upload batch timed on the GPU: `bytes` copied host -> device in `seconds`.
struct LinkSample {
    std::uint64_t bytes = 0;
    double seconds = 0;
};

class ExpertOffload {
public:
    // `slots` per layer (>= 1, < n_experts); `policy` one of scheduler::policy_names().
    // Experts come from `source` (which must outlive this): straight from its imported
    // buffer where it has one, else through the staging ring.
    // `pools` (offloaded: fewer slots than experts) and `source` must outlive this.
    ExpertOffload(vk::Device& device, const ExpertLayout& layout, const ExpertPools& pools,
                  std::string_view policy, ExpertSource& source);
    ~ExpertOffload();
    ExpertOffload(const ExpertOffload&) = delete;
    ExpertOffload& operator=(const ExpertOffload&) = delete;

    std::uint32_t slots() const { return slots_; }
    // Host-visible bytes of the upload ring when one expert (gate + up + down) is at most
    // `expert_bytes`.
    static std::uint64_t ring_bytes_bound(std::uint32_t top_k, std::uint64_t expert_bytes);

    struct Placement {
        std::vector<std::uint32_t> slots;  // per requested expert: its slot in the layer's pools
        std::uint64_t ready = 0;           // offload timeline value to wait for (0: nothing)
    };
    // Makes `experts` (distinct, at most slots()) resident in `layer`'s pools; misses are
    // copied now (one transfer submission). `weights` (same length, may be empty) are the
    // router's gate weights, which score-based policies learn from. Experts in `in_use`
    // (still read by submitted work) are not evicted; with them, at most slots() in all.
    Placement require(std::uint32_t layer, std::span<const std::uint32_t> experts,
                      std::span<const float> weights = {}, std::span<const std::uint32_t> in_use = {});
    // Whether `expert` of `layer` is in a slot (or on its way); a hybrid caller computes the
    // others elsewhere without calling require() for them.
    bool resident(std::uint32_t layer, std::uint32_t expert) const;
    // Records demand uses that require() did not see (experts served by the CPU), so the
    // policy still learns their popularity, and counts them (as hits where cached).
    void note_cpu_use(std::uint32_t layer, std::span<const std::uint32_t> experts,
                      std::span<const float> weights);
    // Starts copies of predicted experts of `layer` ahead of use (and reads of them from
    // disk into RAM, for the mmap tier). Never evicts an expert chosen or prefetched for
    // the same step; only free slots and the policy's victims.
    void prefetch(std::uint32_t layer, std::span<const std::uint32_t> experts);
    // Live prediction with the scheduler's predictors (scheduler/predictor.h specs: "gate",
    // "repeat+transition", "gate+repeat*0.5", ... or "none"). The runtime reports each decode
    // layer's routing (observe) and, for "gate", the lookahead's guess (feed_gate); predict()
    // ranks the experts of the step after the current one: the next layer, or the next
    // token's first layer after the last (history predictors can look across tokens).
    void set_predictor(std::string_view spec);
    bool has_gate() const { return gate_ != nullptr; }
    bool predicting() const { return predictor_ != nullptr; }
    void observe(std::uint32_t layer, std::span<const std::uint32_t> experts, std::span<const float> weights);
    void feed_gate(std::uint32_t layer, std::span<const std::uint32_t> experts,
                   std::span<const float> weights);
    // Up to `count` experts for the step after (token, layer) = (current, `layer`); returns
    // the target layer in `target_layer`.
    std::vector<std::uint32_t> predict(std::uint32_t layer, std::uint32_t count, std::uint32_t& target_layer);
    // Accuracy bookkeeping for a prediction of `layer` once its router has chosen.
    void score_prediction(std::span<const std::uint32_t> predicted, std::span<const std::uint32_t> chosen);
    // New tokens begin (policies age by tokens).
    void next_token(std::uint64_t tokens = 1) { clock_.token += tokens; }

    // The GPU residency table of `layer`: uint32 [n_experts], expert -> slot.
    const vk::Buffer& residency(std::uint32_t layer) const;
    const vk::Timeline& timeline() const { return *timeline_; }
    // Host wait for `ready` (after the compute work waiting for it was submitted), timed as
    // stall: compute cannot start before it either.
    void wait_ready(std::uint64_t ready);

    OffloadStats stats() const;
    // Whether upload batches are timed on the GPU (vk::Timestamps::supported on the
    // transfer queue); without, take_link_samples() stays empty.
    bool measures_link() const { return timestamps_ != nullptr; }
    // The timed batches finished since the last call, oldest first (at most the last 4096),
    // for a moving estimate of the link rate. Never waits for the GPU.
    std::vector<LinkSample> take_link_samples();

private:
    struct Ring;
    // An upload batch whose timestamp pair (queries 2 * pair, 2 * pair + 1) is unread.
    struct TimedBatch {
        std::size_t pair = 0;
        std::uint64_t bytes = 0;
        std::uint64_t value = 0;  // offload timeline value of the batch
    };
    // Reads the pairs of the timed batches whose timeline value is reached.
    void retire_timed() const;
    void record_timed(const TimedBatch& t) const;
    std::uint32_t place(std::uint32_t layer, std::uint32_t expert, bool prefetched,
                        const std::function<bool(scheduler::ExpertKey)>& is_protected);
    void begin_batch();
    std::uint64_t submit_batch();
    // Reserves `bytes` of the ring (waiting for old batches when full) and returns its offset.
    std::uint64_t reserve(std::uint64_t bytes);
    void stage_copy(std::span<const std::byte> bytes, const vk::Buffer& dst, std::uint64_t dst_offset);
    void copy_slice(std::uint32_t layer, std::uint32_t part, std::uint32_t expert, const vk::Buffer& dst,
                    std::uint64_t dst_offset);

    vk::Device& device_;
    const ExpertPools& pools_;
    std::uint32_t slots_;
    ExpertSource& source_;
    scheduler::Geometry geometry_;
    std::unique_ptr<scheduler::CachePolicy> policy_;
    std::unique_ptr<scheduler::Predictor> predictor_;  // null: no prediction
    scheduler::ExternalPredictor* gate_ = nullptr;     // inside predictor_, when the spec has "gate"
    std::unique_ptr<scheduler::ExpertCache> cache_;
    scheduler::Clock clock_;
    std::vector<std::uint64_t> ready_;  // per key: timeline value of its last copy
    std::vector<vk::Buffer> residency_;
    std::unique_ptr<vk::Timeline> timeline_;
    std::unique_ptr<Ring> ring_;
    // Pair i of queries belongs to cmds_[i]: its begin() waits for the batch that wrote
    // them, so a pair is never reset before that batch finished. Declared before cmds_,
    // whose destructors wait for the batches, so the pool outlives its last use.
    std::unique_ptr<vk::Timestamps> timestamps_;            // null: link not measured
    std::vector<std::unique_ptr<vk::CommandBuffer>> cmds_;  // transfer queue, round robin
    std::size_t next_cmd_ = 0;
    vk::CommandBuffer* batch_ = nullptr;  // recording, or null
    std::size_t batch_pair_ = 0;          // the recording batch's cmds_ index
    std::uint64_t batch_bytes_ = 0;       // expert bytes the recording batch copies (not residency entries)
    OffloadStats stats_;
    // Retiring timed batches is bookkeeping that stats() (const) does as well, so the
    // figures include the batches finished since the last upload.
    mutable std::deque<TimedBatch> timed_;
    mutable std::deque<LinkSample> link_samples_;
    mutable std::uint64_t link_bytes_ = 0;
    mutable double link_s_ = 0;
};

}  // namespace ferry::offload

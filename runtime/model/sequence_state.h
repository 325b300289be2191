#pragma once
// One sequence's state on the device: what its positions 0..n_past() left behind, per
// layer, as the layer's kind needs it. Chat's KV reuse (truncate to the common prefix),
// the server's sequences and `reset` go through this object; a family with another kind
// of layer state (a sliding-window ring, a recurrent state) adds a kind here, not a path
// through chat.
#include "model/config.h"
#include "vk/command.h"
#include "vk/buffer.h"
#include "vk/device.h"

#include <cstdint>
#include <vector>

namespace ferry::model {

enum class LayerStateKind : std::uint8_t {
    FullKv,     // F16 K and V rows of every position: [n_ctx, n_kv_heads, head_dim] each
    SlidingKv,  // a sliding-window layer's: rings of rows = window + max_batch - 1 positions
                // (position p in row p % rows), all a batch's queries can see (< n_ctx)
    Latent,     // multi-head latent attention: one F16 row [k_pe | c] per position, [n_ctx, head_dim],
                // read as both key and value (config.h)
    Recurrent,  // a linear-attention layer's state after the last position, F32: the conv's
                // last inputs [C, K-1] and the delta rule's S [Hv, Dk, Dv] (config.h)
};

struct LayerState {
    LayerStateKind kind = LayerStateKind::FullKv;
    vk::Buffer k, v;       // FullKv, SlidingKv; Latent: k only
    std::uint32_t rows = 0;  // positions k and v hold: n_ctx, or the ring's
    const vk::Buffer& value_cache() const { return kind == LayerStateKind::Latent ? k : v; }
    vk::Buffer conv, ssm;  // Recurrent
    vk::Buffer saved_conv, saved_ssm;  // Recurrent: the state at the checkpoint position
};

class SequenceState {
public:
    // Allocates every layer's state for n_ctx positions run in batches of at most max_batch
    // tokens (device-local, counted against the budget).
    SequenceState(vk::Device& device, const ModelConfig& config, std::uint32_t n_ctx, std::uint32_t max_batch);

    std::uint32_t n_ctx() const { return n_ctx_; }
    std::uint32_t n_past() const { return n_past_; }
    const LayerState& layer(std::uint32_t l) const { return layers_.at(l); }
    std::uint64_t device_bytes() const;

    // Forgets positions >= n and returns the positions kept: n, except that a recurrent
    // state cannot go back (it holds only the last position), so a model with one keeps
    // n_past() when n == n_past(), else goes back to its checkpoint where that is at or
    // before n (restore_checkpoint() must then run before the next batch), else starts
    // over (0: the next batch reads its state as zeros). Full-KV entries stay but are
    // overwritten before being read; a sliding layer's ring still holds the window before n
    // only when n is at most rows - window + 1 positions back, else it starts over too.
    // Throws ferry::Error when n > n_past().
    std::uint32_t truncate(std::uint32_t n);
    bool has_recurrent() const { return has_recurrent_; }
    void reset();

    // Recurrent layers: the states after position n_past() copied aside (record into `cmd`
    // after the batch that wrote them), so truncate() can come back to this position;
    // restore_checkpoint() records the copy back. One checkpoint per sequence, the latest.
    void save_checkpoint(vk::CommandBuffer& cmd);
    bool restore_pending() const { return restore_pending_; }
    void restore_checkpoint(vk::CommandBuffer& cmd);
    std::uint32_t checkpoint() const { return checkpoint_; }  // 0: none
    // Where the forward pass should save the next checkpoint (GpuModel::checkpoint_at).
    void request_checkpoint(std::uint32_t position) { checkpoint_request_ = position; }
    std::uint32_t checkpoint_request() const { return checkpoint_request_; }
    // `tokens` more positions are filled (the forward pass wrote them).
    void advance(std::uint32_t tokens) { n_past_ += tokens; }

    // Device bytes of one sequence's state for n_ctx positions, batches of max_batch.
    static std::uint64_t bytes_for(const ModelConfig& config, std::uint32_t n_ctx, std::uint32_t max_batch);
    // Positions a sliding layer's ring holds (n_ctx where the window is no shorter).
    static std::uint32_t ring_rows(const ModelConfig& config, std::uint32_t n_ctx, std::uint32_t max_batch);
    // Of which the recurrent states and their checkpoint copy (the same for any n_ctx).
    static std::uint64_t recurrent_bytes(const ModelConfig& config);

private:
    std::uint32_t n_ctx_ = 0;
    std::uint32_t n_past_ = 0;
    bool has_recurrent_ = false;
    // Sliding rings: their positions and how far back truncate() can go once they have
    // wrapped (rows - window + 1 positions); 0: no rings.
    std::uint32_t ring_rows_ = 0, ring_slack_ = 0;
    std::uint32_t checkpoint_ = 0;  // position of the saved states; 0: none
    std::uint32_t checkpoint_request_ = 0;
    bool restore_pending_ = false;
    // The recurrent layers' states into their checkpoint copies (save) or back.
    void copy_recurrent(vk::CommandBuffer& cmd, bool save) const;
    std::vector<LayerState> layers_;
};

}  // namespace ferry::model

#pragma once
// One sequence's state on the device: what its positions 0..n_past() left behind, per
// layer, as the layer's kind needs it. Chat's KV reuse (truncate to the common prefix),
// the server's sequences and `reset` go through this object; a family with another kind
// of layer state (a sliding-window ring, a recurrent state) adds a kind here, not a path
// through chat.
#include "model/config.h"
#include "vk/buffer.h"
#include "vk/device.h"

#include <cstdint>
#include <vector>

namespace ferry::model {

enum class LayerStateKind : std::uint8_t {
    FullKv,     // F16 K and V rows of every position: [n_ctx, n_kv_heads, head_dim] each
    Recurrent,  // a linear-attention layer's state after the last position, F32: the conv's
                // last inputs [C, K-1] and the delta rule's S [Hv, Dk, Dv] (config.h)
};

struct LayerState {
    LayerStateKind kind = LayerStateKind::FullKv;
    vk::Buffer k, v;       // FullKv
    vk::Buffer conv, ssm;  // Recurrent
};

class SequenceState {
public:
    // Allocates every layer's state for n_ctx positions (device-local, counted against the budget).
    SequenceState(vk::Device& device, const ModelConfig& config, std::uint32_t n_ctx);

    std::uint32_t n_ctx() const { return n_ctx_; }
    std::uint32_t n_past() const { return n_past_; }
    const LayerState& layer(std::uint32_t l) const { return layers_.at(l); }
    std::uint64_t device_bytes() const;

    // Forgets positions >= n and returns the positions kept: n, except that a recurrent
    // state cannot go back (it holds only the last position), so a model with one keeps
    // n_past() when n == n_past() and otherwise starts over (0: the next batch reads its
    // state as zeros). Full-KV entries stay but are overwritten before being read. Throws
    // ferry::Error when n > n_past().
    std::uint32_t truncate(std::uint32_t n);
    bool has_recurrent() const { return has_recurrent_; }
    void reset() { n_past_ = 0; }
    // `tokens` more positions are filled (the forward pass wrote them).
    void advance(std::uint32_t tokens) { n_past_ += tokens; }

    // Device bytes of one sequence's state for n_ctx positions.
    static std::uint64_t bytes_for(const ModelConfig& config, std::uint32_t n_ctx);
    // Of which the recurrent states (the same for any n_ctx).
    static std::uint64_t recurrent_bytes(const ModelConfig& config);

private:
    std::uint32_t n_ctx_ = 0;
    std::uint32_t n_past_ = 0;
    bool has_recurrent_ = false;
    std::vector<LayerState> layers_;
};

}  // namespace ferry::model

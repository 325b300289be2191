#include "model/sequence_state.h"

#include "base/error.h"
#include "kernels/block_ops.h"

#include <algorithm>

namespace ferry::model {

namespace {

std::uint64_t conv_state_bytes(const ModelConfig& c) {
    return std::uint64_t(c.ssm_mix_width()) * (c.ssm_conv_kernel - 1) * 4;
}

std::uint64_t delta_state_bytes(const ModelConfig& c) {
    return std::uint64_t(c.ssm_v_heads) * c.ssm_k_dim * c.ssm_v_dim * 4;
}

// Positions layer l's caches hold: a sliding layer's ring, else every position.
std::uint32_t layer_rows(const ModelConfig& c, std::uint32_t l, std::uint32_t n_ctx, std::uint32_t max_batch) {
    return layer_slides(c, l) && !c.has_mla() ? SequenceState::ring_rows(c, n_ctx, max_batch) : n_ctx;
}

// One of layer l's caches (K or V; MLA's latent rows).
std::uint64_t layer_kv_bytes(const ModelConfig& c, std::uint32_t l, std::uint32_t rows) {
    const LayerAttention a = layer_attention(c, l);
    return std::max<std::uint64_t>(kernels::kv_cache_bytes(rows, a.n_kv_heads, a.head_dim), 16);
}

}  // namespace

std::uint32_t SequenceState::ring_rows(const ModelConfig& c, std::uint32_t n_ctx, std::uint32_t max_batch) {
    return std::uint32_t(std::min<std::uint64_t>(n_ctx, std::uint64_t(c.sliding_window) + max_batch - 1));
}

SequenceState::SequenceState(vk::Device& device, const ModelConfig& c, std::uint32_t n_ctx, std::uint32_t max_batch)
    : n_ctx_(n_ctx) {
    if (n_ctx == 0) fail("--ctx must be at least 1");
    if (max_batch == 0) fail("the prefill batch must hold at least 1 token");
    for (std::uint32_t l = 0; l < c.n_layers; ++l) {
        const std::uint32_t rows = layer_rows(c, l, n_ctx, max_batch);
        const std::uint64_t bytes = layer_kv_bytes(c, l, rows);
        LayerState s;
        s.rows = rows;
        if (layer_is_recurrent(c, l)) {
            s.kind = LayerStateKind::Recurrent;
            s.conv = vk::Buffer(device, std::max<std::uint64_t>(conv_state_bytes(c), 16), vk::MemoryKind::DeviceLocal,
                                "conv state");
            s.ssm = vk::Buffer(device, delta_state_bytes(c), vk::MemoryKind::DeviceLocal, "delta-rule state");
            s.saved_conv = vk::Buffer(device, s.conv.size(), vk::MemoryKind::DeviceLocal, "conv state checkpoint");
            s.saved_ssm = vk::Buffer(device, s.ssm.size(), vk::MemoryKind::DeviceLocal, "delta-rule state checkpoint");
            has_recurrent_ = true;
        } else if (c.has_mla()) {
            s.kind = LayerStateKind::Latent;
            s.k = vk::Buffer(device, bytes, vk::MemoryKind::DeviceLocal, "latent KV cache");
        } else {
            if (rows < n_ctx) {
                s.kind = LayerStateKind::SlidingKv;
                ring_rows_ = rows;
                ring_slack_ = rows - c.sliding_window + 1;
            }
            s.k = vk::Buffer(device, bytes, vk::MemoryKind::DeviceLocal, rows < n_ctx ? "K ring" : "K cache");
            s.v = vk::Buffer(device, bytes, vk::MemoryKind::DeviceLocal, rows < n_ctx ? "V ring" : "V cache");
        }
        layers_.push_back(std::move(s));
    }
}

std::uint64_t SequenceState::recurrent_bytes(const ModelConfig& c) {
    std::uint64_t total = 0;
    for (std::uint32_t l = 0; l < c.n_layers; ++l)
        if (layer_is_recurrent(c, l))  // the state and its checkpoint
            total += 2 * (std::max<std::uint64_t>(conv_state_bytes(c), 16) + delta_state_bytes(c));
    return total;
}

std::uint64_t SequenceState::bytes_for(const ModelConfig& c, std::uint32_t n_ctx, std::uint32_t max_batch) {
    const std::uint64_t caches = c.has_mla() ? 1 : 2;  // a latent row is key and value
    std::uint64_t total = recurrent_bytes(c);
    for (std::uint32_t l = 0; l < c.n_layers; ++l)
        if (!layer_is_recurrent(c, l)) total += caches * layer_kv_bytes(c, l, layer_rows(c, l, n_ctx, max_batch));
    return total;
}

std::uint64_t SequenceState::device_bytes() const {
    std::uint64_t total = 0;
    for (const LayerState& s : layers_)
        total += s.k.size() + s.v.size() + s.conv.size() + s.ssm.size() + s.saved_conv.size() + s.saved_ssm.size();
    return total;
}

std::uint32_t SequenceState::truncate(std::uint32_t n) {
    if (n > n_past_) fail("cannot keep {} positions: only {} are in the context", n, n_past_);
    if (ring_rows_ > 0 && n_past_ > ring_rows_ && n + ring_slack_ < n_past_) {  // the rings have overwritten the window before n
        n_past_ = checkpoint_ = 0;
        restore_pending_ = false;
        return 0;
    }
    if (!has_recurrent_ || n == n_past_) {
        n_past_ = n;
    } else if (checkpoint_ > 0 && checkpoint_ <= n) {
        n_past_ = checkpoint_;
        restore_pending_ = true;
    } else {
        n_past_ = 0;
    }
    if (checkpoint_ > n_past_) checkpoint_ = 0;
    return n_past_;
}

void SequenceState::reset() {
    n_past_ = checkpoint_ = checkpoint_request_ = 0;
    restore_pending_ = false;
}

void SequenceState::copy_recurrent(vk::CommandBuffer& cmd, bool save) const {
    for (const LayerState& s : layers_) {
        if (s.kind != LayerStateKind::Recurrent) continue;
        cmd.copy(save ? s.conv : s.saved_conv, save ? s.saved_conv : s.conv, {0, 0, s.conv.size()});
        cmd.copy(save ? s.ssm : s.saved_ssm, save ? s.saved_ssm : s.ssm, {0, 0, s.ssm.size()});
    }
}

void SequenceState::save_checkpoint(vk::CommandBuffer& cmd) {
    copy_recurrent(cmd, true);
    checkpoint_ = n_past_;
    restore_pending_ = false;
}

void SequenceState::restore_checkpoint(vk::CommandBuffer& cmd) {
    copy_recurrent(cmd, false);
    restore_pending_ = false;
}

}  // namespace ferry::model

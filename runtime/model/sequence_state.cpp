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

// One of layer l's caches (K or V; MLA's latent rows) for n_ctx positions.
std::uint64_t layer_kv_bytes(const ModelConfig& c, std::uint32_t l, std::uint32_t n_ctx) {
    const LayerAttention a = layer_attention(c, l);
    return kernels::kv_cache_bytes(n_ctx, a.n_kv_heads, a.head_dim);
}

}  // namespace

SequenceState::SequenceState(vk::Device& device, const ModelConfig& c, std::uint32_t n_ctx) : n_ctx_(n_ctx) {
    if (n_ctx == 0) fail("--ctx must be at least 1");
    for (std::uint32_t l = 0; l < c.n_layers; ++l) {
        const std::uint64_t bytes = std::max<std::uint64_t>(layer_kv_bytes(c, l, n_ctx), 16);
        LayerState s;
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
            s.k = vk::Buffer(device, bytes, vk::MemoryKind::DeviceLocal, "K cache");
            s.v = vk::Buffer(device, bytes, vk::MemoryKind::DeviceLocal, "V cache");
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

std::uint64_t SequenceState::bytes_for(const ModelConfig& c, std::uint32_t n_ctx) {
    const std::uint64_t caches = c.has_mla() ? 1 : 2;  // a latent row is key and value
    std::uint64_t total = recurrent_bytes(c);
    for (std::uint32_t l = 0; l < c.n_layers; ++l)
        if (!layer_is_recurrent(c, l)) total += caches * std::max<std::uint64_t>(layer_kv_bytes(c, l, n_ctx), 16);
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

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

}  // namespace

SequenceState::SequenceState(vk::Device& device, const ModelConfig& c, std::uint32_t n_ctx) : n_ctx_(n_ctx) {
    if (n_ctx == 0) fail("--ctx must be at least 1");
    const std::uint64_t bytes =
        std::max<std::uint64_t>(kernels::kv_cache_bytes(n_ctx, c.n_kv_heads, c.head_dim), 16);
    for (std::uint32_t l = 0; l < c.n_layers; ++l) {
        LayerState s;
        if (layer_is_recurrent(c, l)) {
            s.kind = LayerStateKind::Recurrent;
            s.conv = vk::Buffer(device, std::max<std::uint64_t>(conv_state_bytes(c), 16), vk::MemoryKind::DeviceLocal,
                                "conv state");
            s.ssm = vk::Buffer(device, delta_state_bytes(c), vk::MemoryKind::DeviceLocal, "delta-rule state");
            has_recurrent_ = true;
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
        if (layer_is_recurrent(c, l)) total += conv_state_bytes(c) + delta_state_bytes(c);
    return total;
}

std::uint64_t SequenceState::bytes_for(const ModelConfig& c, std::uint32_t n_ctx) {
    std::uint64_t attention_layers = 0;
    for (std::uint32_t l = 0; l < c.n_layers; ++l) attention_layers += layer_is_recurrent(c, l) ? 0 : 1;
    return 2 * attention_layers * kernels::kv_cache_bytes(n_ctx, c.n_kv_heads, c.head_dim) + recurrent_bytes(c);
}

std::uint64_t SequenceState::device_bytes() const {
    std::uint64_t total = 0;
    for (const LayerState& s : layers_) total += s.k.size() + s.v.size() + s.conv.size() + s.ssm.size();
    return total;
}

std::uint32_t SequenceState::truncate(std::uint32_t n) {
    if (n > n_past_) fail("cannot keep {} positions: only {} are in the context", n, n_past_);
    n_past_ = has_recurrent_ && n != n_past_ ? 0 : n;
    return n_past_;
}

}  // namespace ferry::model

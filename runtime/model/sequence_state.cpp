#include "model/sequence_state.h"

#include "base/error.h"
#include "kernels/block_ops.h"

#include <algorithm>

namespace ferry::model {

SequenceState::SequenceState(vk::Device& device, const ModelConfig& c, std::uint32_t n_ctx) : n_ctx_(n_ctx) {
    if (n_ctx == 0) fail("--ctx must be at least 1");
    const std::uint64_t bytes =
        std::max<std::uint64_t>(kernels::kv_cache_bytes(n_ctx, c.n_kv_heads, c.head_dim), 16);
    for (std::uint32_t l = 0; l < c.n_layers; ++l) {
        LayerState s;
        s.k = vk::Buffer(device, bytes, vk::MemoryKind::DeviceLocal, "K cache");
        s.v = vk::Buffer(device, bytes, vk::MemoryKind::DeviceLocal, "V cache");
        layers_.push_back(std::move(s));
    }
}

std::uint64_t SequenceState::bytes_for(const ModelConfig& c, std::uint32_t n_ctx) {
    return 2ull * c.n_layers * kernels::kv_cache_bytes(n_ctx, c.n_kv_heads, c.head_dim);
}

std::uint64_t SequenceState::device_bytes() const {
    std::uint64_t total = 0;
    for (const LayerState& s : layers_) total += s.k.size() + s.v.size();
    return total;
}

void SequenceState::truncate(std::uint32_t n) {
    if (n > n_past_) fail("cannot keep {} positions: only {} are in the context", n, n_past_);
    n_past_ = n;
}

}  // namespace ferry::model

#pragma once
// The VRAM side of the expert store: per layer and part (offload/expert_layout.h) one
// device-local "pool" buffer of `slots` expert matrices back to back. Resident (slots =
// n_experts): expert e sits in slot e, uploaded at start. Offloaded (fewer slots): the
// pools start empty and ExpertOffload copies experts in as the router asks for them. The
// expert kernels address a pool by byte offsets (slot * expert_bytes), so the forward pass
// is the same either way.
#include "gguf/reader.h"
#include "offload/expert_layout.h"
#include "vk/buffer.h"
#include "vk/device.h"

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace ferry::offload {

struct ExpertPool {
    vk::Buffer buffer;  // [slots] matrices of [rows, cols]
    gguf::TensorType type = gguf::TensorType::F32;
    std::uint32_t rows = 0;  // per expert
    std::uint32_t cols = 0;
    std::uint32_t expert_bytes = 0;  // one expert's matrix
    std::uint32_t slots = 0;         // matrices the buffer holds: n_experts when resident
};

// (bytes done, bytes total) while resident experts upload.
using PoolProgress = std::function<void(std::uint64_t done, std::uint64_t total)>;

class ExpertPools {
public:
    // slots == 0 or >= n_experts: every expert resident (uploaded now from `file`).
    // Throws ferry::Error naming the tensor when an expert is not a whole number of 32-bit
    // words (the shaders address words) or the VRAM budget refuses a pool.
    ExpertPools(vk::Device& device, const gguf::File& file, const ExpertLayout& layout, std::uint32_t slots,
                const PoolProgress& progress = {});

    bool resident() const { return resident_; }
    std::uint32_t slots() const { return slots_; }  // per layer
    std::uint32_t n_layers() const { return std::uint32_t(layers_.size()); }
    std::span<const ExpertPool> layer(std::uint32_t l) const { return layers_.at(l); }
    const ExpertPool& pool(std::uint32_t l, std::uint32_t part) const { return layers_.at(l).at(part); }

    // Bytes the resident upload moves (every expert of every layer).
    static std::uint64_t resident_bytes(const ExpertLayout& layout);

private:
    bool resident_ = true;
    std::uint32_t slots_ = 0;
    std::vector<std::vector<ExpertPool>> layers_;  // [layer][part]
};

}  // namespace ferry::offload

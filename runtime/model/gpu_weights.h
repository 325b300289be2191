#pragma once
// A model's dense weights in device memory, as the GGUF stores them (no conversion): one
// device-local buffer per tensor the recipe binds. Routed experts live in the expert
// engine's pools (offload/expert_pools.h).
#include "gguf/reader.h"
#include "kernels/matvec.h"
#include "model/layer_tensors.h"
#include "model/recipe.h"
#include "offload/expert_pools.h"
#include "vk/buffer.h"
#include "vk/device.h"

#include <cstdint>
#include <functional>
#include <span>

namespace ferry::model {

struct DeviceTensor {
    vk::Buffer buffer;
    gguf::TensorType type = gguf::TensorType::F32;
    std::uint32_t rows = 0;  // product of dims[1..]
    std::uint32_t cols = 0;  // dims[0]
    explicit operator bool() const { return rows != 0; }
    kernels::DeviceMatrix matrix() const { return {&buffer, 0, type, rows, cols, 0}; }
};

using GpuWeights = ModelTensors<DeviceTensor>;

using LoadProgress = std::function<void(std::uint64_t bytes_done, std::uint64_t bytes_total)>;

// Uploads every bound tensor; throws ferry::Error naming the tensor when its type has no
// GPU kernel or the VRAM budget refuses it. progress counts toward `progress_total`.
GpuWeights upload_weights(vk::Device& device, const gguf::File& file, const BoundTensors& tensors,
                          const LoadProgress& progress, std::uint64_t progress_total);

// Throws ferry::Error naming the tensor when an expert part's type has no GPU kernel.
void check_gpu_expert_types(const gguf::File& file, const offload::ExpertLayout& layout);

// The pools' matrices for the expert kernels.
inline kernels::ExpertMatrices expert_matrices(const offload::ExpertPool& p) {
    return {&p.buffer, 0, p.type, p.rows, p.cols, 0};
}

// A layer's expert FFN in its pools: the gate, up and down matrices and the bytes from one
// slot to the next in each. Three pools (gate, up, down), or two where gate and up are
// fused (Gemma 4's ffn_gate_up_exps: an expert's [2F, E] matrix, gate rows first).
struct ExpertFfnPools {
    kernels::ExpertMatrices gate, up, down;
    std::uint32_t gate_bytes = 0, up_bytes = 0, down_bytes = 0;  // per slot
};
inline ExpertFfnPools expert_ffn_pools(std::span<const offload::ExpertPool> pools) {
    if (pools.size() == 3)
        return {expert_matrices(pools[0]),  expert_matrices(pools[1]), expert_matrices(pools[2]),
                pools[0].expert_bytes, pools[1].expert_bytes,     pools[2].expert_bytes};
    const offload::ExpertPool& gate_up = pools[0];
    const std::uint32_t F = gate_up.rows / 2, half = gate_up.expert_bytes / 2;
    return {{&gate_up.buffer, 0, gate_up.type, F, gate_up.cols, 0},
            {&gate_up.buffer, half, gate_up.type, F, gate_up.cols, 0},
            expert_matrices(pools[1]),
            gate_up.expert_bytes,
            gate_up.expert_bytes,
            pools[1].expert_bytes};
}

// Bytes of the bound dense tensors (token_embd twice where the head is tied to it).
std::uint64_t dense_bytes(const BoundTensors& tensors);
// Bytes upload_weights() and the resident expert pools place in device memory.
std::uint64_t weight_bytes(const gguf::File& file, const ModelConfig& config);
// Of those, the routed experts' share.
std::uint64_t expert_weight_bytes(const gguf::File& file, const ModelConfig& config);

}  // namespace ferry::model

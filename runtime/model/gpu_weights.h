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

// Bytes of the bound dense tensors (token_embd twice where the head is tied to it).
std::uint64_t dense_bytes(const BoundTensors& tensors);
// Bytes upload_weights() and the resident expert pools place in device memory.
std::uint64_t weight_bytes(const gguf::File& file, const ModelConfig& config);
// Of those, the routed experts' share.
std::uint64_t expert_weight_bytes(const gguf::File& file, const ModelConfig& config);

}  // namespace ferry::model

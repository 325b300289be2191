#include "model/gpu_weights.h"

#include "base/error.h"
#include "vk/transfer.h"

namespace ferry::model {

namespace {

void check_type(const gguf::File& file, const std::string& name, gguf::TensorType type) {
    if (!kernels::supports(type))
        fail("{}: tensor {} has type {}, which ferry's GPU kernels cannot run yet", file.name(), name,
             gguf::type_name(type));
}

}  // namespace

GpuWeights upload_weights(vk::Device& device, const gguf::File& file, const BoundTensors& tensors,
                          const LoadProgress& progress, std::uint64_t progress_total) {
    std::uint64_t done = 0;
    auto upload = [&](const gguf::TensorInfo* t) {
        DeviceTensor d;
        if (!t) return d;
        check_type(file, t->name, t->type);
        d.type = t->type;
        d.cols = std::uint32_t(t->dim(0));
        d.rows = std::uint32_t(t->n_elements / t->dim(0));
        // Device buffers hold whole 32-bit words (the shaders read words).
        d.buffer =
            vk::Buffer(device, (t->bytes + 3) & ~std::uint64_t(3), vk::MemoryKind::DeviceLocal, t->name);
        vk::upload(device, d.buffer, file.tensor_data(*t));
        done += t->bytes;
        if (progress) progress(done, progress_total);
        return d;
    };
    return convert<DeviceTensor>(tensors, upload);
}

void check_gpu_expert_types(const gguf::File& file, const offload::ExpertLayout& layout) {
    for (const offload::ExpertLayer& l : layout.layers)
        for (const offload::ExpertPart& p : l.parts) check_type(file, p.name, p.type);
}

std::uint64_t dense_bytes(const BoundTensors& t) {
    std::uint64_t total = 0;
    auto add = [&](const gguf::TensorInfo* info) {
        if (info) total += info->bytes;
        return 0;
    };
    convert<int>(t, add);
    return total;
}

std::uint64_t weight_bytes(const gguf::File& file, const ModelConfig& config) {
    const Recipe& r = recipe_for(config, file);
    return dense_bytes(r.tensors(TensorTable(file), config)) +
           offload::ExpertPools::resident_bytes(r.experts(file, config));
}

std::uint64_t expert_weight_bytes(const gguf::File& file, const ModelConfig& config) {
    return offload::ExpertPools::resident_bytes(recipe_for(config, file).experts(file, config));
}

}  // namespace ferry::model

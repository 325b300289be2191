#include "offload/expert_pools.h"

#include "base/error.h"
#include "vk/transfer.h"

namespace ferry::offload {

std::uint64_t ExpertPools::resident_bytes(const ExpertLayout& layout) {
    std::uint64_t total = 0;
    for (const ExpertLayer& l : layout.layers) total += l.expert_bytes() * layout.n_experts;
    return total;
}

ExpertPools::ExpertPools(vk::Device& device, const gguf::File& file, const ExpertLayout& layout,
                         std::uint32_t slots, const PoolProgress& progress) {
    const std::uint32_t X = layout.n_experts;
    resident_ = slots == 0 || slots >= X;
    slots_ = resident_ ? X : slots;
    const std::uint64_t total = resident_ ? resident_bytes(layout) : 0;
    std::uint64_t done = 0;
    for (const ExpertLayer& layer : layout.layers) {
        std::vector<ExpertPool> pools;
        for (const ExpertPart& part : layer.parts) {
            ExpertPool p;
            p.type = part.type;
            p.rows = part.rows;
            p.cols = part.cols;
            p.expert_bytes = std::uint32_t(part.expert_bytes);
            if (part.expert_bytes % 4 || part.expert_bytes >= (1ull << 32))
                fail("{}: tensor {}: one expert is {} bytes, not a whole number of 32-bit words", file.name(),
                     part.name, part.expert_bytes);
            p.slots = slots_;
            p.buffer = vk::Buffer(device, std::uint64_t(p.slots) * p.expert_bytes,
                                  vk::MemoryKind::DeviceLocal, resident_ ? part.name : part.name + " slots");
            if (resident_) {
                const std::uint64_t bytes = std::uint64_t(X) * p.expert_bytes;
                if (part.contiguous()) {  // one copy of the whole 3-D tensor
                    vk::upload(device, p.buffer, file.bytes().subspan(part.file_offsets[0], bytes));
                } else {
                    for (std::uint32_t e = 0; e < X; ++e)
                        vk::upload(device, p.buffer,
                                   file.bytes().subspan(part.file_offsets[e], p.expert_bytes),
                                   std::uint64_t(e) * p.expert_bytes);
                }
                done += bytes;
                if (progress) progress(done, total);
            }
            pools.push_back(std::move(p));
        }
        layers_.push_back(std::move(pools));
    }
}

}  // namespace ferry::offload

#pragma once
// The CPU reference forward pass: the family's recipe (families/*.cpp) over
// ReferenceBlocks — plain, F32 accumulation, one token at a time, over the GGUF's own
// weights. It is the oracle the Vulkan forward pass is tested against.
#include "gguf/reader.h"
#include "model/config.h"
#include "model/recipe.h"
#include "model/reference_blocks.h"
#include "model/route_observer.h"

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace ferry::model {

class ReferenceModel {
public:
    // Checks the architecture is runnable and every tensor has its expected shape.
    // `file` must outlive the model (weights are read from its mapping). `recipe`: the
    // graph to run instead of the architecture's (GpuModelOptions::recipe).
    ReferenceModel(const gguf::File& file, std::uint32_t n_ctx, const Recipe* recipe = nullptr);

    const ModelConfig& config() const { return config_; }
    std::uint32_t n_past() const { return n_past_; }
    std::uint32_t n_ctx() const { return n_ctx_; }

    // Appends tokens at positions n_past().. and returns the logits of each: [n, n_vocab].
    // Throws ferry::Error when the context would overflow or a token id is out of range.
    std::vector<float> forward(std::span<const std::int32_t> tokens);
    // Forgets the context (KV cache) so the next forward starts at position 0.
    void reset() { n_past_ = 0; }

    void set_route_observer(RouteObserver observer) { blocks_->set_route_observer(std::move(observer)); }

private:
    ModelConfig config_;
    const Recipe& recipe_;
    std::uint32_t n_ctx_;
    std::uint32_t n_past_ = 0;
    offload::ExpertLayout experts_;
    std::unique_ptr<ReferenceBlocks> blocks_;
};

}  // namespace ferry::model

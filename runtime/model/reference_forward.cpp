#include "model/reference_forward.h"

#include "base/error.h"

namespace ferry::model {

ReferenceModel::ReferenceModel(const gguf::File& file, std::uint32_t n_ctx, const Recipe* recipe)
    : config_(read_config(file)), recipe_(recipe_for(config_, file, recipe)), n_ctx_(n_ctx) {
    if (n_ctx == 0) fail("context length must be at least 1");
    const BoundTensors tensors = recipe_.tensors(TensorTable(file), config_);
    experts_ = recipe_.experts(file, config_);
    blocks_ = std::make_unique<ReferenceBlocks>(file, config_, tensors, experts_, n_ctx);
}

std::vector<float> ReferenceModel::forward(std::span<const std::int32_t> tokens) {
    const ModelConfig& c = config_;
    if (std::uint64_t(n_past_) + tokens.size() > n_ctx_)
        fail("context full: {} tokens in the cache + {} new > --ctx {}", n_past_, tokens.size(), n_ctx_);
    std::vector<float> logits;
    logits.reserve(tokens.size() * c.n_vocab);
    for (const std::int32_t token : tokens) {
        if (token < 0 || std::uint32_t(token) >= c.n_vocab)
            fail("token id {} is outside the vocabulary (0..{})", token, c.n_vocab - 1);
        blocks_->begin_token(token, n_past_);
        recipe_.reference_forward(*blocks_);
        logits.insert(logits.end(), blocks_->logits().begin(), blocks_->logits().end());
        ++n_past_;
    }
    return logits;
}

}  // namespace ferry::model

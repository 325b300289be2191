// Mixtral (Mixtral-8x7B, Mixtral-8x22B), stored as `llama` with expert_count > 0, as Hugging
// Face's modeling_mixtral.py and llama.cpp's llama graph compute it: pre-norm blocks;
// grouped-query attention without QK-norm and normal rope (adjacent pairs 2i, 2i+1); a
// softmax router whose top-2 weights are renormalised; SwiGLU experts, stored merged
// (ffn_*_exps) or, in older files, one 2-D tensor per expert. Table row: architecture.cpp.
#include "model/families/transformer_blocks.h"
#include "model/gpu_blocks.h"
#include "model/recipe.h"
#include "model/reference_blocks.h"

namespace ferry::model {

namespace {

BoundTensors tensors(const TensorTable& t, const ModelConfig& c) {
    return bind_moe_transformer(t, c, {}, false);  // no biases, no QK-norm
}

}  // namespace

extern const Recipe kMixtralRecipe{"llama", tensors, gate_up_down_experts, blocks::moe_transformer<GpuBlocks>,
                                   blocks::moe_transformer<ReferenceBlocks>};

}  // namespace ferry::model

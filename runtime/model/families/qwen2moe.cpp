// Qwen1.5-MoE / Qwen2-MoE (Qwen1.5-MoE-A2.7B, Qwen2-57B-A14B), as Hugging Face's
// modeling_qwen2_moe.py and llama.cpp's qwen2moe graph compute it: pre-norm blocks;
// grouped-query attention with biases on q, k and v, no QK-norm, NeoX rope; a softmax
// router whose top-k weights are not renormalised; SwiGLU experts; and a shared expert
// every token runs, scaled by sigmoid(w · h). Table row: architecture.cpp.
#include "model/families/transformer_blocks.h"
#include "model/gpu_blocks.h"
#include "model/recipe.h"
#include "model/reference_blocks.h"

namespace ferry::model {

namespace {

BoundTensors tensors(const TensorTable& t, const ModelConfig& c) {
    return bind_moe_transformer(t, c, {.bias = true}, true);  // q/k/v biases, no QK-norm; a shared expert
}

}  // namespace

extern const Recipe kQwen2MoeRecipe{"qwen2moe", tensors, gate_up_down_experts,
                                    blocks::moe_transformer<GpuBlocks>,
                                    blocks::moe_transformer<ReferenceBlocks>};

}  // namespace ferry::model

// Qwen3-MoE (Qwen3-30B-A3B, Qwen3-Coder-30B-A3B), as Hugging Face's modeling_qwen3_moe.py
// and llama.cpp's qwen3moe graph compute it: pre-norm blocks; grouped-query attention with
// an RMSNorm over each q and k head before NeoX rope; a softmax router whose top-k weights
// are renormalised; SwiGLU experts; no shared expert. Table row: architecture.cpp.
#include "model/families/transformer_blocks.h"
#include "model/gpu_blocks.h"
#include "model/recipe.h"
#include "model/reference_blocks.h"

namespace ferry::model {

namespace {

BoundTensors tensors(const TensorTable& t, const ModelConfig& c) {
    return bind_moe_transformer(t, c, {.qk_norm = true}, false);  // QK-norm per head, no biases
}

}  // namespace

extern const Recipe kQwen3MoeRecipe{"qwen3moe", tensors, gate_up_down_experts,
                                    blocks::moe_transformer<GpuBlocks>,
                                    blocks::moe_transformer<ReferenceBlocks>};

}  // namespace ferry::model

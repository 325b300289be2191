// OLMoE (OLMoE-1B-7B), as Hugging Face's modeling_olmoe.py and llama.cpp's olmoe graph
// compute it: pre-norm blocks; attention whose q and k are RMS-normalised over the whole
// projected vector (weights [H·D] and [Hkv·D]) before the head split and NeoX rope; a
// softmax router over 64 experts whose top-8 weights are not renormalised
// (norm_topk_prob = false); SwiGLU experts; no shared expert. The expert width is
// feed_forward_length, as in Mixtral files. Table row: architecture.cpp.
#include "model/families/transformer_blocks.h"
#include "model/gpu_blocks.h"
#include "model/recipe.h"
#include "model/reference_blocks.h"

namespace ferry::model {

namespace {

BoundTensors tensors(const TensorTable& t, const ModelConfig& c) {
    return bind_moe_transformer(t, c, {.qk_norm_whole = true}, false);  // QK-norm over whole vectors
}

template <class Blocks>
void forward(Blocks& b) {
    b.embed();  // x = token_embd[token]
    for (std::uint32_t l = 0; l < b.config().n_layers; ++l) {
        blocks::attention(b, l, blocks::QkNorm::Whole);
        blocks::moe(b, l);
    }
    blocks::output(b);
}

}  // namespace

extern const Recipe kOlmoeRecipe{"olmoe", tensors, gate_up_down_experts, forward<GpuBlocks>,
                                 forward<ReferenceBlocks>};

}  // namespace ferry::model

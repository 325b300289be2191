// Llama 4 (Llama-4-Scout-17B-16E, Maverick), as llama.cpp's llama4 graph and Hugging
// Face's modeling_llama4.py compute it: pre-norm blocks; grouped-query attention with
// normal (adjacent-pair) rope scaled by rope_freqs, q and k RMS-normalised without a weight
// after rope (unless the model has 128 experts: Maverick), attending within chunks of 8192
// positions; every 4th layer has no rope and global attention with a temperature
// (architecture.cpp's row, config.cpp's attention_params). FFN: a dense SwiGLU on most
// layers, and on every interleave_moe_layer_step-th a MoE: the router's top-1 logit, its
// sigmoid scaling the expert's INPUT, plus an ungated shared expert on the same input.
#include "model/families/llama4_blocks.h"
#include "model/gpu_blocks.h"
#include "model/recipe.h"
#include "model/reference_blocks.h"

namespace ferry::model {

namespace {

// E = n_embd, X = experts.
BoundTensors tensors(const TensorTable& t, const ModelConfig& c) {
    const std::uint64_t E = c.n_embd, X = c.n_experts;
    BoundTensors w;
    bind_embeddings(t, c, w);
    w.rope_freqs = t.optional("rope_freqs.weight", {c.rope_dims / 2});
    for (std::uint32_t l = 0; l < c.n_layers; ++l) {
        auto name = [&](const char* suffix) { return layer_tensor(l, suffix); };
        LayerTensors<const gguf::TensorInfo*> L;
        bind_attention(t, c, l, {}, L);
        L.ffn_norm = t.require(name("ffn_norm.weight"), {E});
        if (moe_index(c, l) >= 0) {
            L.ffn_gate_inp = t.require(name("ffn_gate_inp.weight"), {E, X});
            bind_shared_expert(t, c, l, L);
        } else {
            bind_dense_ffn(t, c, l, L);
        }
        w.layers.push_back(L);
    }
    return w;
}

template <class Blocks>
void forward(Blocks& b) {
    b.embed();  // x = token_embd[token]
    for (std::uint32_t l = 0; l < b.config().n_layers; ++l) {
        llama4::attention(b, l, llama4::uses_qk_norm(b.config()));
        b.rms_norm(Act::X, b.layer(l).ffn_norm, Act::H);
        llama4::ffn_on_normed(b, l);
    }
    blocks::output(b);
}

}  // namespace

extern const Recipe kLlama4Recipe{"llama4", tensors, gate_up_down_experts, forward<GpuBlocks>,
                                  forward<ReferenceBlocks>};

}  // namespace ferry::model

// Llama 4 (Llama-4-Scout-17B-16E, Maverick), as llama.cpp's llama4 graph and Hugging
// Face's modeling_llama4.py compute it: pre-norm blocks; grouped-query attention with
// normal (adjacent-pair) rope scaled by rope_freqs, q and k RMS-normalised without a weight
// after rope (unless the model has 128 experts: Maverick), attending within chunks of 8192
// positions; every 4th layer has no rope and global attention with a temperature
// (architecture.cpp's row, config.cpp's attention_params). FFN: a dense SwiGLU on most
// layers, and on every interleave_moe_layer_step-th a MoE: the router's top-1 logit, its
// sigmoid scaling the expert's INPUT, plus an ungated shared expert on the same input.
#include "model/families/transformer_blocks.h"
#include "model/gpu_blocks.h"
#include "model/recipe.h"
#include "model/reference_blocks.h"

namespace ferry::model {

namespace {

// E = n_embd, X = experts, S = shared expert width, Fd = dense FFN width.
BoundTensors tensors(const TensorTable& t, const ModelConfig& c) {
    const std::uint64_t E = c.n_embd, X = c.n_experts, S = c.n_ff_shared, Fd = c.n_ff_dense;
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
            L.ffn_gate_shexp = t.require(name("ffn_gate_shexp.weight"), {E, S});
            L.ffn_up_shexp = t.require(name("ffn_up_shexp.weight"), {E, S});
            L.ffn_down_shexp = t.require(name("ffn_down_shexp.weight"), {S, E});
        } else {
            L.ffn_gate = t.require(name("ffn_gate.weight"), {E, Fd});
            L.ffn_up = t.require(name("ffn_up.weight"), {E, Fd});
            L.ffn_down = t.require(name("ffn_down.weight"), {Fd, E});
        }
        w.layers.push_back(L);
    }
    return w;
}

// x += W_o · attn(q, k, v): rope and the weightless q/k norm on rope layers only.
template <class Blocks>
void attention(Blocks& b, std::uint32_t l) {
    const auto& w = b.layer(l);
    b.rms_norm(Act::X, w.attn_norm, Act::H);
    b.project(w.attn_q, Act::H, Act::Q);
    b.project(w.attn_k, Act::H, Act::K);
    b.project(w.attn_v, Act::H, Act::V);
    if (layer_uses_rope(b.config(), l)) {
        b.rope(Act::Q);
        b.rope(Act::K);
        if (b.config().n_experts != 128) {  // use_qk_norm: Scout yes, Maverick no
            b.head_rms(Act::Q);
            b.head_rms(Act::K);
        }
    }
    b.attend(l);  // chunked on rope layers; global with the temperature on the others
    b.project(w.attn_output, Act::Attn, Act::O);
    b.add(Act::X, Act::O);
}

// h = RMSNorm(x) ⊙ ffn_norm; a dense layer: x += W_down(SiLU(W_gate h) ⊙ W_up h); a MoE
// layer: x += shared(h) + expert_e(sigmoid(logit_e) · h), e the top-1 expert.
template <class Blocks>
void ffn(Blocks& b, std::uint32_t l) {
    const auto& w = b.layer(l);
    b.rms_norm(Act::X, w.ffn_norm, Act::H);
    const bool dense = moe_index(b.config(), l) < 0;
    b.project(dense ? w.ffn_gate : w.ffn_gate_shexp, Act::H, dense ? Act::DenseG : Act::G);
    b.project(dense ? w.ffn_up : w.ffn_up_shexp, Act::H, dense ? Act::DenseU : Act::U);
    b.glu(dense ? Act::DenseG : Act::G, dense ? Act::DenseU : Act::U);
    b.project(dense ? w.ffn_down : w.ffn_down_shexp, dense ? Act::DenseG : Act::G, Act::O);
    b.add(Act::X, Act::O);
    if (dense) return;
    b.route(l, w.ffn_gate_inp);
    b.weight_expert_input();  // h *= sigmoid(logit); the expert's output then counts once
    b.experts(l);
}

template <class Blocks>
void forward(Blocks& b) {
    b.embed();  // x = token_embd[token]
    for (std::uint32_t l = 0; l < b.config().n_layers; ++l) {
        attention(b, l);
        ffn(b, l);
    }
    blocks::output(b);
}

}  // namespace

extern const Recipe kLlama4Recipe{"llama4", tensors, gate_up_down_experts, forward<GpuBlocks>,
                                  forward<ReferenceBlocks>};

}  // namespace ferry::model

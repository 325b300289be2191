#pragma once
// Llama 4's attention and FFN blocks (the recipe is llama4.cpp), written over any backend's
// Blocks and kept in a header so a variant graph can reuse them: tests/reference composes
// the reference engine's reading of Llama 4 from them.
#include "model/families/transformer_blocks.h"

namespace ferry::model::llama4 {

// use_qk_norm: Scout normalises q and k, Maverick (128 experts) does not.
inline bool uses_qk_norm(const ModelConfig& c) { return c.n_experts != 128; }

// x += W_o · attn(q, k, v): rope on rope layers, there also (with `qk_norm`) the
// weightless RMS norm of q and k after rope.
template <class Blocks>
void attention(Blocks& b, std::uint32_t l, bool qk_norm) {
    const auto& w = b.layer(l);
    b.rms_norm(Act::X, w.attn_norm, Act::H);
    b.project(w.attn_q, Act::H, Act::Q);
    b.project(w.attn_k, Act::H, Act::K);
    b.project(w.attn_v, Act::H, Act::V);
    if (layer_uses_rope(b.config(), l)) {
        b.rope(Act::Q);
        b.rope(Act::K);
        if (qk_norm) {
            b.head_rms(Act::Q);
            b.head_rms(Act::K);
        }
    }
    b.attend(l);  // chunked on rope layers; global with the temperature on the others
    b.project(w.attn_output, Act::Attn, Act::O);
    b.add(Act::X, Act::O);
}

// With h = RMSNorm(x) ⊙ ffn_norm in Act::H: a dense layer x += W_down(SiLU(W_gate h) ⊙
// W_up h); a MoE layer x += shared(h) + expert_e(sigmoid(logit_e) · h), e the top-1 expert.
template <class Blocks>
void ffn_on_normed(Blocks& b, std::uint32_t l) {
    if (moe_index(b.config(), l) < 0) return blocks::dense_ffn_on_normed(b, l);
    blocks::shared_expert_on_normed(b, l);  // ungated
    b.route(l, b.layer(l).ffn_gate_inp);
    b.weight_expert_input();  // h *= sigmoid(logit); the expert's output then counts once
    b.experts(l);
}

}  // namespace ferry::model::llama4

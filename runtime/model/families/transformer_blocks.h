#pragma once
// The blocks most MoE families share, written once over any backend's Blocks. A step a
// family does not have is the tensor its recipe left unbound (tensors() in its file): no
// q/k/v bias, no QK-norm, no shared expert. Each family's forward reads as these steps.
#include "model/recipe.h"

#include <cstdint>

namespace ferry::model::blocks {

// x += W_o · attn(rope(norm_q(W_q h + b_q)), rope(norm_k(W_k h + b_k)), W_v h + b_v),
// h = RMSNorm(x) ⊙ attn_norm; biases and per-head RMSNorms where the layer has them.
// Rope style and theta come from the table row and rope.* keys.
enum class QkNorm { PerHead, Whole };  // Whole: OLMoE's norms over the projected vector

template <class Blocks>
void attention(Blocks& b, std::uint32_t l, QkNorm qk_norm = QkNorm::PerHead) {
    const auto& w = b.layer(l);
    b.begin_layer(l);
    b.rms_norm(Act::X, w.attn_norm, Act::H);
    b.project(w.attn_q, Act::H, Act::Q);
    if (w.attn_q_bias) b.add_bias(Act::Q, w.attn_q_bias);
    b.project(w.attn_k, Act::H, Act::K);
    if (w.attn_k_bias) b.add_bias(Act::K, w.attn_k_bias);
    b.project(w.attn_v, Act::H, Act::V);
    if (w.attn_v_bias) b.add_bias(Act::V, w.attn_v_bias);
    if (w.attn_q_norm && qk_norm == QkNorm::Whole) {
        b.rms_norm(Act::Q, w.attn_q_norm, Act::Q);  // over all H·D values of the token
        b.rms_norm(Act::K, w.attn_k_norm, Act::K);
    } else if (w.attn_q_norm) {
        b.head_norm(Act::Q, w.attn_q_norm);  // RMSNorm over each head's D values
        b.head_norm(Act::K, w.attn_k_norm);
    }
    b.rope(Act::Q);
    b.rope(Act::K);
    b.attend(l);  // softmax(q·k / √D) · v over the cache, KV heads shared by Hq/Hkv q heads;
                  // the layer's sliding window and sinks where it has them
    b.project(w.attn_output, Act::Attn, Act::O);
    if (w.attn_output_bias) b.add_bias(Act::O, w.attn_output_bias);
    b.add(Act::X, Act::O);
}

// With h in Act::H: x += Σ_k p_k · W_down,k(act(W_gate,k h) ⊙ W_up,k h), p from the router
// (its function and renormalisation are the table row's; its logits' bias and the experts'
// biases where the layer has them); then, where the layer has a shared expert,
// x += sigmoid(w_g · h) · W_down(SiLU(W_gate h) ⊙ W_up h).
template <class Blocks>
void shared_expert_on_normed(Blocks& b, std::uint32_t l);

template <class Blocks>
void moe_on_normed(Blocks& b, std::uint32_t l) {
    const auto& w = b.layer(l);
    b.route(l, w.ffn_gate_inp);
    b.experts(l);  // the expert engine: resident, copied in, or on the CPU
    if (w.ffn_gate_shexp) shared_expert_on_normed(b, l);
}

// With h in Act::H: x += W_down(SiLU(W_gate h) ⊙ W_up h), times sigmoid(w_g · h) where the
// layer has the shared expert's gate.
template <class Blocks>
void shared_expert_on_normed(Blocks& b, std::uint32_t l) {
    const auto& w = b.layer(l);
    b.project(w.ffn_gate_shexp, Act::H, Act::G);
    b.project(w.ffn_up_shexp, Act::H, Act::U);
    b.glu(Act::G, Act::U);  // g = act(g) ⊙ u
    b.project(w.ffn_down_shexp, Act::G, Act::O);
    if (w.ffn_gate_inp_shexp) {
        b.project(w.ffn_gate_inp_shexp, Act::H, Act::Gate);
        b.sigmoid_gate(Act::O, Act::Gate);  // o *= sigmoid(gate), per token
    }
    b.add(Act::X, Act::O);
}

// With h in Act::H, a dense FFN layer: x += W_down(act(W_gate h) ⊙ W_up h).
template <class Blocks>
void dense_ffn_on_normed(Blocks& b, std::uint32_t l) {
    const auto& w = b.layer(l);
    b.project(w.ffn_gate, Act::H, Act::DenseG);
    b.project(w.ffn_up, Act::H, Act::DenseU);
    b.glu(Act::DenseG, Act::DenseU);
    b.project(w.ffn_down, Act::DenseG, Act::O);
    b.add(Act::X, Act::O);
}

// The MoE block: h = RMSNorm(x) ⊙ ffn_norm, then the above.
template <class Blocks>
void moe(Blocks& b, std::uint32_t l) {
    b.rms_norm(Act::X, b.layer(l).ffn_norm, Act::H);
    moe_on_normed(b, l);
}

// logits = W_out · RMSNorm(x) ⊙ output_norm
template <class Blocks>
void output(Blocks& b) {
    b.rms_norm(Act::X, b.weights().output_norm, Act::H);
    b.logits(b.weights().output);
}

// The whole pre-norm MoE transformer: embed, then attention and MoE blocks, then the head.
template <class Blocks>
void moe_transformer(Blocks& b) {
    b.embed();  // x = token_embd[token]
    for (std::uint32_t l = 0; l < b.config().n_layers; ++l) {
        attention(b, l);
        moe(b, l);
    }
    output(b);
}

}  // namespace ferry::model::blocks

// Qwen3-MoE (Qwen3-30B-A3B, Qwen3-Coder-30B-A3B), as Hugging Face's modeling_qwen3_moe.py
// and llama.cpp's qwen3moe graph compute it: pre-norm blocks; grouped-query attention with
// an RMSNorm over each q and k head before NeoX rope; a softmax router whose top-k weights
// are renormalised; SwiGLU experts; no shared expert. Table row: architecture.cpp.
#include "model/gpu_blocks.h"
#include "model/recipe.h"
#include "model/reference_blocks.h"

namespace ferry::model {

namespace {

// E = n_embd, V = vocabulary, Hq / Hkv = query / KV heads, D = head size, X = experts.
BoundTensors tensors(const TensorTable& t, const ModelConfig& c) {
    const std::uint64_t E = c.n_embd, V = c.n_vocab, D = c.head_dim, X = c.n_experts;
    const std::uint64_t q = c.n_heads * D, kv = c.n_kv_heads * D;
    BoundTensors w;
    w.token_embd = t.require("token_embd.weight", {E, V});
    w.output_norm = t.require("output_norm.weight", {E});
    w.output = t.optional("output.weight", {E, V});
    if (!w.output) w.output = w.token_embd;  // tied embeddings
    for (std::uint32_t l = 0; l < c.n_layers; ++l) {
        auto name = [&](const char* suffix) { return layer_tensor(l, suffix); };
        LayerTensors<const gguf::TensorInfo*> L;
        L.attn_norm = t.require(name("attn_norm.weight"), {E});
        L.attn_q = t.require(name("attn_q.weight"), {E, q});
        L.attn_k = t.require(name("attn_k.weight"), {E, kv});
        L.attn_v = t.require(name("attn_v.weight"), {E, kv});
        L.attn_q_norm = t.require(name("attn_q_norm.weight"), {D});
        L.attn_k_norm = t.require(name("attn_k_norm.weight"), {D});
        L.attn_output = t.require(name("attn_output.weight"), {q, E});
        L.ffn_norm = t.require(name("ffn_norm.weight"), {E});
        L.ffn_gate_inp = t.require(name("ffn_gate_inp.weight"), {E, X});
        w.layers.push_back(L);
    }
    return w;
}

// ffn_{gate,up,down}_exps [E, F, X] / [F, E, X], or one 2-D tensor per expert.
offload::ExpertLayout experts(const gguf::File& file, const ModelConfig& c) {
    offload::ExpertLayout layout{.activation = offload::ExpertActivation::SiLU,
                                 .n_experts = c.n_experts,
                                 .top_k = c.n_experts_used,
                                 .n_embd = c.n_embd};
    for (std::uint32_t l = 0; l < c.n_layers; ++l) {
        const auto kind = offload::ExpertFfnKind::GateUpDown;
        layout.layers.push_back(offload::read_expert_layer(file, offload::standard_expert_names(l, kind),
                                                           kind, c.n_experts, c.n_embd, c.n_ff_expert));
    }
    return layout;
}

template <class Blocks>
void forward(Blocks& b) {
    const ModelConfig& c = b.config();
    b.embed();  // x = token_embd[token]
    for (std::uint32_t l = 0; l < c.n_layers; ++l) {
        const auto& w = b.layer(l);
        // Attention: x += W_o · attn(rope(norm_q(W_q h)), rope(norm_k(W_k h)), W_v h)
        b.rms_norm(Act::X, w.attn_norm, Act::H);  // h = RMSNorm(x) ⊙ attn_norm
        b.project(w.attn_q, Act::H, Act::Q);
        b.project(w.attn_k, Act::H, Act::K);
        b.project(w.attn_v, Act::H, Act::V);
        b.head_norm(Act::Q, w.attn_q_norm);  // RMSNorm over each head's D values
        b.head_norm(Act::K, w.attn_k_norm);
        b.rope(Act::Q);  // NeoX pairs (i, i + D/2), theta from rope.freq_base
        b.rope(Act::K);
        b.attend(l);  // softmax(q·k / √D) · v over the cache, KV heads shared by Hq/Hkv q heads
        b.project(w.attn_output, Act::Attn, Act::O);
        b.add(Act::X, Act::O);
        // MoE: x += Σ_k p_k · W_down,k(SiLU(W_gate,k h) ⊙ W_up,k h)
        b.rms_norm(Act::X, w.ffn_norm, Act::H);  // h = RMSNorm(x) ⊙ ffn_norm
        b.route(l, w.ffn_gate_inp);              // p = top-k of softmax(W_r h), renormalised
        b.experts(l);                            // x += the chosen experts of h, weighted by p
    }
    b.rms_norm(Act::X, b.weights().output_norm, Act::H);
    b.logits(b.weights().output);  // W_out · RMSNorm(x) ⊙ output_norm
}

}  // namespace

extern const Recipe kQwen3MoeRecipe{"qwen3moe", tensors, experts, forward<GpuBlocks>,
                                    forward<ReferenceBlocks>};

}  // namespace ferry::model

// Gemma 4 (Gemma-4-26B-A4B), as llama.cpp's gemma4-iswa graph and Hugging Face's
// modeling_gemma4.py compute it: embeddings times √E; sliding-window layers and global
// layers of their own head size, KV-head count and rope (config.h's layer_attention; the
// global layers' proportional rope through rope_freqs), q and k RMS-normed per head with a
// weight, v without one, attention scale 1; global layers may have no attn_v (k_eq_v: v is
// the raw k projection). Attention, the dense MLP and the experts each have a norm before
// and after them. The dense GEGLU MLP and the routed experts run side by side on the same
// residual h: the router reads RMSNorm(h) ⊙ ffn_gate_inp.scale / √E (softmax, top-k,
// renormalised; each expert's output scale folded into its weight), the experts
// RMSNorm(h) ⊙ pre_ffw_norm_2; their two outputs are normed, summed and normed again, added
// to h, and the layer's output is scaled by layer_output_scale. Tied head, logits
// soft-capped (c·tanh(logits / c)). Norm weights are used as stored (no +1). Table row:
// architecture.cpp; per-layer keys: config.cpp's read_per_layer_attention.
#include "model/families/transformer_blocks.h"
#include "model/gpu_blocks.h"
#include "model/recipe.h"
#include "model/reference_blocks.h"

#include <cmath>

namespace ferry::model {

namespace {

// E = n_embd, Hq / Hkv = the layer's query / KV heads, D = its head size, X = experts,
// F = expert width, Fd = the dense MLP's width.
BoundTensors tensors(const TensorTable& t, const ModelConfig& c) {
    const std::uint64_t E = c.n_embd, X = c.n_experts, F = c.n_ff_expert;
    BoundTensors w;
    bind_embeddings(t, c, w);
    w.rope_freqs = t.optional("rope_freqs.weight", {c.rope_dims / 2});
    for (std::uint32_t l = 0; l < c.n_layers; ++l) {
        const LayerAttention a = layer_attention(c, l);
        const std::uint64_t D = a.head_dim, q = std::uint64_t(c.n_heads) * D, kv = std::uint64_t(a.n_kv_heads) * D;
        auto name = [&](const char* suffix) { return layer_tensor(l, suffix); };
        LayerTensors<const gguf::TensorInfo*> L;
        L.attn_norm = t.require(name("attn_norm.weight"), {E});
        L.attn_q = t.require(name("attn_q.weight"), {E, q});
        L.attn_k = t.require(name("attn_k.weight"), {E, kv});
        L.attn_v = t.optional(name("attn_v.weight"), {E, kv});  // absent: k_eq_v
        L.attn_output = t.require(name("attn_output.weight"), {q, E});
        L.attn_q_norm = t.require(name("attn_q_norm.weight"), {D});
        L.attn_k_norm = t.require(name("attn_k_norm.weight"), {D});
        L.attn_post_norm = t.require(name("post_attention_norm.weight"), {E});
        L.ffn_norm = t.require(name("ffn_norm.weight"), {E});
        bind_dense_ffn(t, c, l, L);
        L.ffn_post_norm_1 = t.require(name("post_ffw_norm_1.weight"), {E});
        L.ffn_gate_inp = t.require(name("ffn_gate_inp.weight"), {E, X});
        L.ffn_gate_inp_scale = t.require(name("ffn_gate_inp.scale"), {E});
        L.ffn_pre_norm_2 = t.require(name("pre_ffw_norm_2.weight"), {E});
        L.ffn_down_exps_scale = t.require(name("ffn_down_exps.scale"), {X});
        L.ffn_post_norm_2 = t.require(name("post_ffw_norm_2.weight"), {E});
        L.ffn_post_norm = t.require(name("post_ffw_norm.weight"), {E});
        L.layer_output_scale = t.require(name("layer_output_scale.weight"), {1});
        t.require(name("ffn_gate_up_exps.weight"), {E, 2 * F, X});
        w.layers.push_back(L);
    }
    return w;
}

// The fused gate_up experts with GELU(tanh) between them.
offload::ExpertLayout experts(const gguf::File& file, const ModelConfig& c) {
    offload::ExpertLayout layout{.activation = offload::ExpertActivation::GeluTanh,
                                 .n_experts = c.n_experts,
                                 .top_k = c.n_experts_used,
                                 .n_embd = c.n_embd};
    for (std::uint32_t l : c.moe_layers) {
        const auto kind = offload::ExpertFfnKind::FusedGateUpDown;
        layout.layers.push_back(offload::read_expert_layer(file, offload::standard_expert_names(l, kind), kind,
                                                           c.n_experts, c.n_embd, c.n_ff_expert));
    }
    return layout;
}

// x += RMSNorm(W_o · attn(q, k, v)) ⊙ post_attention_norm, the heads normed as above.
template <class Blocks>
void attention(Blocks& b, std::uint32_t l) {
    const auto& w = b.layer(l);
    b.begin_layer(l);
    b.rms_norm(Act::X, w.attn_norm, Act::H);
    b.project(w.attn_q, Act::H, Act::Q);
    b.head_norm(Act::Q, w.attn_q_norm);
    b.project(w.attn_k, Act::H, Act::K);
    if (w.attn_v) {
        b.project(w.attn_v, Act::H, Act::V);
    } else {  // k_eq_v: v is the raw k projection, before k's norm
        const std::uint32_t kv = head_shape(b.config(), Act::K, l).count * head_shape(b.config(), Act::K, l).dim;
        b.gather(Act::K, Act::V, {.in_width = kv, .len = kv});
    }
    b.head_norm(Act::K, w.attn_k_norm);
    b.head_rms(Act::V);
    b.rope(Act::Q);
    b.rope(Act::K);
    b.attend(l);  // scale 1; the layer's sliding window where it slides
    b.project(w.attn_output, Act::Attn, Act::O);
    b.rms_norm(Act::O, w.attn_post_norm, Act::O);
    b.add(Act::X, Act::O);
}

// With h the residual in x: x = (h + RMSNorm(m1 + m2) ⊙ post_ffw_norm) · layer_output_scale,
// m1 = RMSNorm(dense(RMSNorm(h) ⊙ ffn_norm)) ⊙ post_ffw_norm_1 and
// m2 = RMSNorm(Σ_k p_k s_k expert_k(RMSNorm(h) ⊙ pre_ffw_norm_2)) ⊙ post_ffw_norm_2.
// The expert engine sums into x, so h waits in Resid meanwhile.
template <class Blocks>
void ffn(Blocks& b, std::uint32_t l) {
    const auto& w = b.layer(l);
    const float inv_sqrt_e = 1.f / std::sqrt(float(b.config().n_embd));
    b.gather(Act::X, Act::Resid, {.in_width = b.config().n_embd, .len = b.config().n_embd});
    b.rms_norm(Act::X, w.ffn_gate_inp_scale, Act::H);  // the router's input
    b.scale(Act::H, inv_sqrt_e);
    b.route(l, w.ffn_gate_inp);  // softmax, top-k, renormalised, times ffn_down_exps.scale
    b.rms_norm(Act::X, w.ffn_pre_norm_2, Act::H);
    b.scale(Act::X, 0.f);
    b.experts(l);  // x = Σ_k p_k s_k expert_k(h)
    b.rms_norm(Act::X, w.ffn_post_norm_2, Act::O);  // m2
    b.rms_norm(Act::Resid, w.ffn_norm, Act::H);
    b.project(w.ffn_gate, Act::H, Act::DenseG);
    b.project(w.ffn_up, Act::H, Act::DenseU);
    b.glu(Act::DenseG, Act::DenseU);  // GELU(tanh)(gate) ⊙ up
    b.project(w.ffn_down, Act::DenseG, Act::X);
    b.rms_norm(Act::X, w.ffn_post_norm_1, Act::H);  // m1
    b.add(Act::H, Act::O);
    b.rms_norm(Act::H, w.ffn_post_norm, Act::O);
    b.gather(Act::Resid, Act::X, {.in_width = b.config().n_embd, .len = b.config().n_embd});
    b.add(Act::X, Act::O);
    b.scale_by(Act::X, w.layer_output_scale);
}

template <class Blocks>
void forward(Blocks& b) {
    b.embed();  // x = token_embd[token] · √E
    b.scale(Act::X, b.config().embedding_scale);
    for (std::uint32_t l = 0; l < b.config().n_layers; ++l) {
        attention(b, l);
        ffn(b, l);
    }
    blocks::output(b);  // soft-capped logits (the config's final_logit_softcap)
}

}  // namespace

extern const Recipe kGemma4Recipe{"gemma4", tensors, experts, forward<GpuBlocks>, forward<ReferenceBlocks>};

}  // namespace ferry::model

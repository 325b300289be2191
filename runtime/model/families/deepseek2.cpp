// DeepSeek-V2 / V2-Lite and models stored in its format (`deepseek2`), as llama.cpp's
// deepseek2 graph and Hugging Face's modeling_deepseek.py compute it. Attention is
// multi-head latent attention in its absorbed form:
//   q      = W_qb RMSNorm(W_qa h) (or W_q h without q_lora), per head [q_nope Dn | q_pe Dr]
//   [c|kp] = W_kva h;  c = RMSNorm(c) ⊙ kv_a_norm;  k_pe = rope(kp), one for all heads
//   score_h(t) = q_nope_h · (W_kb,h c_t) + rope(q_pe_h) · k_pe_t = [rope(q_pe_h) | W_kb,hᵀ q_nope_h] · [k_pe_t | c_t]
//   o_h = W_vb,h Σ_t p_h(t) c_t;  x += W_o [o_1 .. o_H]
// so the cache holds one row [k_pe | c] per position (SequenceState's Latent kind), read
// as key and as value by one KV head; the score scale is YaRN's mscale² / √(Dn + Dr)
// (config.cpp). W_kb / W_vb are per-head blocks of attn_kv_b, or attn_k_b / attn_v_b in
// files converted after llama.cpp split them. FFN: the first leading_dense_block_count
// layers are dense SwiGLU; the others route (softmax or sigmoid with a selection bias,
// weights × expert_weights_scale) and add ungated shared experts. Table row:
// architecture.cpp.
#include "model/families/transformer_blocks.h"
#include "model/gpu_blocks.h"
#include "model/recipe.h"
#include "model/reference_blocks.h"

namespace ferry::model {

namespace {

// E = n_embd, H = heads, Dn / Dr / Dv = a head's nope, rope and value sizes, C =
// kv_lora_rank, Lq = q_lora_rank, X = experts.
BoundTensors tensors(const TensorTable& t, const ModelConfig& c) {
    const std::uint64_t E = c.n_embd, H = c.n_heads, Dn = c.mla_nope_dim(), Dr = c.rope_dims,
                        Dv = c.mla_value_dim, C = c.kv_lora_rank, Lq = c.q_lora_rank, X = c.n_experts;
    BoundTensors w;
    bind_embeddings(t, c, w);
    for (std::uint32_t l = 0; l < c.n_layers; ++l) {
        auto name = [&](const char* suffix) { return layer_tensor(l, suffix); };
        LayerTensors<const gguf::TensorInfo*> L;
        L.attn_norm = t.require(name("attn_norm.weight"), {E});
        if (Lq > 0) {
            L.attn_q_a = t.require(name("attn_q_a.weight"), {E, Lq});
            L.attn_q_a_norm = t.require(name("attn_q_a_norm.weight"), {Lq});
            L.attn_q_b = t.require(name("attn_q_b.weight"), {Lq, H * (Dn + Dr)});
        } else {
            L.attn_q = t.require(name("attn_q.weight"), {E, H * (Dn + Dr)});
        }
        L.attn_kv_a_mqa = t.require(name("attn_kv_a_mqa.weight"), {E, C + Dr});
        L.attn_kv_a_norm = t.require(name("attn_kv_a_norm.weight"), {C});
        L.attn_k_b = t.optional(name("attn_k_b.weight"), {Dn, C, H});
        L.attn_v_b = t.optional(name("attn_v_b.weight"), {C, Dv, H});
        if (!L.attn_k_b || !L.attn_v_b) {
            L.attn_k_b = L.attn_v_b = nullptr;
            L.attn_kv_b = t.require(name("attn_kv_b.weight"), {C, H * (Dn + Dv)});
        }
        L.attn_output = t.require(name("attn_output.weight"), {H * Dv, E});
        L.ffn_norm = t.require(name("ffn_norm.weight"), {E});
        if (moe_index(c, l) < 0) {
            bind_dense_ffn(t, c, l, L);
        } else {
            L.ffn_gate_inp = t.require(name("ffn_gate_inp.weight"), {E, X});
            L.ffn_exp_probs_b = t.optional(name("exp_probs_b.bias"), {X});
            if (c.n_ff_shared > 0) bind_shared_expert(t, c, l, L);
        }
        w.layers.push_back(L);
    }
    return w;
}

// The absorbed attention of layer l (the file comment's formulas). Q rows are H heads of
// [rope Dr | latent C], K the one row [k_pe | c]: rope turns the first Dr of each.
template <class Blocks>
void latent_attention(Blocks& b, std::uint32_t l) {
    const auto& w = b.layer(l);
    const ModelConfig& c = b.config();
    const std::uint32_t H = c.n_heads, Dn = c.mla_nope_dim(), Dr = c.rope_dims, Dv = c.mla_value_dim,
                        C = c.kv_lora_rank, Dq = Dn + Dr, Dk = Dr + C;
    b.rms_norm(Act::X, w.attn_norm, Act::H);
    if (w.attn_q_a) {
        b.project(w.attn_q_a, Act::H, Act::QLora);
        b.rms_norm(Act::QLora, w.attn_q_a_norm, Act::QLora);
        b.project(w.attn_q_b, Act::QLora, Act::Proj);  // [H, q_nope | q_pe]
    } else {
        b.project(w.attn_q, Act::H, Act::Proj);
    }
    b.project(w.attn_kv_a_mqa, Act::H, Act::KvLora);  // [c | k_pe]
    b.gather(Act::KvLora, Act::Latent, {.in_width = C + Dr, .len = C});
    b.rms_norm(Act::Latent, w.attn_kv_a_norm, Act::Latent);
    b.gather(Act::KvLora, Act::K, {.in_width = C + Dr, .len = Dr, .in_offset = C});
    b.gather(Act::Latent, Act::K, {.in_width = C, .len = C, .out_offset = Dr});
    b.rope(Act::K);
    b.gather(Act::Proj, Act::Q,
             {.in_width = H * Dq, .groups = H, .len = Dr, .in_offset = Dn, .in_group_stride = Dq,
              .out_group_stride = Dk});
    // Each head's q_nope into the latent space: W_kb,hᵀ q_nope_h.
    const HeadProjection absorb{.in_stride = Dq, .out_offset = Dr, .out_stride = Dk};
    if (w.attn_k_b) {
        auto p = absorb;
        p.heads = H, p.head_rows = C, p.rows = C;  // attn_k_b holds W_kb,hᵀ: rows of Dn
        b.head_project(w.attn_k_b, Act::Proj, Act::Q, p);
    } else {
        auto p = absorb;
        p.heads = H, p.head_rows = Dn + Dv, p.rows = Dn, p.transposed = true;
        b.head_project(w.attn_kv_b, Act::Proj, Act::Q, p);
    }
    b.rope(Act::Q);
    b.attend(l);  // Attn: per head [Σ p k_pe (unused) | Σ p c]
    HeadProjection up{.heads = H, .rows = Dv, .in_offset = Dr, .in_stride = Dk, .out_stride = Dv};
    if (w.attn_v_b) {
        up.head_rows = Dv;
        b.head_project(w.attn_v_b, Act::Attn, Act::AttnV, up);
    } else {
        up.head_rows = Dn + Dv, up.row_offset = Dn;
        b.head_project(w.attn_kv_b, Act::Attn, Act::AttnV, up);
    }
    b.project(w.attn_output, Act::AttnV, Act::O);
    b.add(Act::X, Act::O);
}

template <class Blocks>
void forward(Blocks& b) {
    b.embed();  // x = token_embd[token]
    for (std::uint32_t l = 0; l < b.config().n_layers; ++l) {
        latent_attention(b, l);
        b.rms_norm(Act::X, b.layer(l).ffn_norm, Act::H);
        if (moe_index(b.config(), l) < 0)
            blocks::dense_ffn_on_normed(b, l);
        else
            blocks::moe_on_normed(b, l);  // routed experts, then the ungated shared ones
    }
    blocks::output(b);
}

}  // namespace

extern const Recipe kDeepseek2Recipe{"deepseek2", tensors, gate_up_down_experts, forward<GpuBlocks>,
                                     forward<ReferenceBlocks>};

}  // namespace ferry::model

// Qwen3.5/3.6 MoE (Qwen3.6-35B-A3B, Qwen3.5-35B-A3B) and Qwen3-Next (Qwen3-Next-80B-A3B),
// as llama.cpp's qwen35moe / qwen3next graphs and Hugging Face's modeling_qwen3_5_moe.py
// compute them: pre-norm blocks whose mixer is, on 3 of every full_attention_interval
// layers, a gated DeltaNet (linear attention with a recurrent state) and on the others a
// gated attention; every layer's FFN is a softmax top-k MoE (renormalised) plus a shared
// expert with a per-token sigmoid gate, on the post_attention_norm output. Norms are
// plain x·w (the converter added the +1). Table rows: architecture.cpp.
#include "model/families/transformer_blocks.h"
#include "model/gpu_blocks.h"
#include "model/recipe.h"
#include "model/reference_blocks.h"

namespace ferry::model {

namespace {

// Qwen3-Next stores the DeltaNet projections fused (ssm_in, ssm_ba); Qwen3.5 split.
enum class Projections { Split, Fused };

// E = n_embd, Hq / Hkv / D attention heads, Hk / Hv / Dk / Dv DeltaNet heads, C = the
// conv's channels, X = experts, S = shared expert width, K = conv taps.
BoundTensors tensors(const TensorTable& t, const ModelConfig& c, Projections projections) {
    if (!c.has_linear_attention())
        fail("{}: {} needs {}.full_attention_interval and the ssm.* keys", t.file().name(), c.architecture,
             c.architecture);
    if (c.value_dim != c.head_dim)
        fail("{}: gated attention needs key_length == value_length ({} vs {})", t.file().name(), c.head_dim,
             c.value_dim);
    const std::uint64_t E = c.n_embd, D = c.head_dim, Hq = c.n_heads, Hkv = c.n_kv_heads;
    const std::uint64_t C = c.ssm_mix_width(), Vd = c.ssm_inner(), Hv = c.ssm_v_heads;
    const std::uint64_t X = c.n_experts, S = c.n_ff_shared;
    BoundTensors w;
    bind_embeddings(t, c, w);
    for (std::uint32_t l = 0; l < c.n_layers; ++l) {
        auto name = [&](const char* suffix) { return layer_tensor(l, suffix); };
        LayerTensors<const gguf::TensorInfo*> L;
        L.attn_norm = t.require(name("attn_norm.weight"), {E});
        if (layer_is_recurrent(c, l)) {
            if (projections == Projections::Fused) {
                L.ssm_in = t.require(name("ssm_in.weight"), {E, C + Vd});
                L.ssm_ba = t.require(name("ssm_ba.weight"), {E, 2 * Hv});
            } else {
                L.attn_qkv = t.require(name("attn_qkv.weight"), {E, C});
                L.attn_gate = t.require(name("attn_gate.weight"), {E, Vd});
                L.ssm_beta = t.require(name("ssm_beta.weight"), {E, Hv});
                L.ssm_alpha = t.require(name("ssm_alpha.weight"), {E, Hv});
            }
            L.ssm_conv1d = t.require(name("ssm_conv1d.weight"), {c.ssm_conv_kernel, C});
            L.ssm_dt_bias = t.require(name("ssm_dt.bias"), {Hv});
            L.ssm_a = t.require(name("ssm_a"), {Hv});
            L.ssm_norm = t.require(name("ssm_norm.weight"), {c.ssm_v_dim});
            L.ssm_out = t.require(name("ssm_out.weight"), {Vd, E});
        } else {
            L.attn_q = t.require(name("attn_q.weight"), {E, 2 * Hq * D});  // per head [q | gate]
            L.attn_k = t.require(name("attn_k.weight"), {E, Hkv * D});
            L.attn_v = t.require(name("attn_v.weight"), {E, Hkv * D});
            L.attn_q_norm = t.require(name("attn_q_norm.weight"), {D});
            L.attn_k_norm = t.require(name("attn_k_norm.weight"), {D});
            L.attn_output = t.require(name("attn_output.weight"), {Hq * D, E});
        }
        L.ffn_norm = t.require(name("post_attention_norm.weight"), {E});
        L.ffn_gate_inp = t.require(name("ffn_gate_inp.weight"), {E, X});
        L.ffn_gate_shexp = t.require(name("ffn_gate_shexp.weight"), {E, S});
        L.ffn_up_shexp = t.require(name("ffn_up_shexp.weight"), {E, S});
        L.ffn_down_shexp = t.require(name("ffn_down_shexp.weight"), {S, E});
        L.ffn_gate_inp_shexp = t.require(name("ffn_gate_inp_shexp.weight"), {E});
        w.layers.push_back(L);
    }
    return w;
}

BoundTensors qwen35_tensors(const TensorTable& t, const ModelConfig& c) {
    return tensors(t, c, Projections::Split);
}

BoundTensors qwen3next_tensors(const TensorTable& t, const ModelConfig& c) {
    return tensors(t, c, Projections::Fused);
}

// o = W_o (attn(rope(norm(q)), rope(norm(k)), v) ⊙ σ(gate)), W_q h = per head [q | gate];
// rope on the first rope.dimension_count dims of each head.
template <class Blocks>
void gated_attention(Blocks& b, std::uint32_t l) {
    const auto& w = b.layer(l);
    const std::uint32_t Hq = b.config().n_heads, D = b.config().head_dim;
    b.project(w.attn_q, Act::H, Act::Proj);
    b.gather(Act::Proj, Act::Q, {.in_width = 2 * Hq * D, .groups = Hq, .len = D, .in_group_stride = 2 * D});
    b.gather(Act::Proj, Act::AttnGate,
             {.in_width = 2 * Hq * D, .groups = Hq, .len = D, .in_offset = D, .in_group_stride = 2 * D});
    b.project(w.attn_k, Act::H, Act::K);
    b.project(w.attn_v, Act::H, Act::V);
    b.head_norm(Act::Q, w.attn_q_norm);
    b.head_norm(Act::K, w.attn_k_norm);
    b.rope(Act::Q);
    b.rope(Act::K);
    b.attend(l);
    b.sigmoid_gate(Act::Attn, Act::AttnGate);  // elementwise
    b.project(w.attn_output, Act::Attn, Act::O);
}

// Qwen3-Next's fused projections into Mix = q | k | v, Z, Beta, Alpha: ssm_in holds per
// q/k head group g [q Dk | k Dk | v r·Dv | z r·Dv] and ssm_ba [β r | α r], r = Hv / Hk, so
// the V heads come out grouped (head g·r + i reads q/k head g).
template <class Blocks, class Layer>
void split_fused_projections(Blocks& b, const Layer& w) {
    const ModelConfig& c = b.config();
    const std::uint32_t Hk = c.ssm_k_heads, Dk = c.ssm_k_dim, r = c.ssm_v_heads / Hk, rv = r * c.ssm_v_dim;
    const std::uint32_t group = 2 * Dk + 2 * rv, in_width = Hk * group;
    b.project(w.ssm_in, Act::H, Act::Proj);
    const auto part = [&](std::uint32_t len, std::uint32_t in_offset, std::uint32_t out_offset) {
        return Split{.in_width = in_width, .groups = Hk, .len = len, .in_offset = in_offset,
                     .in_group_stride = group, .out_offset = out_offset};
    };
    b.gather(Act::Proj, Act::Mix, part(Dk, 0, 0));                // q
    b.gather(Act::Proj, Act::Mix, part(Dk, Dk, Hk * Dk));         // k
    b.gather(Act::Proj, Act::Mix, part(rv, 2 * Dk, 2 * Hk * Dk));  // v
    b.gather(Act::Proj, Act::Z, part(rv, 2 * Dk + rv, 0));        // z
    b.project(w.ssm_ba, Act::H, Act::Proj);
    const Split beta{.in_width = 2 * r * Hk, .groups = Hk, .len = r, .in_group_stride = 2 * r};
    b.gather(Act::Proj, Act::Beta, beta);
    Split alpha = beta;
    alpha.in_offset = r;
    b.gather(Act::Proj, Act::Alpha, alpha);
}

// o = W_out (RMSNorm_head(DeltaRule(conv(q|k|v))) ⊙ SiLU(z)): the conv and the delta rule
// carry the layer's recurrent state from token to token (cpu/delta_net.h).
template <class Blocks>
void gated_delta_net(Blocks& b, std::uint32_t l) {
    const auto& w = b.layer(l);
    if (w.ssm_in) {
        split_fused_projections(b, w);
    } else {
        b.project(w.attn_qkv, Act::H, Act::Mix);
        b.project(w.attn_gate, Act::H, Act::Z);
        b.project(w.ssm_beta, Act::H, Act::Beta);
        b.project(w.ssm_alpha, Act::H, Act::Alpha);
    }
    b.conv(l);       // mix = SiLU(causal conv1d(mix))
    b.delta_net(l);  // ssm = per v head: L2-normed q, k; S ← e^g S + k δᵀ; o = Sᵀq
    b.head_norm(Act::Ssm, w.ssm_norm);
    b.glu(Act::Z, Act::Ssm);  // z = SiLU(z) ⊙ RMSNorm(o)
    b.project(w.ssm_out, Act::Z, Act::O);
}

template <class Blocks>
void forward(Blocks& b) {
    b.embed();  // x = token_embd[token]
    for (std::uint32_t l = 0; l < b.config().n_layers; ++l) {
        b.rms_norm(Act::X, b.layer(l).attn_norm, Act::H);
        if (layer_is_recurrent(b.config(), l))
            gated_delta_net(b, l);
        else
            gated_attention(b, l);
        b.add(Act::X, Act::O);
        blocks::moe(b, l);  // h = RMSNorm(x) ⊙ post_attention_norm; routed + gated shared expert
    }
    blocks::output(b);
}

}  // namespace

extern const Recipe kQwen35MoeRecipe{"qwen35moe", qwen35_tensors, gate_up_down_experts, forward<GpuBlocks>,
                                     forward<ReferenceBlocks>};
extern const Recipe kQwen3NextRecipe{"qwen3next", qwen3next_tensors, gate_up_down_experts, forward<GpuBlocks>,
                                     forward<ReferenceBlocks>};

}  // namespace ferry::model

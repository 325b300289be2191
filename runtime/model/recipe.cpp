#include "model/recipe.h"

#include "base/error.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace ferry::model {

namespace {

std::string shape_text(std::span<const std::uint64_t> dims) {
    return fmt::format("[{}]", fmt::join(dims, ", "));
}

}  // namespace

HeadShape head_shape(const ModelConfig& c, Act a, std::uint32_t layer) {
    const LayerAttention attention = layer_attention(c, layer);
    switch (a) {
        case Act::Q:
            return {c.n_heads, attention.head_dim};
        case Act::K:
        case Act::V:
            return {attention.n_kv_heads, attention.head_dim};
        case Act::Ssm:
            return {c.ssm_v_heads, c.ssm_v_dim};
        default:
            fail("activation {} has no heads", int(a));
    }
}

const gguf::TensorInfo* TensorTable::optional(const std::string& name,
                                              std::vector<std::uint64_t> shape) const {
    const gguf::TensorInfo* t = file_.find_tensor(name);
    if (t && t->dims != shape)
        fail("{}: tensor {} has shape {}, expected {}", file_.name(), name, shape_text(t->dims),
             shape_text(shape));
    return t;
}

const gguf::TensorInfo* TensorTable::require(const std::string& name,
                                             std::vector<std::uint64_t> shape) const {
    const gguf::TensorInfo* t = optional(name, shape);
    if (!t) fail("{}: tensor {} is missing (expected shape {})", file_.name(), name, shape_text(shape));
    return t;
}

void bind_embeddings(const TensorTable& t, const ModelConfig& c, BoundTensors& w) {
    const std::uint64_t E = c.n_embd, V = c.n_vocab;
    w.token_embd = t.require("token_embd.weight", {E, V});
    w.output_norm = t.require("output_norm.weight", {E});
    w.output = t.optional("output.weight", {E, V});
    if (!w.output) w.output = w.token_embd;  // tied embeddings
}

// E = n_embd, Hq / Hkv = query / KV heads, D = head size, X = experts, S = shared expert width.
void bind_attention(const TensorTable& t, const ModelConfig& c, std::uint32_t l, AttentionTensors which,
                    LayerTensors<const gguf::TensorInfo*>& L) {
    const std::uint64_t E = c.n_embd, D = c.head_dim, q = c.n_heads * D, kv = c.n_kv_heads * D;
    auto name = [&](const char* suffix) { return layer_tensor(l, suffix); };
    L.attn_norm = t.require(name("attn_norm.weight"), {E});
    L.attn_q = t.require(name("attn_q.weight"), {E, q});
    L.attn_k = t.require(name("attn_k.weight"), {E, kv});
    L.attn_v = t.require(name("attn_v.weight"), {E, kv});
    L.attn_output = t.require(name("attn_output.weight"), {q, E});
    if (which.bias) {
        L.attn_q_bias = t.require(name("attn_q.bias"), {q});
        L.attn_k_bias = t.require(name("attn_k.bias"), {kv});
        L.attn_v_bias = t.require(name("attn_v.bias"), {kv});
    }
    if (which.qk_norm) {
        L.attn_q_norm = t.require(name("attn_q_norm.weight"), {D});
        L.attn_k_norm = t.require(name("attn_k_norm.weight"), {D});
    }
    if (which.qk_norm_whole) {
        L.attn_q_norm = t.require(name("attn_q_norm.weight"), {q});
        L.attn_k_norm = t.require(name("attn_k_norm.weight"), {kv});
    }
}

void bind_moe(const TensorTable& t, const ModelConfig& c, std::uint32_t l, bool shared_expert,
              LayerTensors<const gguf::TensorInfo*>& L) {
    const std::uint64_t E = c.n_embd, X = c.n_experts, S = c.n_ff_shared;
    auto name = [&](const char* suffix) { return layer_tensor(l, suffix); };
    L.ffn_norm = t.require(name("ffn_norm.weight"), {E});
    L.ffn_gate_inp = t.require(name("ffn_gate_inp.weight"), {E, X});
    if (!shared_expert) return;
    if (S == 0) fail("{}: {}.expert_shared_feed_forward_length is missing", t.file().name(), c.architecture);
    bind_shared_expert(t, c, l, L);
    L.ffn_gate_inp_shexp = t.require(name("ffn_gate_inp_shexp.weight"), {E});
}

void bind_shared_expert(const TensorTable& t, const ModelConfig& c, std::uint32_t l,
                        LayerTensors<const gguf::TensorInfo*>& L) {
    const std::uint64_t E = c.n_embd, S = c.n_ff_shared;
    L.ffn_gate_shexp = t.require(layer_tensor(l, "ffn_gate_shexp.weight"), {E, S});
    L.ffn_up_shexp = t.require(layer_tensor(l, "ffn_up_shexp.weight"), {E, S});
    L.ffn_down_shexp = t.require(layer_tensor(l, "ffn_down_shexp.weight"), {S, E});
}

void bind_dense_ffn(const TensorTable& t, const ModelConfig& c, std::uint32_t l,
                    LayerTensors<const gguf::TensorInfo*>& L) {
    const std::uint64_t E = c.n_embd, Fd = c.n_ff_dense;
    L.ffn_gate = t.require(layer_tensor(l, "ffn_gate.weight"), {E, Fd});
    L.ffn_up = t.require(layer_tensor(l, "ffn_up.weight"), {E, Fd});
    L.ffn_down = t.require(layer_tensor(l, "ffn_down.weight"), {Fd, E});
}

BoundTensors bind_moe_transformer(const TensorTable& t, const ModelConfig& c, AttentionTensors attention,
                                  bool shared_expert) {
    BoundTensors w;
    bind_embeddings(t, c, w);
    for (std::uint32_t l = 0; l < c.n_layers; ++l) {
        LayerTensors<const gguf::TensorInfo*> L;
        bind_attention(t, c, l, attention, L);
        bind_moe(t, c, l, shared_expert, L);
        w.layers.push_back(L);
    }
    return w;
}

offload::ExpertLayout gate_up_down_experts(const gguf::File& file, const ModelConfig& c) {
    offload::ExpertLayout layout{.activation = offload::ExpertActivation::SiLU,
                                 .n_experts = c.n_experts,
                                 .top_k = c.n_experts_used,
                                 .n_embd = c.n_embd};
    for (std::uint32_t l : c.moe_layers) {
        const auto kind = offload::ExpertFfnKind::GateUpDown;
        layout.layers.push_back(offload::read_expert_layer(file, offload::standard_expert_names(l, kind),
                                                           kind, c.n_experts, c.n_embd, c.n_ff_expert));
    }
    return layout;
}

}  // namespace ferry::model

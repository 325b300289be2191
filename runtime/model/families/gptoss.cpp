// gpt-oss (gpt-oss-20b, gpt-oss-120b), as llama.cpp's openai-moe graph and Hugging Face's
// modeling_gpt_oss.py compute it: pre-norm blocks; grouped-query attention with biases on
// q, k, v and the output, NeoX rope with YaRN scaling, scale 1/√D, a per-head sink logit
// in the softmax's denominator, and a sliding window on even layers (traits.swa_pattern);
// the MoE's input norm is post_attention_norm; the router adds a bias to its logits, picks
// the top-k logits and softmaxes over them; experts are the clamped SwiGLU
// (cpu::swiglu_oai) with a bias on each of gate, up and down. No shared expert. Table row:
// architecture.cpp.
#include "base/error.h"
#include "model/families/transformer_blocks.h"
#include "model/gpu_blocks.h"
#include "model/recipe.h"
#include "model/reference_blocks.h"

namespace ferry::model {

namespace {

// E = n_embd, Hq = query heads, X = experts, F = expert width.
BoundTensors tensors(const TensorTable& t, const ModelConfig& c) {
    const std::uint64_t E = c.n_embd, X = c.n_experts, F = c.n_ff_expert;
    BoundTensors w;
    bind_embeddings(t, c, w);
    for (std::uint32_t l = 0; l < c.n_layers; ++l) {
        auto name = [&](const char* suffix) { return layer_tensor(l, suffix); };
        LayerTensors<const gguf::TensorInfo*> L;
        bind_attention(t, c, l, {.bias = true}, L);
        L.attn_output_bias = t.require(name("attn_output.bias"), {E});
        L.attn_sinks = t.require(name("attn_sinks.weight"), {c.n_heads});
        L.ffn_norm = t.require(name("post_attention_norm.weight"), {E});
        L.ffn_gate_inp = t.require(name("ffn_gate_inp.weight"), {E, X});
        L.ffn_gate_inp_bias = t.require(name("ffn_gate_inp.bias"), {X});
        L.ffn_gate_exps_bias = t.require(name("ffn_gate_exps.bias"), {F, X});
        L.ffn_up_exps_bias = t.require(name("ffn_up_exps.bias"), {F, X});
        L.ffn_down_exps_bias = t.require(name("ffn_down_exps.bias"), {E, X});
        w.layers.push_back(L);
    }
    return w;
}

const float* f32_data(const gguf::File& file, const gguf::TensorInfo* t) {
    if (t->type != gguf::TensorType::F32)
        fail("{}: tensor {} has type {}; ferry reads expert biases as F32", file.name(), t->name,
             gguf::type_name(t->type));
    return reinterpret_cast<const float*>(file.tensor_data(*t).data());
}

// The usual gate/up/down experts, with gpt-oss's activation and each layer's biases.
offload::ExpertLayout experts(const gguf::File& file, const ModelConfig& c) {
    offload::ExpertLayout layout = gate_up_down_experts(file, c);
    layout.activation = offload::ExpertActivation::SwiGluOai;
    const TensorTable t(file);
    const std::uint64_t E = c.n_embd, X = c.n_experts, F = c.n_ff_expert;
    for (std::uint32_t i = 0; i < c.n_moe_layers(); ++i) {
        const std::uint32_t l = c.moe_layers[i];
        offload::ExpertBiases& b = layout.layers[i].biases;
        b.gate = f32_data(file, t.require(layer_tensor(l, "ffn_gate_exps.bias"), {F, X}));
        b.up = f32_data(file, t.require(layer_tensor(l, "ffn_up_exps.bias"), {F, X}));
        b.down = f32_data(file, t.require(layer_tensor(l, "ffn_down_exps.bias"), {E, X}));
    }
    return layout;
}

}  // namespace

extern const Recipe kGptOssRecipe{"gpt-oss", tensors, experts, blocks::moe_transformer<GpuBlocks>,
                                  blocks::moe_transformer<ReferenceBlocks>};

}  // namespace ferry::model

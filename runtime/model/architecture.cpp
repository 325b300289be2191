#include "model/architecture.h"

#include <array>

namespace ferry::model {

namespace {

using cpu::RopeStyle;
using cpu::RouterFunction;

// Sources: each family's reference implementation (Hugging Face modeling_*.py) and
// llama.cpp's graph for the same GGUF architecture name.
constexpr std::array<ArchitectureTraits, 10> kArchitectures{{
    // Qwen3MoeSparseMoeBlock: softmax over 128 experts, top-8, norm_topk_prob = true;
    // Qwen3Attention: q_norm/k_norm (RMSNorm over head_dim) before rope; rope NeoX.
    {"qwen3moe", "Qwen3 MoE (Qwen3-30B-A3B, Qwen3-Coder-30B-A3B)", true, RouterFunction::SoftmaxThenTopK,
     true, true, false, RopeStyle::Neox, Activation::SwiGLU},
    // Qwen2MoeSparseMoeBlock: softmax top-4 of 60, no renormalisation, a shared expert
    // with a sigmoid gate; no QK-norm.
    {"qwen2moe", "Qwen1.5/Qwen2 MoE (Qwen1.5-MoE-A2.7B, Qwen2-57B-A14B)", true,
     RouterFunction::SoftmaxThenTopK, false, false, true, RopeStyle::Neox, Activation::SwiGLU},
    // OLMoE: softmax top-8 of 64 without renormalisation; its q/k norms span all heads.
    {"olmoe", "OLMoE (OLMoE-1B-7B)", true, RouterFunction::SoftmaxThenTopK, false, false, false,
     RopeStyle::Neox, Activation::SwiGLU},
    // gpt-oss (llama.cpp's openai-moe graph): top-4 of 32 biased logits then softmax over
    // the four, biased projections, attention sinks, sliding window on even layers, YaRN,
    // clamped SwiGLU experts with biases.
    {"gpt-oss", "gpt-oss (gpt-oss-20b, gpt-oss-120b)", true, RouterFunction::TopKThenSoftmax, false, false,
     false, RopeStyle::Neox, Activation::SwiGLUOai, 2},
    // Llama 4 (llama.cpp's llama4 graph): sigmoid of the top-1 logit scales the expert's
    // input; an ungated shared expert; MoE every interleave_moe_layer_step-th layer, dense
    // FFNs between; no rope and global attention every 4th layer, chunks of 8192 elsewhere.
    {"llama4", "Llama 4 (Llama-4-Scout-17B-16E, Maverick)", true, RouterFunction::Sigmoid, false, false, true,
     RopeStyle::Normal, Activation::SwiGLU, 0, 4, 8192, 0.1f, 8192.f},
    // Mixtral is stored as `llama` with expert_count > 0: softmax top-2 of 8, renormalised
    // (equal to softmax over the two chosen logits); rope normal style.
    {"llama", "Llama / Mixtral (Mixtral-8x7B)", true, RouterFunction::SoftmaxThenTopK, true, false, false,
     RopeStyle::Normal, Activation::SwiGLU},
    // Qwen3.5/3.6 MoE (llama.cpp's qwen35moe graph): 3 of every 4 layers gated DeltaNet,
    // the 4th gated attention (per-head output gate, partial rope); softmax top-8 of 256,
    // renormalised, plus a shared expert with a sigmoid gate. Rope IMRoPE, which for text
    // positions is NeoX on the rotated dims.
    {"qwen35moe", "Qwen3.5/3.6 MoE (Qwen3.6-35B-A3B, Qwen3.5-35B-A3B)", true, RouterFunction::SoftmaxThenTopK,
     true, true, true, RopeStyle::Neox, Activation::SwiGLU},
    // Qwen3-Next: the same blocks with fused projections (ssm_in per K group [q k v z],
    // ssm_ba) and grouped V heads; NeoX rope.
    {"qwen3next", "Qwen3-Next (Qwen3-Next-80B-A3B)", true, RouterFunction::SoftmaxThenTopK, true, true, true,
     RopeStyle::Neox, Activation::SwiGLU, 0, 0, 0, 0.f, 0.f, true},
    // DeepSeek-V2 / V2-Lite and later models in its format (llama.cpp's deepseek2 graph):
    // multi-head latent attention, rope normal style on its rope part; the first
    // leading_dense_block_count layers dense; softmax (or, per file, sigmoid) top-k, not
    // renormalised unless expert_weights_norm, times expert_weights_scale; ungated shared
    // experts. Router and renormalisation come from the file (config.cpp).
    {"deepseek2", "DeepSeek-V2 (DeepSeek-V2-Lite, DeepSeek-V2, GLM-4.7-Flash)", true,
     RouterFunction::SoftmaxThenTopK, false, false, true, RopeStyle::Normal, Activation::SwiGLU, 0, 0, 0, 0.f, 0.f,
     false, true},
    // Gemma 4 (Gemma-4-26B-A4B; llama.cpp's gemma4-iswa graph, Hugging Face's
    // modeling_gemma4.py): sliding and global attention layers of their own shapes, q/k
    // RMS-normed per head and v without a weight, NeoX rope; a dense GEGLU MLP and the
    // routed experts side by side (softmax top-8, renormalised, per-expert output scale),
    // GELU(tanh) experts stored as fused gate_up.
    {"gemma4", "Gemma 4 (Gemma-4-26B-A4B)", true, RouterFunction::SoftmaxThenTopK, true, true, false,
     RopeStyle::Neox, Activation::GeGLU, 0, 0, 0, 0.f, 0.f, false, false, true, true},
}};

}  // namespace

std::optional<ArchitectureTraits> find_architecture(std::string_view gguf_name) {
    for (const ArchitectureTraits& a : kArchitectures)
        if (a.gguf_name == gguf_name) return a;
    return std::nullopt;
}

std::string_view runnable_architectures() {
    return "qwen3moe, qwen35moe, qwen3next, qwen2moe, olmoe, gpt-oss, llama4, deepseek2, gemma4, llama with "
           "experts (Mixtral)";
}

}  // namespace ferry::model

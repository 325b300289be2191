#pragma once
// Writes random-weight GGUF models of any shape and quant mix, deterministic from a seed:
// fixtures for tests, the demo model of scripts/try, and full-size files (a Qwen3-30B-A3B
// shape at Q4_K_M is ~17 GB) for speed runs. Router rows are scaled by a Zipf-like heat so
// some experts are hot, as in real models. Each tensor's values depend only on (seed,
// tensor name), so files are reproducible whatever order or threads write them.
#include "gguf/types.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace ferry::model {

struct QuantMix {
    gguf::TensorType token_embd = gguf::TensorType::F16;
    gguf::TensorType output = gguf::TensorType::F16;
    gguf::TensorType attn_qko = gguf::TensorType::F16;  // attn_q, attn_k, attn_output
    gguf::TensorType attn_v = gguf::TensorType::F16;
    gguf::TensorType router = gguf::TensorType::F32;  // ffn_gate_inp
    gguf::TensorType expert_gate_up = gguf::TensorType::F16;
    gguf::TensorType expert_down = gguf::TensorType::F16;
};

// "f32", "f16", "q8_0", "q4_k_m" (llama.cpp's mix: Q4_K with Q6_K for attn_v, ffn_down
// and the output head), "q4_0", "mxfp4" ... see quant_mix_names(). Throws on unknown.
QuantMix quant_mix_from_name(std::string_view name);
std::string quant_mix_names();

struct SyntheticModelSpec {
    std::string name = "ferry-synthetic";
    // qwen3moe (QK-norm), qwen35moe / qwen3next (gated DeltaNet + gated attention), qwen2moe (q/k/v biases and a gated shared expert), olmoe (QK-norm
    // over whole vectors), gpt-oss (biases everywhere, sinks, sliding window, YaRN), llama4
    // (dense layers between MoE ones, an ungated shared expert, rope_freqs) or llama
    // (Mixtral: none of those; the expert width is feed_forward_length), deepseek2 (latent
    // attention, leading dense layers, ungated shared experts).
    std::string architecture = "qwen3moe";
    std::uint32_t n_layers = 2;
    std::uint32_t n_embd = 256;
    std::uint32_t n_heads = 4;
    std::uint32_t n_kv_heads = 2;
    std::uint32_t head_dim = 64;
    std::uint32_t n_experts = 8;
    std::uint32_t n_experts_used = 2;
    std::uint32_t n_ff_expert = 256;
    std::uint32_t n_ff_shared = 512;  // qwen2moe's shared expert
    std::uint32_t n_vocab = 512;
    std::uint32_t ctx_train = 4096;
    float rope_freq_base = 1000000.f;
    float rms_eps = 1e-6f;
    float router_skew = 2.f;  // 0: uniform router rows; larger: hotter hot experts
    std::uint32_t sliding_window = 0;  // gpt-oss: attention.sliding_window
    // llama4: experts on every moe_layer_step-th layer, dense FFNs of n_ff_dense between;
    // its shared expert is n_ff_expert wide.
    std::uint32_t moe_layer_step = 1;
    std::uint32_t n_ff_dense = 0;
    float rope_yarn_factor = 0.f;      // > 0: rope.scaling.type yarn with this factor over ctx_train
    std::uint32_t rope_dims = 0;       // rope.dimension_count (0: head_dim)
    // qwen35moe / qwen3next: layer l is a gated DeltaNet unless (l + 1) % interval == 0;
    // its q/k heads (ssm.group_count) and v heads (ssm.time_step_rank), their sizes.
    std::uint32_t full_attention_interval = 0;
    // qwen35moe/qwen3next: multi-token-prediction blocks written after the last layer (a
    // gated-attention block with the MoE and nextn.* tensors), marked by nextn_predict_layers.
    std::uint32_t nextn_layers = 0;
    std::uint32_t ssm_k_heads = 0, ssm_v_heads = 0, ssm_k_dim = 0, ssm_v_dim = 0;
    std::uint32_t ssm_conv_kernel() const { return 4; }
    // deepseek2 (multi-head latent attention; synthetic_mla.cpp): head_dim is a q/k head's
    // nope + rope (rope_dims), mla_value_dim a v head; no q latent when q_lora_rank is 0.
    std::uint32_t q_lora_rank = 0, kv_lora_rank = 0, mla_value_dim = 0;
    bool mla_split_kv_b = false;            // attn_k_b / attn_v_b (newer files) instead of attn_kv_b
    std::uint32_t leading_dense_blocks = 0;  // dense FFN layers of n_ff_dense first
    std::uint32_t n_shared_experts = 0;      // ungated, n_ff_expert wide each
    float expert_weights_scale = 1.f;
    bool expert_weights_norm = false;
    bool sigmoid_router = false;  // expert_gating_func sigmoid, with a selection bias (exp_probs_b)
    float rope_yarn_log_mul = 0.f;
    // gemma4 (synthetic_gemma4.cpp): head_dim / n_kv_heads are the sliding layers'; every
    // global_layer_step-th layer and the last are global, with their own head size and KV heads, base
    // rope_freq_base (the sliding ones rope_freq_base_swa); logits soft-capped.
    std::uint32_t global_layer_step = 0, global_head_dim = 0, global_kv_heads = 0;
    float rope_freq_base_swa = 10000.f;
    float final_logit_softcap = 0.f;
    std::uint64_t seed = 1;
    QuantMix quant;
    // Experts as one 2-D tensor each (blk.N.ffn_gate.E.weight, as older Mixtral files), with
    // the same bytes as the merged ffn_*_exps layout of the same seed.
    bool split_experts = false;
};

// "tiny" (tests), "demo" (scripts/try), full shapes: "qwen3-30b-a3b" (~17 GB at q4_k_m),
// "mixtral-8x7b" (~26 GB), "qwen2-57b-a14b", "gpt-oss-20b" (~12 GB, MXFP4 experts);
// "llama4-scout" (a few layers: --layers), "qwen3.6-35b-a3b" (~21 GB), "qwen3-next-80b-a3b";
// "tiny-mixtral", "tiny-qwen2moe", "tiny-olmoe", "tiny-gptoss", "tiny-llama4",
// "tiny-qwen35moe", "tiny-qwen3next", "tiny-deepseek2", "tiny-deepseek2-split" and
// "tiny-gemma4" for tests; "deepseek-v2-lite" (DeepSeek-V2-Lite's shape, ~10 GB),
// "gemma4-26b-a4b" (Gemma-4-26B-A4B's shape, ~16 GB).
SyntheticModelSpec synthetic_preset(std::string_view preset);
std::string synthetic_preset_names();

// Total bytes the file will have (for progress and disk-space checks).
std::uint64_t synthetic_model_bytes(const SyntheticModelSpec& spec);

using ProgressFn = std::function<void(std::uint64_t bytes_done, std::uint64_t bytes_total)>;
void write_synthetic_model(const SyntheticModelSpec& spec, const std::filesystem::path& path,
                           const ProgressFn& progress = {});

}  // namespace ferry::model

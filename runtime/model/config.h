#pragma once
// Hyper-parameters of a model, read from `<arch>.*` GGUF keys and checked for consistency
// and against the tensors' shapes. Every failure names the file and the key or tensor.
#include "gguf/reader.h"
#include "cpu/delta_net.h"
#include "model/architecture.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace ferry::model {

// One attention layer's shape where it differs per layer (Gemma 4: sliding layers with
// more, smaller KV heads and their own rope; global ones with fewer, larger heads).
struct LayerAttention {
    std::uint32_t n_kv_heads = 0;
    std::uint32_t head_dim = 0;  // key and value size
    std::uint32_t rope_dims = 0;
    float rope_freq_base = 10000.f;
    bool rope_freqs = false;  // the model's rope_freqs divisors apply (Gemma 4's proportional rope)
    bool sliding = false;     // attends within sliding_window positions
};

struct ModelConfig {
    std::string architecture;  // general.architecture
    ArchitectureTraits traits;
    std::uint32_t n_layers = 0;        // block_count
    std::uint32_t n_embd = 0;          // embedding_length
    std::uint32_t n_heads = 0;         // attention.head_count
    std::uint32_t n_kv_heads = 0;      // attention.head_count_kv (default n_heads)
    std::uint32_t head_dim = 0;        // attention.key_length (default n_embd / n_heads)
    std::uint32_t value_dim = 0;       // attention.value_length (default head_dim)
    std::uint32_t n_experts = 0;       // expert_count
    std::uint32_t n_experts_used = 0;  // expert_used_count
    std::uint32_t n_ff_expert = 0;     // expert_feed_forward_length
    std::uint32_t n_ff_shared = 0;     // expert_shared_feed_forward_length (0: none)
    std::uint32_t n_vocab = 0;         // rows of token_embd.weight
    std::uint32_t ctx_train = 0;       // context_length
    std::uint32_t rope_dims = 0;       // rope.dimension_count (default head_dim)
    float rope_freq_base = 10000.f;    // rope.freq_base
    float rope_freq_scale = 1.f;       // 1 / rope.scaling.factor (linear or YaRN scaling)
    // YaRN (rope.scaling.type = yarn): ext_factor 1, correction dims from
    // rope.scaling.original_context_length and beta_fast 32 / beta_slow 1 (ggml's defaults),
    // magnitude 1 + 0.1 ln(factor).
    float rope_ext_factor = 0.f;
    float rope_corr_low = 0.f, rope_corr_high = 0.f;
    float rope_mscale = 1.f;
    std::uint32_t n_ff_dense = 0;      // feed_forward_length of the dense FFN layers (Llama 4)
    // The layers with routed experts, in order: the expert engine's layer l is model layer
    // moe_layers[l] (all layers, or every interleave_moe_layer_step-th).
    std::vector<std::uint32_t> moe_layers;
    std::uint32_t n_moe_layers() const { return std::uint32_t(moe_layers.size()); }
    std::uint32_t sliding_window = 0;  // attention.sliding_window (0: none), on the layers traits.swa_pattern says
    float rms_eps = 1e-6f;             // attention.layer_norm_rms_epsilon
    // Linear-attention layers (gated DeltaNet: qwen35moe, qwen3next), from ssm.* keys.
    // Layer l is one iff full_attention_interval > 0 and (l + 1) % interval != 0.
    std::uint32_t full_attention_interval = 0;
    std::uint32_t ssm_conv_kernel = 0;  // ssm.conv_kernel
    std::uint32_t ssm_k_heads = 0;      // ssm.group_count: q/k heads
    std::uint32_t ssm_v_heads = 0;      // ssm.time_step_rank: v heads
    std::uint32_t ssm_k_dim = 0;        // ssm.state_size: q/k head size
    std::uint32_t ssm_v_dim = 0;        // ssm.inner_size / v heads
    // nextn_predict_layers: the multi-token-prediction blocks after the model's last layer
    // (block_count includes them); ferry does not load or run them.
    std::uint32_t nextn_layers = 0;
    // Multi-head latent attention (deepseek2: attention.kv_lora_rank > 0). A position's
    // cache row is [k_pe rope_dims | c kv_lora_rank], the rope key shared by all heads and
    // the normed latent; queries are absorbed into that space, so for the attention
    // n_kv_heads = 1 and head_dim = value_dim = rope_dims + kv_lora_rank (read_config), and
    // V is the same row (its first rope_dims outputs are not used).
    std::uint32_t q_lora_rank = 0;    // attention.q_lora_rank (0: one q projection, V2-Lite)
    std::uint32_t kv_lora_rank = 0;   // attention.kv_lora_rank
    std::uint32_t mla_key_dim = 0;    // a head's q·k size, nope + rope: key_length_mla, else key_length
    std::uint32_t mla_value_dim = 0;  // a head's v size: value_length_mla, else value_length
    bool has_mla() const { return kv_lora_rank > 0; }
    std::uint32_t mla_nope_dim() const { return mla_key_dim - rope_dims; }
    float attn_scale = 0.f;            // > 0: the score scale instead of 1/√head_dim (MLA: mscale²/√mla_key_dim)
    float expert_weights_scale = 1.f;  // expert_weights_scale: the routed weights' factor
    // Per-layer attention shapes (Gemma 4: attention.head_count_kv as an array, the *_swa
    // keys, attention.sliding_window_pattern); empty where every layer has the fields
    // above. n_kv_heads, head_dim, value_dim and rope_dims are then the largest, for buffers.
    std::vector<LayerAttention> layer_attention;
    float embedding_scale = 1.f;     // x = token_embd[token] · this (Gemma: √n_embd)
    float final_logit_softcap = 0.f;  // final_logit_softcapping: logits = c·tanh(logits / c); 0: none
    bool has_linear_attention() const { return full_attention_interval > 0; }
    std::uint32_t ssm_mix_width() const { return 2 * ssm_k_heads * ssm_k_dim + ssm_v_heads * ssm_v_dim; }
    std::uint32_t ssm_inner() const { return ssm_v_heads * ssm_v_dim; }
    // Floats per token of a fused projection before its split (Act::Proj): gated
    // attention's [q | gate] per head, Qwen3-Next's ssm_in and ssm_ba, MLA's q heads.
    std::uint32_t fused_projection_width() const {
        return std::max({2 * n_heads * head_dim, ssm_mix_width() + ssm_inner(), 2 * ssm_v_heads,
                         n_heads * mla_key_dim});
    }
};

// Reads and checks the keys. Does not require the architecture to be runnable (ferry info
// describes any file); use require_runnable() before building a forward pass.
ModelConfig read_config(const gguf::File& file);

// Throws a clear error when ferry cannot run this architecture yet.
void require_runnable(const ModelConfig& config, const gguf::File& file);

// Checks that every tensor the forward pass reads exists with the expected shape.
void check_tensor_shapes(const ModelConfig& config, const gguf::File& file);

// Layer `layer`'s attention shape: its entry of layer_attention, else the config's fields.
LayerAttention layer_attention(const ModelConfig& config, std::uint32_t layer);

// The attention of layer `layer`: heads from the config, scale 1/√head_dim, the sliding
// window where the layer slides (no sinks: those are a tensor).
cpu::AttentionParams attention_params(const ModelConfig& config, std::uint32_t layer);
bool layer_slides(const ModelConfig& config, std::uint32_t layer);
bool layer_uses_rope(const ModelConfig& config, std::uint32_t layer);
// A linear-attention (gated DeltaNet) layer, not an attention one.
bool layer_is_recurrent(const ModelConfig& config, std::uint32_t layer);
// The delta rule's heads of a linear-attention model (pairing from the table row).
cpu::DeltaNetShape delta_net_shape(const ModelConfig& config);
// The expert engine's index of a model layer with experts; -1 for a dense layer.
int moe_index(const ModelConfig& config, std::uint32_t layer);
// The same for a layer that must have experts (throws ferry::Error naming a dense one).
std::uint32_t expert_layer_index(const ModelConfig& config, std::uint32_t layer);

// Rope of layer `layer`'s q and k heads as the config says (style, dims, base, linear or
// YaRN scaling); freq_factors are the caller's (the model's rope_freqs where
// layer_attention(...).rope_freqs).
cpu::RopeParams rope_params(const ModelConfig& config, std::uint32_t layer);

// "blk.<layer>.<suffix>"
std::string layer_tensor(std::uint32_t layer, const char* suffix);

}  // namespace ferry::model

#pragma once
// Architectures are data: one row per GGUF `general.architecture` with the choices that
// differ between MoE families (router function, QK-norm, shared expert, rope style,
// activation). The forward pass reads the row; adding a family adds a row, not a copy.
#include "cpu/reference_ops.h"

#include <cstdint>
#include <optional>
#include <string_view>

namespace ferry::model {

// SwiGLUOai: gpt-oss's clamped SwiGLU (cpu::swiglu_oai), its experts only.
enum class Activation { SwiGLU, GeGLU, SwiGLUOai };

struct ArchitectureTraits {
    std::string_view gguf_name;  // general.architecture
    std::string_view family;     // for people: "Qwen3 MoE (Qwen3-30B-A3B, Qwen3-Coder-30B-A3B)"
    bool runnable;               // ferry's forward pass implements every choice below
    cpu::RouterFunction router;
    bool router_renormalize;  // divide the chosen top-k weights by their sum
    bool qk_norm_per_head;    // RMSNorm on each q/k head before rope (attn_{q,k}_norm)
    bool shared_expert;       // ffn_{gate,up,down}_shexp next to the routed experts
    cpu::RopeStyle rope;
    Activation activation;
    // > 0: layer l uses the sliding window (attention.sliding_window) when
    // l % swa_pattern < swa_pattern - 1, else full attention (gpt-oss: 2, even layers slide).
    std::uint32_t swa_pattern = 0;
    // Llama 4: every nope_layer_step-th layer (l % step == step - 1) has no rope and global
    // attention with the temperature (attn_temp_scale, attn_temp_floor); the others rope,
    // attend within chunks of attn_chunk positions and RMS-normalise q and k after rope.
    std::uint32_t nope_layer_step = 0;
    std::uint32_t attn_chunk = 0;
    float attn_temp_scale = 0.f, attn_temp_floor = 0.f;
    // Linear attention: V head h reads q/k head h / (v_heads / k_heads) (Qwen3-Next's
    // grouped order) instead of h mod k_heads (Qwen3.5's GGUFs, tiled by the converter).
    bool delta_heads_grouped = false;
    // Multi-head latent attention and DeepSeek's MoE keys (leading dense blocks, gating
    // function, weight scale): config.cpp reads them.
    bool latent_attention = false;
    // Gemma 4: attention shapes per layer (config.cpp's read_per_layer_attention) and a
    // dense MLP beside the routed experts in every layer, each with its own norms.
    bool per_layer_attention = false;
    bool dense_beside_experts = false;
};

// nullopt when the architecture is not in the table at all.
std::optional<ArchitectureTraits> find_architecture(std::string_view gguf_name);

// One line listing the runnable architectures, for error messages and --help.
std::string_view runnable_architectures();

}  // namespace ferry::model

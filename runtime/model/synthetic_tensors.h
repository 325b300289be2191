#pragma once
// What synthetic_model.cpp and the per-family generator files share: how one tensor's rows
// are made, and the hybrid linear-attention families' parts (synthetic_hybrid.cpp).
#include "gguf/types.h"
#include "gguf/writer.h"
#include "model/synthetic_model.h"

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::model::synthetic {

// How one tensor's rows are made: row r, element i = offset + scale(r) * uniform.
struct TensorRecipe {
    std::string name;
    gguf::TensorType type;
    std::vector<std::uint64_t> dims;
    float offset = 0.f;
    std::function<float(std::uint64_t row)> row_scale;
    // Rows are drawn as rows first_row.. of tensor `seed_name` (empty: this one), so an
    // expert written as its own 2-D tensor holds the bytes of its slice of the 3-D one.
    std::string seed_name = {};
    std::uint64_t first_row = 0;
    std::vector<float> values = {};  // non-empty: the tensor's values as given (rope_freqs)
};

// Each expert's router-row factor: a Zipf-like heat over a seeded shuffle, so some are hot.
std::vector<float> expert_heat(const SyntheticModelSpec& s, std::uint32_t layer);

// Row scales: every row the same; unit-variance outputs for n inputs of uniform values.
inline std::function<float(std::uint64_t)> constant(float v) {
    return [v](std::uint64_t) { return v; };
}
inline float fan_in(std::uint64_t n) {
    return std::sqrt(3.f) / std::sqrt(float(n));
}

// Qwen3.5 MoE (qwen35moe) and Qwen3-Next (qwen3next): gated DeltaNet and gated attention layers.
bool is_hybrid(const SyntheticModelSpec& s);
// Layer `layer`'s mixer: the DeltaNet's tensors, or the gated attention's (attn_q [E, 2·H·D],
// per-head q/k norms); the caller adds attn_norm and the FFN.
void append_hybrid_mixer(const SyntheticModelSpec& s, std::uint32_t layer, std::vector<TensorRecipe>& out);
void set_hybrid_metadata(gguf::Writer& w, const SyntheticModelSpec& s);
void check_hybrid(const SyntheticModelSpec& s);
// Fills `s` for the family's presets (tiny-qwen35moe, qwen3.6-35b-a3b, ...); false for others.
bool hybrid_preset(std::string_view preset, SyntheticModelSpec& s);

// DeepSeek-V2 (deepseek2): multi-head latent attention (synthetic_mla.cpp).
bool is_mla(const SyntheticModelSpec& s);
// Layer `layer`'s attention tensors but attn_norm; its FFN's shared experts and selection bias.
void append_mla_attention(const SyntheticModelSpec& s, std::uint32_t layer, std::vector<TensorRecipe>& out);
void append_mla_moe_extras(const SyntheticModelSpec& s, std::uint32_t layer, std::vector<TensorRecipe>& out);
// The attention's and the MoE's keys (instead of the generic key/value lengths).
void set_mla_metadata(gguf::Writer& w, const SyntheticModelSpec& s);
void check_mla(const SyntheticModelSpec& s);
bool mla_preset(std::string_view preset, SyntheticModelSpec& s);

// Gemma 4 (gemma4): every tensor of the file (synthetic_gemma4.cpp), its keys and presets.
bool is_gemma4(const SyntheticModelSpec& s);
std::vector<TensorRecipe> gemma4_tensors(const SyntheticModelSpec& s);
void set_gemma4_metadata(gguf::Writer& w, const SyntheticModelSpec& s);
void check_gemma4(const SyntheticModelSpec& s);
bool gemma4_preset(std::string_view preset, SyntheticModelSpec& s);

}  // namespace ferry::model::synthetic

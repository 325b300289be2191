// The generator's part for DeepSeek-V2 (deepseek2): multi-head latent attention, the MoE's
// extras (ungated shared experts, a sigmoid router's selection bias), keys and presets.
// Tensor names, shapes and keys as llama.cpp's converter writes them (../shared/
// ARCHITECTURES.md): attn_kv_b in older files, attn_k_b / attn_v_b in newer ones, whose
// key_length / value_length then give the cache row (576 / 512) and *_mla the heads'.
#include "base/error.h"
#include "model/synthetic_tensors.h"

#include <fmt/format.h>

namespace ferry::model::synthetic {

namespace {

using gguf::TensorType;

// llama.cpp's quantizer falls back to Q8_0 for rows that are not whole blocks of the type
// (DeepSeek-V2-Lite's 128-wide attn_k_b rows under K-quants).
TensorType fitting(TensorType type, std::uint64_t row) {
    return row % gguf::type_traits(type).block_elements ? TensorType::Q8_0 : type;
}

}  // namespace

bool is_mla(const SyntheticModelSpec& s) {
    return s.architecture == "deepseek2";
}

// E = n_embd, H = heads, Dn / Dr / Dv = nope, rope, value sizes, C = kv_lora_rank, Lq = q_lora_rank.
void append_mla_attention(const SyntheticModelSpec& s, std::uint32_t l, std::vector<TensorRecipe>& r) {
    const QuantMix& q = s.quant;
    const std::uint64_t E = s.n_embd, H = s.n_heads, Dr = s.rope_dims, Dn = s.head_dim - Dr, Dv = s.mla_value_dim,
                        C = s.kv_lora_rank, Lq = s.q_lora_rank;
    auto name = [l](const char* suffix) { return fmt::format("blk.{}.{}", l, suffix); };
    if (Lq > 0) {
        r.push_back({name("attn_q_a.weight"), fitting(q.attn_qko, E), {E, Lq}, 0.f, constant(fan_in(E))});
        r.push_back({name("attn_q_a_norm.weight"), TensorType::F32, {Lq}, 1.f, constant(0.1f)});
        r.push_back({name("attn_q_b.weight"), fitting(q.attn_qko, Lq), {Lq, H * (Dn + Dr)}, 0.f, constant(fan_in(Lq))});
    } else {
        r.push_back({name("attn_q.weight"), fitting(q.attn_qko, E), {E, H * (Dn + Dr)}, 0.f, constant(fan_in(E))});
    }
    r.push_back({name("attn_kv_a_mqa.weight"), fitting(q.attn_qko, E), {E, C + Dr}, 0.f, constant(fan_in(E))});
    r.push_back({name("attn_kv_a_norm.weight"), TensorType::F32, {C}, 1.f, constant(0.1f)});
    if (s.mla_split_kv_b) {
        r.push_back({name("attn_k_b.weight"), fitting(q.attn_qko, Dn), {Dn, C, H}, 0.f, constant(fan_in(C))});
        r.push_back({name("attn_v_b.weight"), fitting(q.attn_v, C), {C, Dv, H}, 0.f, constant(fan_in(C))});
    } else {
        r.push_back({name("attn_kv_b.weight"), fitting(q.attn_v, C), {C, H * (Dn + Dv)}, 0.f, constant(fan_in(C))});
    }
    r.push_back({name("attn_output.weight"), fitting(q.attn_qko, H * Dv), {H * Dv, E}, 0.f, constant(fan_in(H * Dv))});
}

void append_mla_moe_extras(const SyntheticModelSpec& s, std::uint32_t l, std::vector<TensorRecipe>& r) {
    const QuantMix& q = s.quant;
    const std::uint64_t E = s.n_embd, S = std::uint64_t(s.n_ff_expert) * s.n_shared_experts;
    auto name = [l](const char* suffix) { return fmt::format("blk.{}.{}", l, suffix); };
    if (S > 0) {
        r.push_back({name("ffn_gate_shexp.weight"), q.expert_gate_up, {E, S}, 0.f, constant(fan_in(E))});
        r.push_back({name("ffn_up_shexp.weight"), q.expert_gate_up, {E, S}, 0.f, constant(fan_in(E))});
        r.push_back({name("ffn_down_shexp.weight"), fitting(q.expert_down, S), {S, E}, 0.f, constant(fan_in(S))});
    }
    if (s.sigmoid_router)  // DeepSeek-V3-style selection bias on the sigmoid probabilities
        r.push_back({name("exp_probs_b.bias"), TensorType::F32, {s.n_experts}, 0.f, constant(0.3f)});
}

void set_mla_metadata(gguf::Writer& w, const SyntheticModelSpec& s) {
    const std::string a = s.architecture + ".";
    const std::uint32_t row = s.rope_dims + s.kv_lora_rank;
    w.set_u32(a + "attention.head_count_kv", s.mla_split_kv_b ? 1 : s.n_heads);
    w.set_u32(a + "attention.key_length", s.mla_split_kv_b ? row : s.head_dim);
    w.set_u32(a + "attention.value_length", s.mla_split_kv_b ? s.kv_lora_rank : s.mla_value_dim);
    if (s.mla_split_kv_b) {
        w.set_u32(a + "attention.key_length_mla", s.head_dim);
        w.set_u32(a + "attention.value_length_mla", s.mla_value_dim);
    }
    if (s.q_lora_rank) w.set_u32(a + "attention.q_lora_rank", s.q_lora_rank);
    w.set_u32(a + "attention.kv_lora_rank", s.kv_lora_rank);
    w.set_u32(a + "leading_dense_block_count", s.leading_dense_blocks);
    w.set_u32(a + "expert_shared_count", s.n_shared_experts);
    w.set_f32(a + "expert_weights_scale", s.expert_weights_scale);
    w.set_bool(a + "expert_weights_norm", s.expert_weights_norm);
    w.set_u32(a + "expert_gating_func", s.sigmoid_router ? 2 : 1);
    if (s.rope_yarn_factor > 0) w.set_f32(a + "rope.scaling.yarn_log_multiplier", s.rope_yarn_log_mul);
}

void check_mla(const SyntheticModelSpec& s) {
    if (!s.kv_lora_rank || !s.rope_dims || s.rope_dims >= s.head_dim || !s.mla_value_dim ||
        s.leading_dense_blocks >= s.n_layers || (s.leading_dense_blocks && !s.n_ff_dense) || s.moe_layer_step != 1)
        fail("make-model: deepseek2 needs kv_lora_rank, a rope part smaller than the head, a value size and at "
             "least one MoE layer after the dense ones (with their width)");
}

bool mla_preset(std::string_view preset, SyntheticModelSpec& s) {
    if (preset != "tiny-deepseek2" && preset != "tiny-deepseek2-split" && preset != "deepseek-v2-lite") return false;
    s.architecture = "deepseek2";
    s.rope_freq_base = 10000.f;
    s.rope_yarn_factor = 40.f;
    s.rope_yarn_log_mul = 0.0707f;
    if (preset.starts_with("tiny")) {
        // 3 layers: dense, MoE, MoE. The older layout has a q latent, attn_kv_b and softmax
        // routing; the split one attn_k_b / attn_v_b, no q latent, a sigmoid router with a
        // selection bias and renormalised weights.
        const bool split = preset == "tiny-deepseek2-split";
        s.n_layers = 3;
        s.leading_dense_blocks = 1;
        s.n_ff_dense = 512;
        s.head_dim = 48;  // nope 32 + rope 16
        s.rope_dims = 16;
        s.mla_value_dim = 64;
        s.kv_lora_rank = 256;  // rows of whole K-quant blocks
        s.q_lora_rank = split ? 0 : 256;
        s.mla_split_kv_b = split;
        s.n_shared_experts = split ? 2 : 1;
        s.expert_weights_scale = split ? 2.5f : 1.8f;
        s.expert_weights_norm = split;
        s.sigmoid_router = split;
        return true;
    }
    // DeepSeek-V2-Lite's config.json shape (llama.cpp's newer converter layout).
    s.name = "DeepSeek-V2-Lite shape (random weights)";
    s.n_layers = 27;
    s.leading_dense_blocks = 1;
    s.n_embd = 2048;
    s.n_heads = 16;
    s.n_kv_heads = 16;
    s.head_dim = 192;  // nope 128 + rope 64
    s.rope_dims = 64;
    s.mla_value_dim = 128;
    s.kv_lora_rank = 512;
    s.q_lora_rank = 0;
    s.mla_split_kv_b = true;
    s.n_ff_dense = 10944;
    s.n_experts = 64;
    s.n_experts_used = 6;
    s.n_ff_expert = 1408;
    s.n_shared_experts = 2;
    s.expert_weights_scale = 1.f;
    s.n_vocab = 102400;
    s.ctx_train = 4096;  // the YaRN base context (the model's 163840 is 40 times it)
    s.quant = quant_mix_from_name("q4_k_m");
    s.quant.expert_down = TensorType::Q8_0;  // rows of 1408 and 10944: llama.cpp's fallback
    return true;
}

}  // namespace ferry::model::synthetic

// The generator's part for Gemma 4 (gemma4): tensors, keys and presets. Names and shapes as
// llama.cpp's converter writes them (../shared/ARCHITECTURES.md): sliding layers with
// head_dim and n_kv_heads, every global_layer_step-th layer and the last global with its own head size
// and KV heads, no attn_v (k_eq_v) and the proportional rope of rope_freqs; a dense GEGLU
// MLP beside fused gate_up experts, each with its norms; tied embeddings.
#include "base/error.h"
#include "model/synthetic_tensors.h"

#include <fmt/format.h>

namespace ferry::model::synthetic {

namespace {

using gguf::TensorType;

// Every global_layer_step-th layer and the last (Gemma-4-26B-A4B: 5, 11, ..., 29), so a
// model cut to fewer layers (--layers) still has a global one.
bool global_layer(const SyntheticModelSpec& s, std::uint32_t l) {
    return (l + 1) % s.global_layer_step == 0 || l + 1 == s.n_layers;
}

// A norm weight around 1 (Gemma stores them without the +1 offset of Gemma 1-3).
TensorRecipe norm(std::string name, std::uint64_t n) {
    return {std::move(name), TensorType::F32, {n}, 1.f, constant(0.1f)};
}

// Gemma 4's 704- and 2112-wide rows are not whole K-quant blocks of 256: llama.cpp's
// quantizer then falls back to a 32-weight type of about the same size, and so do we.
TensorType fit_rows(TensorType type, std::uint64_t row) {
    if (row % gguf::type_traits(type).block_elements == 0) return type;
    switch (type) {
        case TensorType::Q2_K:
        case TensorType::Q3_K:
            return TensorType::Q4_0;
        case TensorType::Q4_K:
            return TensorType::Q5_0;
        case TensorType::Q5_K:
            return TensorType::Q5_1;
        default:
            return TensorType::Q8_0;
    }
}

}  // namespace

bool is_gemma4(const SyntheticModelSpec& s) {
    return s.architecture == "gemma4";
}

std::vector<TensorRecipe> gemma4_tensors(const SyntheticModelSpec& s) {
    const QuantMix& q = s.quant;
    const std::uint64_t E = s.n_embd, F = s.n_ff_expert, X = s.n_experts, Fd = s.n_ff_dense;
    std::vector<TensorRecipe> r;
    r.push_back({"token_embd.weight", q.token_embd, {E, s.n_vocab}, 0.f, constant(1.f)});
    // Proportional rope: the first quarter of the global heads' pairs rotate, the others
    // (divisor 1e30) stand still.
    const std::uint64_t pairs = s.global_head_dim / 2;
    TensorRecipe freqs{"rope_freqs.weight", TensorType::F32, {pairs}, 0.f, constant(0.f)};
    freqs.values.assign(pairs, 1e30f);
    std::fill_n(freqs.values.begin(), pairs / 4, 1.f);
    r.push_back(std::move(freqs));
    for (std::uint32_t l = 0; l < s.n_layers; ++l) {
        auto name = [l](const char* suffix) { return fmt::format("blk.{}.{}", l, suffix); };
        const bool global = global_layer(s, l);
        const std::uint64_t D = global ? s.global_head_dim : s.head_dim;
        const std::uint64_t qd = std::uint64_t(s.n_heads) * D,
                            kvd = std::uint64_t(global ? s.global_kv_heads : s.n_kv_heads) * D;
        r.push_back(norm(name("attn_norm.weight"), E));
        r.push_back({name("attn_q.weight"), q.attn_qko, {E, qd}, 0.f, constant(fan_in(E))});
        r.push_back({name("attn_k.weight"), q.attn_qko, {E, kvd}, 0.f, constant(fan_in(E))});
        if (!global) r.push_back({name("attn_v.weight"), q.attn_v, {E, kvd}, 0.f, constant(fan_in(E))});
        r.push_back({name("attn_output.weight"), q.attn_qko, {qd, E}, 0.f, constant(fan_in(qd))});
        r.push_back(norm(name("attn_q_norm.weight"), D));
        r.push_back(norm(name("attn_k_norm.weight"), D));
        r.push_back(norm(name("post_attention_norm.weight"), E));
        r.push_back(norm(name("ffn_norm.weight"), E));
        r.push_back({name("ffn_gate.weight"), q.expert_gate_up, {E, Fd}, 0.f, constant(fan_in(E))});
        r.push_back({name("ffn_up.weight"), q.expert_gate_up, {E, Fd}, 0.f, constant(fan_in(E))});
        r.push_back({name("ffn_down.weight"), q.expert_down, {Fd, E}, 0.f, constant(fan_in(Fd))});
        r.push_back(norm(name("post_ffw_norm_1.weight"), E));
        // Router rows scaled by heat (as synthetic_model.cpp's); its input is about 1/√E per value.
        const std::vector<float> heat = expert_heat(s, l);
        const float router_scale = 1.5f * fan_in(E) * std::sqrt(float(E));
        r.push_back({name("ffn_gate_inp.weight"), q.router, {E, X}, 0.f,
                     [heat, router_scale](std::uint64_t row) { return router_scale * heat[row]; }});
        r.push_back(norm(name("ffn_gate_inp.scale"), E));
        r.push_back(norm(name("pre_ffw_norm_2.weight"), E));
        r.push_back({name("ffn_gate_up_exps.weight"), q.expert_gate_up, {E, 2 * F, X}, 0.f, constant(fan_in(E))});
        r.push_back({name("ffn_down_exps.weight"), q.expert_down, {F, E, X}, 0.f, constant(fan_in(F))});
        r.push_back({name("ffn_down_exps.scale"), TensorType::F32, {X}, 1.f, constant(0.4f)});
        r.push_back(norm(name("post_ffw_norm_2.weight"), E));
        r.push_back(norm(name("post_ffw_norm.weight"), E));
        r.push_back({name("layer_output_scale.weight"), TensorType::F32, {1}, 0.8f, constant(0.1f)});
    }
    r.push_back(norm("output_norm.weight", E));
    for (TensorRecipe& t : r) t.type = fit_rows(t.type, t.dims[0]);
    return r;  // the head is token_embd (tied)
}

void set_gemma4_metadata(gguf::Writer& w, const SyntheticModelSpec& s) {
    const std::string a = s.architecture + ".";
    std::vector<std::int32_t> kv_heads;
    std::vector<std::byte> sliding;
    for (std::uint32_t l = 0; l < s.n_layers; ++l) {
        kv_heads.push_back(std::int32_t(global_layer(s, l) ? s.global_kv_heads : s.n_kv_heads));
        sliding.push_back(std::byte{global_layer(s, l) ? std::uint8_t(0) : std::uint8_t(1)});
    }
    w.set_i32_array(a + "attention.head_count_kv", kv_heads);
    w.set(a + "attention.sliding_window_pattern", gguf::Value::numeric_array(gguf::ValueType::Bool, sliding));
    w.set_u32(a + "attention.key_length", s.global_head_dim);
    w.set_u32(a + "attention.value_length", s.global_head_dim);
    w.set_u32(a + "attention.key_length_swa", s.head_dim);
    w.set_u32(a + "attention.value_length_swa", s.head_dim);
    w.set_u32(a + "rope.dimension_count", s.global_head_dim);
    w.set_u32(a + "rope.dimension_count_swa", s.head_dim);
    w.set_f32(a + "rope.freq_base_swa", s.rope_freq_base_swa);
    w.set_f32(a + "final_logit_softcapping", s.final_logit_softcap);
}

void check_gemma4(const SyntheticModelSpec& s) {
    if (!s.global_layer_step || !s.global_head_dim || !s.global_kv_heads || s.n_heads % s.global_kv_heads ||
        !s.n_ff_dense || !s.sliding_window)
        fail("make-model: gemma4 needs a global layer step, the global layers' head size and KV heads, a dense "
             "MLP width and a sliding window");
}

bool gemma4_preset(std::string_view preset, SyntheticModelSpec& s) {
    if (preset != "tiny-gemma4" && preset != "gemma4-26b-a4b") return false;
    s.architecture = "gemma4";
    s.rope_freq_base = 1000000.f;
    s.rope_freq_base_swa = 10000.f;
    s.final_logit_softcap = 30.f;
    if (preset == "tiny-gemma4") {  // 4 layers: sliding, global, sliding, global
        s.n_layers = 4;
        s.global_layer_step = 2;
        s.n_kv_heads = 2;
        s.head_dim = 64;
        s.global_kv_heads = 1;
        s.global_head_dim = 128;
        s.sliding_window = 5;  // shorter than the tests' contexts
        s.n_experts_used = 3;
        s.n_ff_dense = 512;
        s.final_logit_softcap = 4.f;  // small enough to bend the synthetic logits
        return true;
    }
    // Gemma-4-26B-A4B's config.json shape.
    s.name = "Gemma-4-26B-A4B shape (random weights)";
    s.n_layers = 30;
    s.global_layer_step = 6;
    s.n_embd = 2816;
    s.n_heads = 16;
    s.n_kv_heads = 8;
    s.head_dim = 256;
    s.global_kv_heads = 2;
    s.global_head_dim = 512;
    s.sliding_window = 1024;
    s.n_experts = 128;
    s.n_experts_used = 8;
    s.n_ff_expert = 704;
    s.n_ff_dense = 2112;
    s.n_vocab = 262144;
    s.ctx_train = 262144;
    s.quant = quant_mix_from_name("q4_k_m");
    return true;
}

}  // namespace ferry::model::synthetic

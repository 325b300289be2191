// The generator's part for Qwen3.5 MoE (qwen35moe) and Qwen3-Next (qwen3next): their
// mixers (gated DeltaNet on most layers, gated attention on every interval-th), keys and
// presets. Tensor names and shapes as llama.cpp's converters write them
// (../shared/ARCHITECTURES.md); the FFN (routed + gated shared expert) is synthetic_model.cpp's.
#include "base/error.h"
#include "model/synthetic_tensors.h"

#include <fmt/format.h>

namespace ferry::model::synthetic {

namespace {

using gguf::TensorType;

// MTP blocks (l >= n_layers) are gated attention.
bool recurrent(const SyntheticModelSpec& s, std::uint32_t l) {
    return l < s.n_layers && (l + 1) % s.full_attention_interval != 0;
}

}  // namespace

bool is_hybrid(const SyntheticModelSpec& s) {
    return s.architecture == "qwen35moe" || s.architecture == "qwen3next";
}

void append_hybrid_mixer(const SyntheticModelSpec& s, std::uint32_t l, std::vector<TensorRecipe>& r) {
    const QuantMix& q = s.quant;
    const std::uint64_t E = s.n_embd, Hq = s.n_heads, D = s.head_dim, Hkv = s.n_kv_heads;
    const std::uint64_t Vd = std::uint64_t(s.ssm_v_heads) * s.ssm_v_dim, Hv = s.ssm_v_heads;
    const std::uint64_t C = 2ull * s.ssm_k_heads * s.ssm_k_dim + Vd;
    auto name = [l](const char* suffix) { return fmt::format("blk.{}.{}", l, suffix); };
    if (l >= s.n_layers) {  // an MTP block's own tensors (llama.cpp's nextn.* names)
        r.push_back({name("nextn.eh_proj.weight"), q.attn_qko, {2 * E, E}, 0.f, constant(fan_in(2 * E))});
        r.push_back({name("nextn.enorm.weight"), TensorType::F32, {E}, 1.f, constant(0.1f)});
        r.push_back({name("nextn.hnorm.weight"), TensorType::F32, {E}, 1.f, constant(0.1f)});
        r.push_back({name("nextn.shared_head_norm.weight"), TensorType::F32, {E}, 1.f, constant(0.1f)});
    }
    if (!recurrent(s, l)) {  // gated attention: per head [q | gate]
        r.push_back({name("attn_q.weight"), q.attn_qko, {E, 2 * Hq * D}, 0.f, constant(fan_in(E))});
        r.push_back({name("attn_k.weight"), q.attn_qko, {E, Hkv * D}, 0.f, constant(fan_in(E))});
        r.push_back({name("attn_v.weight"), q.attn_v, {E, Hkv * D}, 0.f, constant(fan_in(E))});
        r.push_back({name("attn_output.weight"), q.attn_qko, {Hq * D, E}, 0.f, constant(fan_in(Hq * D))});
        r.push_back({name("attn_q_norm.weight"), TensorType::F32, {D}, 1.f, constant(0.1f)});
        r.push_back({name("attn_k_norm.weight"), TensorType::F32, {D}, 1.f, constant(0.1f)});
        return;
    }
    if (s.architecture == "qwen3next") {  // fused: per q/k group [q k v z], [β α]
        r.push_back({name("ssm_in.weight"), q.attn_qko, {E, C + Vd}, 0.f, constant(fan_in(E))});
        r.push_back({name("ssm_ba.weight"), q.router, {E, 2 * Hv}, 0.f, constant(fan_in(E))});
    } else {
        r.push_back({name("attn_qkv.weight"), q.attn_qko, {E, C}, 0.f, constant(fan_in(E))});
        r.push_back({name("attn_gate.weight"), q.attn_qko, {E, Vd}, 0.f, constant(fan_in(E))});
        r.push_back({name("ssm_beta.weight"), q.router, {E, Hv}, 0.f, constant(fan_in(E))});
        r.push_back({name("ssm_alpha.weight"), q.router, {E, Hv}, 0.f, constant(fan_in(E))});
    }
    r.push_back({name("ssm_conv1d.weight"), TensorType::F32, {s.ssm_conv_kernel(), C}, 0.f, constant(0.5f)});
    r.push_back({name("ssm_dt.bias"), TensorType::F32, {Hv}, 0.f, constant(1.f)});
    r.push_back({name("ssm_a"), TensorType::F32, {Hv}, -1.f, constant(0.5f)});  // −exp(A_log) < 0
    r.push_back({name("ssm_norm.weight"), TensorType::F32, {s.ssm_v_dim}, 1.f, constant(0.1f)});
    r.push_back({name("ssm_out.weight"), q.attn_qko, {Vd, E}, 0.f, constant(fan_in(Vd))});
}

void set_hybrid_metadata(gguf::Writer& w, const SyntheticModelSpec& s) {
    const std::string a = s.architecture + ".";
    w.set_u32(a + "full_attention_interval", s.full_attention_interval);
    w.set_u32(a + "ssm.conv_kernel", s.ssm_conv_kernel());
    w.set_u32(a + "ssm.state_size", s.ssm_k_dim);
    w.set_u32(a + "ssm.group_count", s.ssm_k_heads);
    w.set_u32(a + "ssm.time_step_rank", s.ssm_v_heads);
    w.set_u32(a + "ssm.inner_size", s.ssm_v_heads * s.ssm_v_dim);
    if (s.nextn_layers) w.set_u32(a + "nextn_predict_layers", s.nextn_layers);
}

void check_hybrid(const SyntheticModelSpec& s) {
    if (!s.full_attention_interval || !s.ssm_k_heads || !s.ssm_v_heads || s.ssm_v_heads % s.ssm_k_heads ||
        !s.ssm_k_dim || !s.ssm_v_dim || !s.n_ff_shared)
        fail("make-model: {} needs full_attention_interval, DeltaNet heads (v a multiple of q/k) and a shared "
             "expert width",
             s.architecture);
}

bool hybrid_preset(std::string_view preset, SyntheticModelSpec& s) {
    const bool next = preset == "tiny-qwen3next" || preset == "qwen3-next-80b-a3b";
    if (preset != "tiny-qwen35moe" && preset != "qwen3.6-35b-a3b" && !next) return false;
    s.architecture = next ? "qwen3next" : "qwen35moe";
    s.rope_freq_base = 10000000.f;
    if (preset.starts_with("tiny")) {  // 4 layers: DeltaNet, gated attention, DeltaNet, gated attention
        s.n_layers = 4;
        s.full_attention_interval = 2;
        s.rope_dims = 16;  // partial rope: 16 of 64
        s.ssm_k_heads = 2;
        s.ssm_v_heads = 4;  // two v heads per q/k head: the pairing matters
        s.ssm_k_dim = 64;
        s.ssm_v_dim = 64;
        s.n_experts_used = 3;
        s.n_ff_shared = 256;
        return true;
    }
    // Qwen3.6-35B-A3B's / Qwen3-Next-80B-A3B's config.json shapes.
    s.name = next ? "Qwen3-Next-80B-A3B shape (random weights)" : "Qwen3.6-35B-A3B shape (random weights)";
    s.n_layers = next ? 48 : 40;
    s.full_attention_interval = 4;
    s.n_embd = 2048;
    s.n_heads = 16;
    s.n_kv_heads = 2;
    s.head_dim = 256;
    s.rope_dims = 64;
    s.n_experts = next ? 512 : 256;
    s.n_experts_used = next ? 10 : 8;
    s.n_ff_expert = 512;
    s.n_ff_shared = 512;
    s.ssm_k_heads = 16;
    s.ssm_v_heads = 32;
    s.ssm_k_dim = 128;
    s.ssm_v_dim = 128;
    s.n_vocab = next ? 151936 : 248320;
    s.ctx_train = 262144;
    s.nextn_layers = next ? 0 : 1;  // Qwen3.6's one MTP block
    s.quant = quant_mix_from_name("q4_k_m");
    return true;
}

}  // namespace ferry::model::synthetic

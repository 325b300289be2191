#include "model/config.h"

#include "base/error.h"
#include "model/recipe.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace ferry::model {

LayerAttention layer_attention(const ModelConfig& c, std::uint32_t layer) {
    if (!c.layer_attention.empty()) return c.layer_attention.at(layer);
    const std::uint32_t n = c.traits.swa_pattern;
    return {.n_kv_heads = c.n_kv_heads,
            .head_dim = c.head_dim,
            .rope_dims = c.rope_dims,
            .rope_freq_base = c.rope_freq_base,
            .rope_freqs = true,
            .sliding = c.sliding_window > 0 && n > 0 && layer % n < n - 1};
}

bool layer_slides(const ModelConfig& c, std::uint32_t layer) {
    if (!c.layer_attention.empty()) return c.sliding_window > 0 && c.layer_attention.at(layer).sliding;
    const std::uint32_t n = c.traits.swa_pattern;
    return c.sliding_window > 0 && n > 0 && layer % n < n - 1;
}

bool layer_uses_rope(const ModelConfig& c, std::uint32_t layer) {
    const std::uint32_t n = c.traits.nope_layer_step;
    return n == 0 || layer % n != n - 1;
}

bool layer_is_recurrent(const ModelConfig& c, std::uint32_t layer) {
    return c.full_attention_interval > 0 && (layer + 1) % c.full_attention_interval != 0;
}

cpu::DeltaNetShape delta_net_shape(const ModelConfig& c) {
    return {.k_heads = c.ssm_k_heads,
            .v_heads = c.ssm_v_heads,
            .k_dim = c.ssm_k_dim,
            .v_dim = c.ssm_v_dim,
            .grouped = c.traits.delta_heads_grouped,
            .eps = c.rms_eps};
}

int moe_index(const ModelConfig& c, std::uint32_t layer) {
    const auto it = std::find(c.moe_layers.begin(), c.moe_layers.end(), layer);
    return it == c.moe_layers.end() ? -1 : int(it - c.moe_layers.begin());
}

std::uint32_t expert_layer_index(const ModelConfig& c, std::uint32_t layer) {
    const int i = moe_index(c, layer);
    if (i < 0) fail("layer {} has no routed experts (a dense FFN layer)", layer);
    return std::uint32_t(i);
}

cpu::AttentionParams attention_params(const ModelConfig& c, std::uint32_t layer) {
    const LayerAttention a = layer_attention(c, layer);
    const float scale = c.attn_scale > 0 ? c.attn_scale : 1.f / std::sqrt(float(a.head_dim));
    cpu::AttentionParams p{int(c.n_heads), int(a.n_kv_heads), int(a.head_dim), scale,
                           layer_slides(c, layer) ? int(c.sliding_window) : 0, 0.f};
    if (c.traits.nope_layer_step && layer_uses_rope(c, layer)) p.chunk = int(c.traits.attn_chunk);
    if (!layer_uses_rope(c, layer)) {
        p.temp_scale = c.traits.attn_temp_scale;
        p.temp_floor = c.traits.attn_temp_floor;
    }
    return p;
}

cpu::RopeParams rope_params(const ModelConfig& c, std::uint32_t layer) {
    const LayerAttention a = layer_attention(c, layer);
    return {.style = c.traits.rope,
            .rot_dims = int(a.rope_dims),
            .freq_base = a.rope_freq_base,
            .freq_scale = c.rope_freq_scale,
            .ext_factor = c.rope_ext_factor,
            .corr_low = c.rope_corr_low,
            .corr_high = c.rope_corr_high,
            .mscale = c.rope_mscale};
}

std::string layer_tensor(std::uint32_t layer, const char* suffix) {
    return fmt::format("blk.{}.{}", layer, suffix);
}

namespace {

// Gated DeltaNet layers: full_attention_interval and the ssm.* keys, checked together.
template <class Key>
void read_linear_attention(const gguf::File& file, Key&& key, ModelConfig& c) {
    c.full_attention_interval = file.optional_u32(key("full_attention_interval")).value_or(0);
    if (c.full_attention_interval == 0) return;
    c.ssm_conv_kernel = file.get_u32(key("ssm.conv_kernel"));
    c.ssm_k_dim = file.get_u32(key("ssm.state_size"));
    c.ssm_k_heads = file.get_u32(key("ssm.group_count"));
    c.ssm_v_heads = file.get_u32(key("ssm.time_step_rank"));
    const std::uint32_t inner = file.get_u32(key("ssm.inner_size"));
    if (c.ssm_conv_kernel == 0 || c.ssm_k_dim == 0 || c.ssm_k_heads == 0 || c.ssm_v_heads == 0 ||
        c.ssm_v_heads % c.ssm_k_heads || inner == 0 || inner % c.ssm_v_heads)
        fail("{}: linear-attention keys are inconsistent: {} = {} V heads over {} = {} K heads, {} = {}",
             file.name(), key("ssm.time_step_rank"), c.ssm_v_heads, key("ssm.group_count"), c.ssm_k_heads,
             key("ssm.inner_size"), inner);
    c.ssm_v_dim = inner / c.ssm_v_heads;
}

// Multi-head latent attention (deepseek2), where attention.kv_lora_rank is set: the heads'
// sizes, and the attention seen as one KV head over the cache rows (config.h). Files from
// before llama.cpp split attn_kv_b give the heads' sizes as key_length / value_length;
// later ones as key_length_mla / value_length_mla (key_length is then the row's 576).
template <class Key>
void read_latent_attention(const gguf::File& file, Key&& key, ModelConfig& c) {
    c.kv_lora_rank = file.optional_u32(key("attention.kv_lora_rank")).value_or(0);
    if (c.kv_lora_rank == 0) fail("{}: {} is missing or 0", file.name(), key("attention.kv_lora_rank"));
    c.q_lora_rank = file.optional_u32(key("attention.q_lora_rank")).value_or(0);
    c.mla_key_dim = file.optional_u32(key("attention.key_length_mla")).value_or(c.head_dim);
    c.mla_value_dim = file.optional_u32(key("attention.value_length_mla")).value_or(c.value_dim);
    if (c.rope_dims == 0 || c.rope_dims >= c.mla_key_dim || c.mla_value_dim == 0 || c.kv_lora_rank % 4 ||
        c.rope_dims % 4)
        fail("{}: latent attention keys are inconsistent: {} = {}, head size {} (rope {}), value size {}",
             file.name(), key("attention.kv_lora_rank"), c.kv_lora_rank, c.mla_key_dim, c.rope_dims,
             c.mla_value_dim);
    if (file.optional_u32(key("expert_group_count")).value_or(1) > 1)
        fail("{}: group-limited routing ({} = {}) is not supported yet", file.name(), key("expert_group_count"),
             *file.optional_u32(key("expert_group_count")));
    c.n_kv_heads = 1;
    c.head_dim = c.value_dim = c.rope_dims + c.kv_lora_rank;
    // llama.cpp's deepseek2 graph: YaRN's magnitude moves from the rope (whose cos/sin it
    // cancels) into the score scale as mscale² with mscale = 1 + yarn_log_multiplier·ln(factor).
    const float log_mul = file.optional_f32(key("rope.scaling.yarn_log_multiplier")).value_or(0.f);
    const float mscale = c.rope_ext_factor > 0 ? 1.f + log_mul * std::log(1.f / c.rope_freq_scale) : 1.f;
    c.rope_mscale = 1.f;
    c.attn_scale = mscale * mscale / std::sqrt(float(c.mla_key_dim));
}

// DeepSeek's MoE keys: leading dense blocks, shared experts of the routed width, the
// gating function and the weights' renormalisation and scale.
template <class Key>
void read_deepseek_moe(const gguf::File& file, Key&& key, ModelConfig& c) {
    const std::uint32_t dense = file.optional_u32(key("leading_dense_block_count")).value_or(0);
    if (dense >= c.n_layers)
        fail("{}: {} = {} leaves no MoE layer of {}", file.name(), key("leading_dense_block_count"), dense,
             c.n_layers);
    std::erase_if(c.moe_layers, [&](std::uint32_t l) { return l < dense; });
    if (dense > 0) c.n_ff_dense = file.get_u32(key("feed_forward_length"));
    if (c.n_ff_shared == 0)
        c.n_ff_shared = c.n_ff_expert * file.optional_u32(key("expert_shared_count")).value_or(0);
    c.expert_weights_scale = file.optional_f32(key("expert_weights_scale")).value_or(1.f);
    c.traits.router_renormalize = file.optional_bool(key("expert_weights_norm")).value_or(false);
    // llama_expert_gating_func_type: 1 softmax (also when absent: DeepSeek-V2), 2 sigmoid.
    const std::uint32_t gating = file.optional_u32(key("expert_gating_func")).value_or(1);
    if (gating != 1 && gating != 2)
        fail("{}: {} = {} is neither softmax (1) nor sigmoid (2)", file.name(), key("expert_gating_func"), gating);
    c.traits.router = gating == 2 ? cpu::RouterFunction::Sigmoid : cpu::RouterFunction::SoftmaxThenTopK;
}

// A bool (as llama.cpp's converter writes it) or integer array entry.
bool array_flag(const gguf::Value& v, std::size_t i) {
    if (v.element_type() == gguf::ValueType::Bool) return v.raw_elements()[i] != std::byte{0};
    return v.uint_at(i).value_or(0) != 0;
}

// Gemma 4's per-layer attention: sliding layers (attention.sliding_window_pattern) with the
// *_swa key / value size, rope dims and base; the others with the global ones and the
// proportional rope of rope_freqs; KV heads per layer (attention.head_count_kv as an
// array). Its fixed choices: embeddings times √n_embd, attention scale 1 (the q/k norms
// take the place of 1/√D), the final logit soft-cap from final_logit_softcapping.
template <class Key>
void read_per_layer_attention(const gguf::File& file, Key&& key, ModelConfig& c) {
    const gguf::Value* pattern = file.find(key("attention.sliding_window_pattern"));
    if (!pattern || pattern->type() != gguf::ValueType::Array || pattern->array_size() < c.n_layers)
        fail("{}: {} must be an array of {} per-layer flags", file.name(), key("attention.sliding_window_pattern"),
             c.n_layers);
    const gguf::Value* kv = file.find(key("attention.head_count_kv"));
    const bool kv_array = kv && kv->type() == gguf::ValueType::Array;
    if (kv_array && kv->array_size() < c.n_layers)
        fail("{}: {} has {} entries for {} layers", file.name(), key("attention.head_count_kv"), kv->array_size(),
             c.n_layers);
    const std::uint32_t swa_dim = file.get_u32(key("attention.key_length_swa"));
    const std::uint32_t swa_value = file.optional_u32(key("attention.value_length_swa")).value_or(swa_dim);
    const std::uint32_t swa_rope = file.optional_u32(key("rope.dimension_count_swa")).value_or(swa_dim);
    const float swa_base = file.optional_f32(key("rope.freq_base_swa")).value_or(10000.f);
    if (swa_value != swa_dim || c.value_dim != c.head_dim)
        fail("{}: key and value sizes differ ({} / {}, {} / {}); ferry's attention needs them equal", file.name(),
             c.head_dim, c.value_dim, swa_dim, swa_value);
    if (c.sliding_window == 0) fail("{}: {} is missing or 0", file.name(), key("attention.sliding_window"));
    std::uint32_t max_kv = 0, max_dim = 0, max_rope = 0, max_width = 0;
    for (std::uint32_t l = 0; l < c.n_layers; ++l) {
        LayerAttention a;
        a.sliding = array_flag(*pattern, l);
        a.n_kv_heads = kv_array ? std::uint32_t(kv->uint_at(l).value_or(0)) : c.n_kv_heads;
        a.head_dim = a.sliding ? swa_dim : c.head_dim;
        a.rope_dims = a.sliding ? swa_rope : c.rope_dims;
        a.rope_freq_base = a.sliding ? swa_base : c.rope_freq_base;
        a.rope_freqs = !a.sliding;
        if (a.n_kv_heads == 0 || c.n_heads % a.n_kv_heads || a.head_dim == 0 || a.head_dim % 4 ||
            a.rope_dims == 0 || a.rope_dims > a.head_dim || a.rope_dims % 2)
            fail("{}: layer {} has {} KV heads of {} (rope {}) for {} query heads", file.name(), l, a.n_kv_heads,
                 a.head_dim, a.rope_dims, c.n_heads);
        max_kv = std::max(max_kv, a.n_kv_heads);
        max_dim = std::max(max_dim, a.head_dim);
        max_rope = std::max(max_rope, a.rope_dims);
        max_width = std::max(max_width, a.n_kv_heads * a.head_dim);
        c.layer_attention.push_back(a);
    }
    // Buffers hold the largest layer: n_kv_heads · head_dim at least every layer's K row.
    c.n_kv_heads = max_kv;
    c.head_dim = c.value_dim = max_dim;
    c.rope_dims = max_rope;
    c.attn_scale = 1.f;
    c.embedding_scale = std::sqrt(float(c.n_embd));
    c.final_logit_softcap = file.optional_f32(key("final_logit_softcapping")).value_or(0.f);
    c.n_ff_dense = file.get_u32(key("feed_forward_length"));
    if (file.optional_u32(key("embedding_length_per_layer_input")).value_or(0) > 0)
        fail("{}: per-layer input embeddings ({}) are not supported yet", file.name(),
             key("embedding_length_per_layer_input"));
    if (file.optional_u32(key("attention.shared_kv_layers")).value_or(0) > 0)
        fail("{}: layers sharing another layer's KV cache ({}) are not supported yet", file.name(),
             key("attention.shared_kv_layers"));
}

}  // namespace

ModelConfig read_config(const gguf::File& file) {
    ModelConfig c;
    c.architecture = file.get_string("general.architecture");
    const auto traits = find_architecture(c.architecture);
    if (!traits)
        fail("{}: architecture '{}' is not supported by ferry (runnable: {})", file.name(), c.architecture,
             runnable_architectures());
    c.traits = *traits;
    const std::string p = c.architecture + ".";
    auto key = [&](const char* k) { return p + k; };

    c.n_layers = file.get_u32(key("block_count"));
    c.nextn_layers = file.optional_u32(key("nextn_predict_layers")).value_or(0);
    if (c.nextn_layers >= c.n_layers)
        fail("{}: {} = {} leaves no layers of {} = {}", file.name(), key("nextn_predict_layers"), c.nextn_layers,
             key("block_count"), c.n_layers);
    c.n_layers -= c.nextn_layers;
    c.n_embd = file.get_u32(key("embedding_length"));
    c.n_heads = file.get_u32(key("attention.head_count"));
    const gguf::Value* kv_heads = file.find(key("attention.head_count_kv"));
    // A per-layer array (Gemma 4) is read with the layers' other shapes below.
    c.n_kv_heads = kv_heads && kv_heads->type() == gguf::ValueType::Array
                       ? std::uint32_t(kv_heads->uint_at(0).value_or(0))
                       : file.optional_u32(key("attention.head_count_kv")).value_or(c.n_heads);
    if (c.n_heads == 0 || c.n_kv_heads == 0 || c.n_heads % c.n_kv_heads)
        fail("{}: {} = {} is not a positive multiple of {} = {}", file.name(), key("attention.head_count"),
             c.n_heads, key("attention.head_count_kv"), c.n_kv_heads);
    c.head_dim = file.optional_u32(key("attention.key_length")).value_or(c.n_embd / c.n_heads);
    c.value_dim = file.optional_u32(key("attention.value_length")).value_or(c.head_dim);
    c.n_experts = file.optional_u32(key("expert_count")).value_or(0);
    c.n_experts_used = file.optional_u32(key("expert_used_count")).value_or(0);
    // Mixtral (llama + experts) and OLMoE files give the expert width as feed_forward_length.
    c.n_ff_expert =
        file.optional_u32(key("expert_feed_forward_length"))
            .value_or(c.n_experts ? file.optional_u32(key("feed_forward_length")).value_or(0) : 0);
    c.n_ff_shared = file.optional_u32(key("expert_shared_feed_forward_length")).value_or(0);
    // Llama 4's shared expert has the routed experts' width (no key of its own).
    if (c.architecture == "llama4" && c.n_ff_shared == 0) c.n_ff_shared = c.n_ff_expert;
    c.ctx_train = file.optional_u32(key("context_length")).value_or(0);
    c.rope_dims = file.optional_u32(key("rope.dimension_count")).value_or(c.head_dim);
    c.rope_freq_base = file.optional_f32(key("rope.freq_base")).value_or(10000.f);
    if (auto factor = file.optional_f32(key("rope.scaling.factor")); factor && *factor > 0) {
        const auto kind = file.optional_string(key("rope.scaling.type")).value_or("linear");
        if (kind == "linear") {
            c.rope_freq_scale = 1.f / *factor;
        } else if (kind == "yarn") {
            c.rope_freq_scale = 1.f / *factor;
            c.rope_ext_factor = 1.f;
            const std::uint32_t orig =
                file.optional_u32(key("rope.scaling.original_context_length")).value_or(c.ctx_train);
            if (orig == 0)
                fail("{}: YaRN rope scaling needs {}", file.name(), key("rope.scaling.original_context_length"));
            const float beta_fast = file.optional_f32(key("rope.scaling.yarn_beta_fast")).value_or(32.f);
            const float beta_slow = file.optional_f32(key("rope.scaling.yarn_beta_slow")).value_or(1.f);
            const cpu::YarnCorrDims d =
                cpu::yarn_corr_dims(int(c.rope_dims), int(orig), c.rope_freq_base, beta_fast, beta_slow);
            c.rope_corr_low = d.low;
            c.rope_corr_high = d.high;
            const float attn_factor = file.optional_f32(key("rope.scaling.attn_factor")).value_or(1.f);
            c.rope_mscale = attn_factor * (1.f + 0.1f * std::log(*factor));
        } else if (kind != "none") {
            fail("{}: rope scaling '{}' is not supported yet", file.name(), kind);
        }
    }
    c.sliding_window = file.optional_u32(key("attention.sliding_window")).value_or(0);
    // Llama 4 interleaves dense FFN layers: experts on every step-th layer (l % step == step - 1).
    const std::uint32_t moe_step = file.optional_u32(key("interleave_moe_layer_step")).value_or(1);
    if (moe_step == 0) fail("{}: {} must be positive", file.name(), key("interleave_moe_layer_step"));
    for (std::uint32_t l = 0; l < c.n_layers; ++l)
        if (l % moe_step == moe_step - 1) c.moe_layers.push_back(l);
    if (moe_step > 1) c.n_ff_dense = file.optional_u32(key("feed_forward_length")).value_or(0);
    c.rms_eps = file.optional_f32(key("attention.layer_norm_rms_epsilon")).value_or(1e-6f);
    read_linear_attention(file, key, c);
    if (c.traits.per_layer_attention) read_per_layer_attention(file, key, c);
    if (c.traits.latent_attention) {
        read_latent_attention(file, key, c);
        read_deepseek_moe(file, key, c);
    }

    if (c.n_layers == 0 || c.n_embd == 0 || c.head_dim == 0)
        fail("{}: {} and {} must be positive", file.name(), key("block_count"), key("embedding_length"));
    if (c.n_experts > 0 && (c.n_experts_used == 0 || c.n_experts_used > c.n_experts))
        fail("{}: {} = {} must be between 1 and {} = {}", file.name(), key("expert_used_count"),
             c.n_experts_used, key("expert_count"), c.n_experts);
    if (c.rope_dims == 0 || c.rope_dims > c.head_dim || c.rope_dims % 2)
        fail("{}: {} = {} must be even and at most the head size {}", file.name(),
             key("rope.dimension_count"), c.rope_dims, c.head_dim);
    if (!(c.rms_eps > 0))
        fail("{}: {} must be positive", file.name(), key("attention.layer_norm_rms_epsilon"));
    if (const gguf::TensorInfo* embd = file.find_tensor("token_embd.weight"))
        c.n_vocab = std::uint32_t(embd->dim(1));
    return c;
}

void require_runnable(const ModelConfig& c, const gguf::File& file) {
    if (!c.traits.runnable)
        fail("{}: architecture '{}' ({}) is recognised, but ferry cannot run it yet (runnable: {})",
             file.name(), c.architecture, c.traits.family, runnable_architectures());
    if (c.n_experts == 0)
        fail("{}: '{}' without experts (expert_count missing) is a dense model; ferry runs MoE models",
             file.name(), c.architecture);
}

void check_tensor_shapes(const ModelConfig& c, const gguf::File& file) {
    const Recipe& r = recipe_for(c, file);
    r.tensors(TensorTable(file), c);
    r.experts(file, c);
}

}  // namespace ferry::model

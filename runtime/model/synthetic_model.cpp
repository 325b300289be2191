#include "model/synthetic_model.h"

#include "base/error.h"
#include "gguf/writer.h"
#include "model/synthetic_tensors.h"
#include "model/synthetic_vocab.h"
#include "quant/quant.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>
#include <thread>
#include <vector>

namespace ferry::model {

namespace {

using gguf::TensorType;
using synthetic::constant;
using synthetic::fan_in;
using synthetic::TensorRecipe;

// A ChatML template with Qwen3's thinking switch, so detection picks the Qwen3 renderer.
constexpr const char* kChatTemplate =
    "{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content + "
    "'<|im_end|>\\n' }}"
    "{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}"
    "{%- endif %}{%- endif %}";

std::uint64_t splitmix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

std::uint64_t hash_name(std::uint64_t seed, std::string_view name) {
    std::uint64_t h = 1469598103934665603ull ^ seed;  // FNV-1a, then mixed
    for (char c : name) h = (h ^ std::uint8_t(c)) * 1099511628211ull;
    return splitmix64(h);
}

// Uniform in [-1, 1), from the top 24 bits: the same on every platform and library.
float uniform(std::uint64_t& state) {
    return float(splitmix64(state) >> 40) * (2.f / 16777216.f) - 1.f;
}

std::uint64_t rows_of(const TensorRecipe& t) {
    std::uint64_t rows = 1;
    for (std::size_t i = 1; i < t.dims.size(); ++i) rows *= t.dims[i];
    return rows;
}

}  // namespace

namespace synthetic {

// Zipf-like heat per expert of one layer, over a seeded permutation so hot ids differ by layer.
std::vector<float> expert_heat(const SyntheticModelSpec& s, std::uint32_t layer) {
    std::vector<std::uint32_t> order(s.n_experts);
    std::iota(order.begin(), order.end(), 0u);
    std::uint64_t state = hash_name(s.seed, fmt::format("heat.{}", layer));
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[splitmix64(state) % i]);
    std::vector<float> heat(s.n_experts);
    for (std::uint32_t rank = 0; rank < s.n_experts; ++rank)
        heat[order[rank]] = 1.f + s.router_skew / std::pow(float(rank + 1), 0.8f);
    return heat;
}

}  // namespace synthetic

namespace {

using synthetic::expert_heat;

std::vector<TensorRecipe> recipes(const SyntheticModelSpec& s) {
    if (synthetic::is_gemma4(s)) return synthetic::gemma4_tensors(s);
    const QuantMix& q = s.quant;
    const std::uint64_t E = s.n_embd, F = s.n_ff_expert, X = s.n_experts;
    const std::uint64_t qd = std::uint64_t(s.n_heads) * s.head_dim,
                        kvd = std::uint64_t(s.n_kv_heads) * s.head_dim;
    std::vector<TensorRecipe> r;
    r.push_back({"token_embd.weight", q.token_embd, {E, s.n_vocab}, 0.f, constant(1.f)});
    const bool llama4 = s.architecture == "llama4";
    if (llama4)  // per-pair frequency divisors in [1, 3), as Llama 3/4's rope scaling writes
        r.push_back({"rope_freqs.weight", TensorType::F32, {s.head_dim / 2}, 2.f, constant(1.f)});
    for (std::uint32_t l = 0; l < s.n_layers + s.nextn_layers; ++l) {
        auto name = [l](const char* suffix) { return fmt::format("blk.{}.{}", l, suffix); };
        r.push_back({name("attn_norm.weight"), TensorType::F32, {E}, 1.f, constant(0.1f)});
        const bool hybrid = synthetic::is_hybrid(s);
        if (hybrid) {
            synthetic::append_hybrid_mixer(s, l, r);  // DeltaNet or gated attention
        } else if (synthetic::is_mla(s)) {
            synthetic::append_mla_attention(s, l, r);
        } else {
            r.push_back({name("attn_q.weight"), q.attn_qko, {E, qd}, 0.f, constant(fan_in(E))});
            r.push_back({name("attn_k.weight"), q.attn_qko, {E, kvd}, 0.f, constant(fan_in(E))});
            r.push_back({name("attn_v.weight"), q.attn_v, {E, kvd}, 0.f, constant(fan_in(E))});
            r.push_back({name("attn_output.weight"), q.attn_qko, {qd, E}, 0.f, constant(fan_in(qd))});
        }
        if (s.architecture == "qwen3moe") {
            r.push_back({name("attn_q_norm.weight"), TensorType::F32, {s.head_dim}, 1.f, constant(0.1f)});
            r.push_back({name("attn_k_norm.weight"), TensorType::F32, {s.head_dim}, 1.f, constant(0.1f)});
        }
        if (s.architecture == "olmoe") {  // norms over the whole projected q and k
            r.push_back({name("attn_q_norm.weight"), TensorType::F32, {qd}, 1.f, constant(0.1f)});
            r.push_back({name("attn_k_norm.weight"), TensorType::F32, {kvd}, 1.f, constant(0.1f)});
        }
        const bool gptoss = s.architecture == "gpt-oss";
        if (s.architecture == "qwen2moe" || gptoss) {
            r.push_back({name("attn_q.bias"), TensorType::F32, {qd}, 0.f, constant(0.5f)});
            r.push_back({name("attn_k.bias"), TensorType::F32, {kvd}, 0.f, constant(0.5f)});
            r.push_back({name("attn_v.bias"), TensorType::F32, {kvd}, 0.f, constant(0.5f)});
        }
        if (gptoss) {
            r.push_back({name("attn_output.bias"), TensorType::F32, {E}, 0.f, constant(0.2f)});
            r.push_back({name("attn_sinks.weight"), TensorType::F32, {s.n_heads}, 0.f, constant(2.f)});
            r.push_back({name("ffn_gate_inp.bias"), TensorType::F32, {X}, 0.f, constant(0.5f)});
            r.push_back({name("ffn_gate_exps.bias"), TensorType::F32, {F, X}, 0.f, constant(0.5f)});
            r.push_back({name("ffn_up_exps.bias"), TensorType::F32, {F, X}, 0.f, constant(0.5f)});
            r.push_back({name("ffn_down_exps.bias"), TensorType::F32, {E, X}, 0.f, constant(0.2f)});
        }
        if (s.architecture == "qwen2moe" || hybrid) {  // a shared expert with a sigmoid gate
            const std::uint64_t S = s.n_ff_shared;
            r.push_back({name("ffn_gate_shexp.weight"), q.expert_gate_up, {E, S}, 0.f, constant(fan_in(E))});
            r.push_back({name("ffn_up_shexp.weight"), q.expert_gate_up, {E, S}, 0.f, constant(fan_in(E))});
            r.push_back({name("ffn_down_shexp.weight"), q.expert_down, {S, E}, 0.f, constant(fan_in(S))});
            r.push_back(
                {name("ffn_gate_inp_shexp.weight"), TensorType::F32, {E}, 0.f, constant(2.f * fan_in(E))});
        }
        // gpt-oss and the Qwen3.5 family name the MoE's input norm post_attention_norm.
        r.push_back({name(gptoss || hybrid ? "post_attention_norm.weight" : "ffn_norm.weight"), TensorType::F32, {E}, 1.f,
                     constant(0.1f)});
        if (l % s.moe_layer_step != s.moe_layer_step - 1 || l < s.leading_dense_blocks) {  // a dense FFN layer
            const std::uint64_t Fd = s.n_ff_dense;
            r.push_back({name("ffn_gate.weight"), q.expert_gate_up, {E, Fd}, 0.f, constant(fan_in(E))});
            r.push_back({name("ffn_up.weight"), q.expert_gate_up, {E, Fd}, 0.f, constant(fan_in(E))});
            r.push_back({name("ffn_down.weight"), q.expert_down, {Fd, E}, 0.f, constant(fan_in(Fd))});
            continue;
        }
        if (synthetic::is_mla(s)) synthetic::append_mla_moe_extras(s, l, r);
        if (llama4) {  // the ungated shared expert, as wide as a routed one
            r.push_back({name("ffn_gate_shexp.weight"), q.expert_gate_up, {E, F}, 0.f, constant(fan_in(E))});
            r.push_back({name("ffn_up_shexp.weight"), q.expert_gate_up, {E, F}, 0.f, constant(fan_in(E))});
            r.push_back({name("ffn_down_shexp.weight"), q.expert_down, {F, E}, 0.f, constant(fan_in(F))});
        }
        // Router logits with a spread of ~1.5, scaled per expert by its heat.
        const std::vector<float> heat = expert_heat(s, l);
        const float router_scale = 1.5f * fan_in(E);
        r.push_back(
            {name("ffn_gate_inp.weight"), q.router, {E, X}, 0.f, [heat, router_scale](std::uint64_t row) {
                 return router_scale * heat[row];
             }});
        const TensorRecipe experts[3] = {
            {name("ffn_gate_exps.weight"), q.expert_gate_up, {E, F, X}, 0.f, constant(fan_in(E))},
            {name("ffn_up_exps.weight"), q.expert_gate_up, {E, F, X}, 0.f, constant(fan_in(E))},
            {name("ffn_down_exps.weight"), q.expert_down, {F, E, X}, 0.f, constant(fan_in(F))}};
        const char* split_names[3] = {"ffn_gate", "ffn_up", "ffn_down"};
        for (int part = 0; part < 3; ++part) {
            if (!s.split_experts) {
                r.push_back(experts[part]);
                continue;
            }
            // The older layout: blk.N.ffn_gate.E.weight, one 2-D tensor per expert.
            const std::uint64_t rows = experts[part].dims[1];
            for (std::uint32_t e = 0; e < X; ++e) {
                TensorRecipe t = experts[part];
                t.name = fmt::format("blk.{}.{}.{}.weight", l, split_names[part], e);
                t.dims = {t.dims[0], rows};
                t.seed_name = experts[part].name;
                t.first_row = e * rows;
                r.push_back(std::move(t));
            }
        }
    }
    r.push_back({"output_norm.weight", TensorType::F32, {E}, 1.f, constant(0.1f)});
    r.push_back({"output.weight", q.output, {E, s.n_vocab}, 0.f, constant(3.f * fan_in(E))});
    return r;
}

void check_spec(const SyntheticModelSpec& s, const std::vector<TensorRecipe>& rs) {
    if (s.architecture != "qwen3moe" && s.architecture != "qwen2moe" && s.architecture != "llama" &&
        s.architecture != "olmoe" && s.architecture != "gpt-oss" && s.architecture != "llama4" &&
        !synthetic::is_hybrid(s) && !synthetic::is_mla(s) && !synthetic::is_gemma4(s))
        fail("make-model writes qwen3moe, qwen35moe, qwen3next, qwen2moe, olmoe, gpt-oss, llama4, deepseek2, gemma4 "
             "and llama (Mixtral) models (asked for '{}')",
             s.architecture);
    if (synthetic::is_hybrid(s)) synthetic::check_hybrid(s);
    if (synthetic::is_mla(s)) synthetic::check_mla(s);
    if (synthetic::is_gemma4(s)) synthetic::check_gemma4(s);
    if (s.nextn_layers && !synthetic::is_hybrid(s))
        fail("make-model: MTP blocks (nextn_predict_layers) are written for qwen35moe and qwen3next only");
    if (s.moe_layer_step == 0 || (s.moe_layer_step > 1 && !s.n_ff_dense))
        fail("make-model: MoE every {} layers needs a dense FFN width", s.moe_layer_step);
    if (s.architecture == "qwen2moe" && !s.n_ff_shared)
        fail("make-model: qwen2moe needs a shared expert width");
    if (!s.n_layers || !s.n_embd || !s.n_heads || !s.n_kv_heads || s.n_heads % s.n_kv_heads || !s.head_dim ||
        s.head_dim % 2 || !s.n_experts || !s.n_experts_used || s.n_experts_used > s.n_experts ||
        !s.n_ff_expert)
        fail(
            "make-model: inconsistent shape (layers {}, embd {}, heads {}/{}, head_dim {}, experts {} "
            "top-{}, "
            "expert ff {})",
            s.n_layers, s.n_embd, s.n_heads, s.n_kv_heads, s.head_dim, s.n_experts, s.n_experts_used,
            s.n_ff_expert);
    for (const TensorRecipe& t : rs) {
        const auto traits = gguf::type_traits(t.type);
        if (!quant::can_quantize(t.type)) fail("make-model: cannot write tensors of type {}", traits.name);
        if (t.dims[0] % traits.block_elements)
            fail(
                "make-model: {} has rows of {} elements, not a multiple of {}'s block of {}; choose sizes "
                "that are "
                "multiples of 256 for K-quants",
                t.name, t.dims[0], traits.name, traits.block_elements);
    }
}

void set_metadata(gguf::Writer& w, const SyntheticModelSpec& s) {
    const std::string a = s.architecture + ".";
    w.set_string("general.architecture", s.architecture);
    w.set_string("general.name", s.name);
    w.set_string("general.description", "random weights generated by ferry make-model: output is gibberish");
    w.set_u32(a + "block_count", s.n_layers + s.nextn_layers);
    w.set_u32(a + "context_length", s.ctx_train);
    w.set_u32(a + "embedding_length", s.n_embd);
    // Mixtral and OLMoE files give the expert width here; the others a dense-equivalent width.
    const bool ff_is_expert_width = s.architecture == "llama" || s.architecture == "olmoe";
    w.set_u32(a + "feed_forward_length", s.n_ff_dense       ? s.n_ff_dense
                                         : ff_is_expert_width ? s.n_ff_expert
                                                              : s.n_ff_expert * s.n_experts_used);
    if (s.moe_layer_step > 1) w.set_u32(a + "interleave_moe_layer_step", s.moe_layer_step);
    w.set_u32(a + "attention.head_count", s.n_heads);
    if (synthetic::is_mla(s)) {
        synthetic::set_mla_metadata(w, s);
    } else if (synthetic::is_gemma4(s)) {
        synthetic::set_gemma4_metadata(w, s);
    } else {
        w.set_u32(a + "attention.head_count_kv", s.n_kv_heads);
        w.set_u32(a + "attention.key_length", s.head_dim);
        w.set_u32(a + "attention.value_length", s.head_dim);
    }
    w.set_f32(a + "rope.freq_base", s.rope_freq_base);
    if (s.rope_dims && !synthetic::is_gemma4(s)) w.set_u32(a + "rope.dimension_count", s.rope_dims);
    w.set_f32(a + "attention.layer_norm_rms_epsilon", s.rms_eps);
    w.set_u32(a + "expert_count", s.n_experts);
    w.set_u32(a + "expert_used_count", s.n_experts_used);
    if (!ff_is_expert_width) w.set_u32(a + "expert_feed_forward_length", s.n_ff_expert);
    if (s.architecture == "qwen2moe" || synthetic::is_hybrid(s))
        w.set_u32(a + "expert_shared_feed_forward_length", s.n_ff_shared);
    if (synthetic::is_hybrid(s)) synthetic::set_hybrid_metadata(w, s);
    if (s.sliding_window) w.set_u32(a + "attention.sliding_window", s.sliding_window);
    if (s.rope_yarn_factor > 0) {
        w.set_string(a + "rope.scaling.type", "yarn");
        w.set_f32(a + "rope.scaling.factor", s.rope_yarn_factor);
        w.set_u32(a + "rope.scaling.original_context_length", s.ctx_train);
    }

    const SyntheticVocab v = make_synthetic_vocab(int(s.n_vocab));
    std::vector<std::int32_t> types(v.types.size());
    std::transform(v.types.begin(), v.types.end(), types.begin(),
                   [](TokenType t) { return std::int32_t(t); });
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string("tokenizer.ggml.pre", "qwen2");
    w.set_string_array("tokenizer.ggml.tokens", v.tokens);
    w.set_i32_array("tokenizer.ggml.token_type", types);
    w.set_string_array("tokenizer.ggml.merges", v.merges);
    w.set_u32("tokenizer.ggml.bos_token_id", std::uint32_t(v.bos_id));
    w.set_u32("tokenizer.ggml.eos_token_id", std::uint32_t(v.eos_id));
    w.set_u32("tokenizer.ggml.padding_token_id", std::uint32_t(v.bos_id));
    w.set_bool("tokenizer.ggml.add_bos_token", false);
    w.set_string("tokenizer.chat_template", kChatTemplate);
}

// Streams one tensor: rows generated and quantized by all cores in batches, emitted in order.
void produce(const TensorRecipe& t, std::uint64_t seed, const gguf::Writer::Emit& emit,
             std::atomic<std::uint64_t>& done, const ProgressFn& progress, std::uint64_t total) {
    const auto traits = gguf::type_traits(t.type);
    const std::uint64_t row_len = t.dims[0], rows = rows_of(t);
    const std::uint64_t row_bytes = gguf::row_bytes(traits, row_len);
    const unsigned threads = std::max(1u, std::min(16u, std::thread::hardware_concurrency()));
    const std::uint64_t batch_rows =
        std::max<std::uint64_t>(1, (4u << 20) / std::max<std::uint64_t>(row_bytes, 1));
    const std::uint64_t base = hash_name(seed, t.seed_name.empty() ? t.name : t.seed_name);
    std::vector<std::byte> buffer;
    for (std::uint64_t first = 0; first < rows; first += batch_rows) {
        const std::uint64_t n = std::min(batch_rows, rows - first);
        buffer.resize(n * row_bytes);
        auto work = [&](unsigned k) {
            std::vector<float> values(row_len);
            for (std::uint64_t i = k; i < n; i += threads) {
                const std::uint64_t row = t.first_row + first + i;
                std::uint64_t state = base ^ (row * 0xD1B54A32D192ED03ull);
                const float scale = t.row_scale(row);
                for (float& x : values) x = t.offset + scale * uniform(state);
                if (!t.values.empty()) std::copy_n(t.values.begin() + row * row_len, row_len, values.begin());
                quant::quantize_row(t.type, values.data(), buffer.data() + i * row_bytes,
                                    std::int64_t(row_len));
            }
        };
        if (threads == 1 || n < 8) {
            for (unsigned k = 0; k < threads; ++k) work(k);
        } else {
            std::vector<std::thread> pool;
            for (unsigned k = 0; k < threads; ++k) pool.emplace_back(work, k);
            for (std::thread& th : pool) th.join();
        }
        emit(buffer);
        done += buffer.size();
        if (progress) progress(done, total);
    }
}

}  // namespace

QuantMix quant_mix_from_name(std::string_view name) {
    auto all = [](TensorType t) {
        QuantMix m;
        m.token_embd = m.output = m.attn_qko = m.attn_v = m.expert_gate_up = m.expert_down = t;
        return m;
    };
    if (name == "f32") return all(TensorType::F32);
    if (name == "f16") return all(TensorType::F16);
    if (name == "bf16") return all(TensorType::BF16);
    if (name == "q8_0") return all(TensorType::Q8_0);
    if (name == "q4_0") return all(TensorType::Q4_0);
    if (name == "q6_k") return all(TensorType::Q6_K);
    if (name == "q4_k_m") {  // llama.cpp's Q4_K_M: Q6_K where quality is most sensitive
        QuantMix m = all(TensorType::Q4_K);
        m.attn_v = m.expert_down = m.output = TensorType::Q6_K;
        return m;
    }
    if (name == "mixed") {  // one of each common type, for tests of the type mix
        QuantMix m;
        m.token_embd = TensorType::Q8_0;
        m.output = TensorType::Q6_K;
        m.attn_qko = TensorType::Q8_0;
        m.attn_v = TensorType::F16;
        m.expert_gate_up = TensorType::Q4_K;
        m.expert_down = TensorType::Q6_K;
        return m;
    }
    if (name == "mxfp4") {  // gpt-oss style: MXFP4 experts, Q8_0 elsewhere
        QuantMix m = all(TensorType::Q8_0);
        m.expert_gate_up = m.expert_down = TensorType::MXFP4;
        return m;
    }
    fail("unknown quant mix '{}' (choose one of: {})", name, quant_mix_names());
}

std::string quant_mix_names() {
    return "f32, f16, bf16, q8_0, q4_0, q6_k, q4_k_m, mixed, mxfp4";
}

SyntheticModelSpec synthetic_preset(std::string_view preset) {
    SyntheticModelSpec s;
    if (preset == "tiny") return s;  // the defaults: 2 layers, 256 wide, 8 experts top-2
    if (preset == "tiny-mixtral") {
        s.architecture = "llama";
        s.rms_eps = 1e-5f;
        return s;
    }
    if (preset == "tiny-qwen2moe") {
        s.architecture = "qwen2moe";
        s.n_experts = 10;
        s.n_experts_used = 3;
        return s;
    }
    if (preset == "tiny-olmoe") {
        s.architecture = "olmoe";
        s.rms_eps = 1e-5f;
        s.rope_freq_base = 10000.f;
        return s;
    }
    if (preset == "tiny-gptoss") {  // windows of 24 on even layers, so tests pass beyond them
        s.architecture = "gpt-oss";
        s.rms_eps = 1e-5f;
        s.rope_freq_base = 150000.f;
        s.sliding_window = 24;
        s.rope_yarn_factor = 32.f;
        return s;
    }
    if (preset == "tiny-llama4") {  // 4 layers: dense, MoE, dense, MoE without rope
        s.architecture = "llama4";
        s.n_layers = 4;
        s.n_experts_used = 1;
        s.moe_layer_step = 2;
        s.n_ff_dense = 512;
        s.rms_eps = 1e-5f;
        s.rope_freq_base = 500000.f;
        return s;
    }
    if (preset == "llama4-scout") {  // Llama-4-Scout-17B-16E's config.json shape
        s.name = "Llama-4-Scout-17B-16E shape (random weights)";
        s.architecture = "llama4";
        s.n_layers = 48;
        s.n_embd = 5120;
        s.n_heads = 40;
        s.n_kv_heads = 8;
        s.head_dim = 128;
        s.n_experts = 16;
        s.n_experts_used = 1;
        s.n_ff_expert = 8192;
        s.n_ff_dense = 16384;
        s.moe_layer_step = 1;  // Scout: every layer MoE (Maverick: 2)
        s.n_vocab = 202048;
        s.ctx_train = 10485760;
        s.rms_eps = 1e-5f;
        s.rope_freq_base = 500000.f;
        s.quant = quant_mix_from_name("q4_k_m");
        return s;
    }
    if (preset == "gpt-oss-20b") {  // gpt-oss-20b's config.json shape, experts in MXFP4
        s.name = "gpt-oss-20b shape (random weights)";
        s.architecture = "gpt-oss";
        s.n_layers = 24;
        s.n_embd = 2880;
        s.n_heads = 64;
        s.n_kv_heads = 8;
        s.head_dim = 64;
        s.n_experts = 32;
        s.n_experts_used = 4;
        s.n_ff_expert = 2880;
        s.n_vocab = 201088;
        s.ctx_train = 4096;
        s.rms_eps = 1e-5f;
        s.rope_freq_base = 150000.f;
        s.sliding_window = 128;
        s.rope_yarn_factor = 32.f;
        s.quant = quant_mix_from_name("mxfp4");
        return s;
    }
    if (preset == "olmoe-1b-7b") {  // OLMoE-1B-7B-0924's config.json shape
        s.name = "OLMoE-1B-7B shape (random weights)";
        s.architecture = "olmoe";
        s.n_layers = 16;
        s.n_embd = 2048;
        s.n_heads = 16;
        s.n_kv_heads = 16;
        s.head_dim = 128;
        s.n_experts = 64;
        s.n_experts_used = 8;
        s.n_ff_expert = 1024;
        s.n_vocab = 50304;
        s.ctx_train = 4096;
        s.rms_eps = 1e-5f;
        s.rope_freq_base = 10000.f;
        s.quant = quant_mix_from_name("q4_k_m");
        return s;
    }
    if (preset == "mixtral-8x7b") {  // Mixtral-8x7B-v0.1's config.json shape
        s.name = "Mixtral-8x7B shape (random weights)";
        s.architecture = "llama";
        s.n_layers = 32;
        s.n_embd = 4096;
        s.n_heads = 32;
        s.n_kv_heads = 8;
        s.head_dim = 128;
        s.n_experts = 8;
        s.n_experts_used = 2;
        s.n_ff_expert = 14336;
        s.n_vocab = 32000;
        s.ctx_train = 32768;
        s.rms_eps = 1e-5f;
        s.quant = quant_mix_from_name("q4_k_m");
        return s;
    }
    if (preset == "qwen2-57b-a14b") {  // Qwen2-57B-A14B's config.json shape
        s.name = "Qwen2-57B-A14B shape (random weights)";
        s.architecture = "qwen2moe";
        s.n_layers = 28;
        s.n_embd = 3584;
        s.n_heads = 28;
        s.n_kv_heads = 4;
        s.head_dim = 128;
        s.n_experts = 64;
        s.n_experts_used = 8;
        s.n_ff_expert = 2560;
        s.n_ff_shared = 20480;
        s.n_vocab = 151936;
        s.ctx_train = 65536;
        s.quant = quant_mix_from_name("q4_k_m");
        return s;
    }
    if (synthetic::hybrid_preset(preset, s)) return s;
    if (synthetic::mla_preset(preset, s)) return s;
    if (synthetic::gemma4_preset(preset, s)) return s;
    if (preset == "demo") {
        s.name = "ferry-demo (random weights)";
        s.n_layers = 4;
        s.n_embd = 512;
        s.n_heads = 8;
        s.n_kv_heads = 2;
        s.head_dim = 64;
        s.n_experts = 32;
        s.n_experts_used = 4;
        s.n_ff_expert = 256;
        s.n_vocab = 1024;  // about what the built-in corpus yields: few unused fillers
        s.quant = quant_mix_from_name("q4_k_m");
        return s;
    }
    if (preset == "qwen3-30b-a3b") {  // Qwen3-30B-A3B's config.json shape
        s.name = "Qwen3-30B-A3B shape (random weights)";
        s.n_layers = 48;
        s.n_embd = 2048;
        s.n_heads = 32;
        s.n_kv_heads = 4;
        s.head_dim = 128;
        s.n_experts = 128;
        s.n_experts_used = 8;
        s.n_ff_expert = 768;
        s.n_vocab = 151936;
        s.ctx_train = 40960;
        s.quant = quant_mix_from_name("q4_k_m");
        return s;
    }
    fail("unknown preset '{}' (choose one of: {})", preset, synthetic_preset_names());
}

std::string synthetic_preset_names() {
    return "tiny, tiny-mixtral, tiny-qwen2moe, tiny-olmoe, tiny-gptoss, tiny-llama4, tiny-qwen35moe, tiny-qwen3next, "
           "tiny-deepseek2, tiny-deepseek2-split, tiny-gemma4, demo, qwen3-30b-a3b, mixtral-8x7b, qwen2-57b-a14b, olmoe-1b-7b, "
           "gpt-oss-20b, llama4-scout, qwen3.6-35b-a3b, qwen3-next-80b-a3b, deepseek-v2-lite, gemma4-26b-a4b";
}

std::uint64_t synthetic_model_bytes(const SyntheticModelSpec& spec) {
    std::uint64_t total = 0;
    for (const TensorRecipe& t : recipes(spec)) total += gguf::Writer::tensor_bytes(t.type, t.dims);
    return total;
}

void write_synthetic_model(const SyntheticModelSpec& spec, const std::filesystem::path& path,
                           const ProgressFn& progress) {
    const std::vector<TensorRecipe> rs = recipes(spec);
    check_spec(spec, rs);
    gguf::Writer writer;
    set_metadata(writer, spec);
    const std::uint64_t total = synthetic_model_bytes(spec);
    auto done = std::make_shared<std::atomic<std::uint64_t>>(0);
    for (const TensorRecipe& t : rs) {
        writer.add_tensor(t.name, t.type, t.dims,
                          [t, seed = spec.seed, done, progress, total](const auto& emit) {
                              produce(t, seed, emit, *done, progress, total);
                          });
    }
    writer.write_file(path);
}

}  // namespace ferry::model

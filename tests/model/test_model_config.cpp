#include "base/error.h"
#include "gguf/reader.h"
#include "gguf/writer.h"
#include "model/config.h"
#include "model/sequence_state.h"
#include "model/summary.h"
#include "model/synthetic_model.h"
#include "model/synthetic_vocab.h"
#include "quant/quant.h"

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

using namespace ferry;
namespace fs = std::filesystem;

namespace {

fs::path tmp(const char* name) { return fs::path(FERRY_TEST_TMP_DIR) / name; }

std::vector<char> slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

TEST_CASE("a generated tiny model reads back with the right hyper-parameters and shapes") {
    model::SyntheticModelSpec spec = model::synthetic_preset("tiny");
    spec.quant = model::quant_mix_from_name("mixed");
    const fs::path path = tmp("config_tiny.gguf");
    model::write_synthetic_model(spec, path);
    const gguf::File file = gguf::File::open(path);
    CHECK(fs::file_size(path) >= model::synthetic_model_bytes(spec));

    const model::ModelConfig c = model::read_config(file);
    CHECK(c.architecture == "qwen3moe");
    CHECK(c.traits.runnable);
    CHECK(c.traits.qk_norm_per_head);
    CHECK(c.n_layers == spec.n_layers);
    CHECK(c.n_embd == spec.n_embd);
    CHECK(c.n_heads == spec.n_heads);
    CHECK(c.n_kv_heads == spec.n_kv_heads);
    CHECK(c.head_dim == spec.head_dim);
    CHECK(c.n_experts == spec.n_experts);
    CHECK(c.n_experts_used == spec.n_experts_used);
    CHECK(c.n_ff_expert == spec.n_ff_expert);
    CHECK(c.n_vocab == spec.n_vocab);
    CHECK(c.rope_freq_base == doctest::Approx(spec.rope_freq_base));
    CHECK_NOTHROW(model::check_tensor_shapes(c, file));
    CHECK_NOTHROW(model::require_runnable(c, file));

    CHECK(file.find_tensor("blk.0.ffn_gate_exps.weight")->type == gguf::TensorType::Q4_K);
    CHECK(file.find_tensor("blk.1.ffn_down_exps.weight")->type == gguf::TensorType::Q6_K);
    CHECK(file.get_string("tokenizer.ggml.model") == "gpt2");
    CHECK(file.get_string_array("tokenizer.ggml.tokens").size() == spec.n_vocab);
}

TEST_CASE("generation is deterministic from the seed") {
    model::SyntheticModelSpec spec = model::synthetic_preset("tiny");
    model::write_synthetic_model(spec, tmp("det_a.gguf"));
    model::write_synthetic_model(spec, tmp("det_b.gguf"));
    spec.seed = 2;
    model::write_synthetic_model(spec, tmp("det_c.gguf"));
    CHECK(slurp(tmp("det_a.gguf")) == slurp(tmp("det_b.gguf")));
    CHECK(slurp(tmp("det_a.gguf")) != slurp(tmp("det_c.gguf")));
}

TEST_CASE("router rows are skewed so some experts are hot") {
    model::SyntheticModelSpec spec = model::synthetic_preset("tiny");
    spec.router_skew = 3.f;
    model::write_synthetic_model(spec, tmp("skew.gguf"));
    const gguf::File file = gguf::File::open(tmp("skew.gguf"));
    const gguf::TensorInfo* router = file.find_tensor("blk.0.ffn_gate_inp.weight");
    REQUIRE(router);
    std::vector<float> row(spec.n_embd);
    float lo = 1e30f, hi = 0;
    for (std::uint32_t e = 0; e < spec.n_experts; ++e) {
        quant::dequantize_row(router->type, file.tensor_data(*router).data() + e * spec.n_embd * 4, row.data(),
                              spec.n_embd);
        double ss = 0;
        for (float v : row) ss += double(v) * v;
        lo = std::min(lo, float(std::sqrt(ss)));
        hi = std::max(hi, float(std::sqrt(ss)));
    }
    CHECK(hi > 2.f * lo);  // heat 1 + 3/rank^0.8 spans 4 .. ~1.6
}

TEST_CASE("the BPE vocabulary has byte tokens, learned merges, specials and fillers") {
    const model::SyntheticVocab v = model::make_synthetic_vocab(600);
    CHECK(v.tokens.size() == 600);
    CHECK(v.tokens[' '] == "\xC4\xA0");  // GPT-2 maps the space byte to U+0120
    CHECK(v.tokens['a'] == "a");
    CHECK(!v.merges.empty());
    CHECK(v.tokens[v.eos_id] == "<|im_end|>");
    CHECK(v.types[v.eos_id] == model::TokenType::Control);
    // The most frequent pair of the corpus is merged first: " t" + "h" style pairs exist.
    bool has_the = false;
    for (const std::string& t : v.tokens) has_the |= (t == "\xC4\xA0the");
    CHECK(has_the);
    CHECK_THROWS_AS(model::make_synthetic_vocab(100), Error);
}

TEST_CASE("bad hyper-parameters and shapes are named in the error") {
    gguf::Writer w;
    w.set_string("general.architecture", "qwen3moe");
    w.set_u32("qwen3moe.block_count", 1);
    w.set_u32("qwen3moe.embedding_length", 64);
    w.set_u32("qwen3moe.attention.head_count", 6);
    w.set_u32("qwen3moe.attention.head_count_kv", 4);
    const gguf::File bad_heads = gguf::File::from_memory(w.write_memory(), "heads.gguf");
    CHECK_THROWS_WITH_AS(model::read_config(bad_heads),
                         doctest::Contains("qwen3moe.attention.head_count_kv"), Error);

    gguf::Writer missing;
    missing.set_string("general.architecture", "qwen3moe");
    const gguf::File no_layers = gguf::File::from_memory(missing.write_memory(), "nolayers.gguf");
    CHECK_THROWS_WITH_AS(model::read_config(no_layers), doctest::Contains("qwen3moe.block_count"), Error);

    gguf::Writer unknown;
    unknown.set_string("general.architecture", "mamba");
    const gguf::File mamba = gguf::File::from_memory(unknown.write_memory(), "mamba.gguf");
    CHECK_THROWS_WITH_AS(model::read_config(mamba), doctest::Contains("mamba"), Error);

    // A tiny model with one tensor of the wrong shape.
    model::SyntheticModelSpec spec = model::synthetic_preset("tiny");
    model::write_synthetic_model(spec, tmp("shape_ok.gguf"));
    const gguf::File ok = gguf::File::open(tmp("shape_ok.gguf"));
    model::ModelConfig c = model::read_config(ok);
    c.n_ff_expert += 32;  // as if the key disagreed with the tensors
    CHECK_THROWS_WITH_AS(model::check_tensor_shapes(c, ok), doctest::Contains("blk.0.ffn_gate_exps.weight"), Error);
}

// DeepSeek-V2's keys in both layouts: llama.cpp's older one gives the heads' sizes as
// key_length / value_length with head_count_kv = head_count; the newer one the cache row
// (576 / 512 for V2-Lite) with head_count_kv 1 and the heads' sizes as *_mla.
TEST_CASE("deepseek2: latent attention, leading dense blocks and routing read from either key layout") {
    for (const char* preset : {"tiny-deepseek2", "tiny-deepseek2-split"}) {
        CAPTURE(preset);
        const model::SyntheticModelSpec spec = model::synthetic_preset(preset);
        const fs::path path = tmp((std::string("config_") + preset + ".gguf").c_str());
        model::write_synthetic_model(spec, path);
        const gguf::File file = gguf::File::open(path);
        const model::ModelConfig c = model::read_config(file);
        CHECK(c.has_mla());
        CHECK(c.kv_lora_rank == spec.kv_lora_rank);
        CHECK(c.q_lora_rank == spec.q_lora_rank);
        CHECK(c.mla_key_dim == spec.head_dim);
        CHECK(c.mla_value_dim == spec.mla_value_dim);
        CHECK(c.n_kv_heads == 1);  // the attention sees one KV head over [k_pe | c] rows
        CHECK(c.head_dim == spec.rope_dims + spec.kv_lora_rank);
        CHECK(c.moe_layers == std::vector<std::uint32_t>{1, 2});  // one leading dense block
        CHECK(c.n_ff_dense == spec.n_ff_dense);
        CHECK(c.n_ff_shared == spec.n_ff_expert * spec.n_shared_experts);
        CHECK(c.expert_weights_scale == doctest::Approx(spec.expert_weights_scale));
        CHECK(c.traits.router_renormalize == spec.expert_weights_norm);
        CHECK(c.traits.router ==
              (spec.sigmoid_router ? cpu::RouterFunction::Sigmoid : cpu::RouterFunction::SoftmaxThenTopK));
        // YaRN's magnitude is in the score scale (mscale²/√(Dn + Dr)), not in the rope.
        const float mscale = 1.f + spec.rope_yarn_log_mul * std::log(spec.rope_yarn_factor);
        CHECK(c.attn_scale == doctest::Approx(mscale * mscale / std::sqrt(float(spec.head_dim))));
        CHECK(c.rope_mscale == 1.f);
        CHECK_NOTHROW(model::check_tensor_shapes(c, file));
    }
}

TEST_CASE("deepseek2 files ferry cannot run are refused with the key named") {
    auto base = [](gguf::Writer& w) {
        w.set_string("general.architecture", "deepseek2");
        w.set_u32("deepseek2.block_count", 2);
        w.set_u32("deepseek2.embedding_length", 64);
        w.set_u32("deepseek2.attention.head_count", 4);
        w.set_u32("deepseek2.attention.key_length", 48);
        w.set_u32("deepseek2.attention.value_length", 32);
        w.set_u32("deepseek2.rope.dimension_count", 16);
        w.set_u32("deepseek2.expert_count", 8);
        w.set_u32("deepseek2.expert_used_count", 2);
        w.set_u32("deepseek2.feed_forward_length", 128);
    };
    gguf::Writer no_latent;
    base(no_latent);
    CHECK_THROWS_WITH_AS(model::read_config(gguf::File::from_memory(no_latent.write_memory(), "nolatent.gguf")),
                         doctest::Contains("deepseek2.attention.kv_lora_rank"), Error);
    gguf::Writer groups;
    base(groups);
    groups.set_u32("deepseek2.attention.kv_lora_rank", 64);
    groups.set_u32("deepseek2.expert_group_count", 8);
    CHECK_THROWS_WITH_AS(model::read_config(gguf::File::from_memory(groups.write_memory(), "groups.gguf")),
                         doctest::Contains("group-limited routing"), Error);
    gguf::Writer gating;
    base(gating);
    gating.set_u32("deepseek2.attention.kv_lora_rank", 64);
    gating.set_u32("deepseek2.expert_gating_func", 3);
    CHECK_THROWS_WITH_AS(model::read_config(gguf::File::from_memory(gating.write_memory(), "gating.gguf")),
                         doctest::Contains("deepseek2.expert_gating_func"), Error);
}

// Gemma 4's per-layer attention: the generator's tiny-gemma4 (sliding 2 KV heads × 64,
// global 1 × 128) and the reference engine's gemma4-dev.gguf (README-a.md: 6 layers, the
// last global; head_count_kv [2, 2, 2, 2, 2, 1], key_length 128 / swa 64, rope bases 1e6 /
// 1e4, window 24, soft-cap 30).
TEST_CASE("gemma4: per-layer attention shapes, sliding pattern, rope bases and soft-cap are read from the keys") {
    const model::SyntheticModelSpec spec = model::synthetic_preset("tiny-gemma4");
    model::write_synthetic_model(spec, tmp("config_gemma4.gguf"));
    const gguf::File file = gguf::File::open(tmp("config_gemma4.gguf"));
    const model::ModelConfig c = model::read_config(file);
    REQUIRE(c.layer_attention.size() == spec.n_layers);
    for (std::uint32_t l = 0; l < spec.n_layers; ++l) {
        CAPTURE(l);
        const bool global = l % 2 == 1;
        const model::LayerAttention a = model::layer_attention(c, l);
        CHECK(a.sliding == !global);
        CHECK(model::layer_slides(c, l) == !global);
        CHECK(a.n_kv_heads == (global ? spec.global_kv_heads : spec.n_kv_heads));
        CHECK(a.head_dim == (global ? spec.global_head_dim : spec.head_dim));
        CHECK(a.rope_freqs == global);
        const cpu::RopeParams rope = model::rope_params(c, l);
        CHECK(rope.rot_dims == int(a.head_dim));
        CHECK(rope.freq_base == (global ? spec.rope_freq_base : spec.rope_freq_base_swa));
        const cpu::AttentionParams p = model::attention_params(c, l);
        CHECK(p.scale == 1.f);
        CHECK(p.sliding_window == (global ? 0 : int(spec.sliding_window)));
    }
    CHECK(c.n_kv_heads == spec.n_kv_heads);  // buffers: the largest layer's
    CHECK(c.head_dim == spec.global_head_dim);
    CHECK(c.embedding_scale == doctest::Approx(std::sqrt(float(spec.n_embd))));
    CHECK(c.final_logit_softcap == spec.final_logit_softcap);
    CHECK(c.n_ff_dense == spec.n_ff_dense);
    CHECK_NOTHROW(model::check_tensor_shapes(c, file));

    const fs::path dev = fs::path(FERRY_SHARED_DATA_DIR) / "reference" / "gemma4-dev.gguf";
    if (!fs::exists(dev)) {
        MESSAGE("skipping gemma4-dev.gguf: " << dev << " is missing");
        return;
    }
    const gguf::File ref = gguf::File::open(dev);
    const model::ModelConfig r = model::read_config(ref);
    REQUIRE(r.layer_attention.size() == 6);
    for (std::uint32_t l = 0; l < 6; ++l) {
        CAPTURE(l);
        const model::LayerAttention a = model::layer_attention(r, l);
        CHECK(a.sliding == (l < 5));
        CHECK(a.n_kv_heads == (l < 5 ? 2u : 1u));
        CHECK(a.head_dim == (l < 5 ? 64u : 128u));
        CHECK(model::rope_params(r, l).freq_base == (l < 5 ? 1e4f : 1e6f));
    }
    CHECK(r.sliding_window == 24);
    CHECK(r.final_logit_softcap == 30.f);
    CHECK(r.n_experts == 16);
    CHECK(r.n_experts_used == 4);
    CHECK_NOTHROW(model::check_tensor_shapes(r, ref));
    // What the sequence allocates is what `ferry info` plans: the sliding layers' rings of
    // window + batch - 1 positions, the global layer's cache of every position.
    const std::uint64_t planned =
        model::plan_budget(model::summarize(ref), {.vram_budget = 6ull << 30, .ctx = 32768, .batch = 64})
            .kv_cache_bytes;
    CHECK(model::SequenceState::bytes_for(r, 32768, 64) == planned);
    CHECK(model::SequenceState::ring_rows(r, 32768, 64) == 24 + 64 - 1);
}

// Numbers `ferry info` reports, on writer-made MoE files (worked out by hand below) and on
// a real vocab-only GGUF.
#include "gguf/reader.h"
#include "gguf/writer.h"
#include "model/summary.h"
#include "sample_files.h"

#include <doctest/doctest.h>

#include <filesystem>

using namespace ferry;
using namespace ferry::gguf;
using namespace ferry::model;

namespace {

// samples::moe_model() with its default shape: 2 layers, 8 experts top-2, n_embd 256,
// expert ff 512, 4 heads / 2 KV heads of 64, vocab 1000, experts Q4_K, dense Q8_0.
constexpr std::uint64_t kQ4KRow256 = 144;  // bytes of 256 Q4_K weights
constexpr std::uint64_t kQ8Row256 = 272;   // 8 blocks of 34 bytes
// gate [256 x 512] + up [256 x 512] + down [512 x 256], Q4_K.
constexpr std::uint64_t kOneExpert = 512 * kQ4KRow256 + 512 * kQ4KRow256 + 256 * (2 * kQ4KRow256);
constexpr std::uint64_t kPerLayerDense = 256 * 4            // attn_norm
                                         + 256 * kQ8Row256  // attn_q [256 x 256]
                                         + 128 * kQ8Row256  // attn_k [256 x 128]
                                         + 128 * kQ8Row256  // attn_v
                                         + 256 * kQ8Row256  // attn_output
                                         + 64 * 4 * 2       // q/k norms
                                         + 256 * 4          // ffn_norm
                                         + 256 * 8 * 4;     // router [256 x 8] F32
constexpr std::uint64_t kDense = 2 * 1000 * kQ8Row256 + 256 * 4 + 2 * kPerLayerDense;  // embd, output, norm

File moe_file() { return File::from_memory(samples::moe_model({}).write_memory(), "moe.gguf"); }

}  // namespace

TEST_CASE("summary of a small MoE file") {
    const File f = moe_file();
    const ModelSummary s = summarize(f);
    CHECK(s.file == "moe.gguf");
    CHECK(s.version == 3);
    CHECK(s.architecture == "qwen3moe");
    CHECK(s.name == "synthetic moe");
    CHECK(s.tokenizer_model == "gpt2");
    CHECK(s.tokenizer_pre == "qwen2");
    CHECK(s.vocab_size == 1000u);
    CHECK(s.tensor_count == 3 + 2 * 12);
    CHECK(s.notes.empty());

    REQUIRE(s.hyper_parameters.size() >= 12);
    CHECK(s.hyper_parameters[0].key == "block_count");
    CHECK(s.hyper_parameters[0].value.as_u64() == 2u);
    const auto hyper = [&](std::string_view key) -> const Value* {
        for (const HyperParameter& h : s.hyper_parameters)
            if (h.key == key) return &h.value;
        return nullptr;
    };
    REQUIRE(hyper("expert_count") != nullptr);
    CHECK(hyper("expert_count")->as_u64() == 8u);
    CHECK(hyper("attention.head_count_kv")->as_u64() == 2u);
    CHECK(hyper("rope.freq_base")->as_f64() == 1000000.0);
    CHECK(hyper("expert_shared_count") == nullptr);  // absent keys are not invented

    CHECK(s.experts.moe_layers == 2);
    CHECK(s.experts.experts_per_layer == 8);
    CHECK(s.experts.total_experts == 16);
    CHECK(s.experts.expert_bytes_min == kOneExpert);
    CHECK(s.experts.expert_bytes_max == kOneExpert);
    CHECK(s.routed_expert_bytes == 16 * kOneExpert);
    CHECK(s.dense_bytes == kDense);
    CHECK(s.dense_bytes + s.routed_expert_bytes == s.tensor_bytes);

    REQUIRE(s.bytes_by_type.size() == 3);
    CHECK(s.bytes_by_type[0].type == TensorType::Q4_K);  // largest first
    CHECK(s.bytes_by_type[0].tensors == 6);
    CHECK(s.bytes_by_type[0].bytes == 16 * kOneExpert);

    CHECK(s.kv_elements_per_token == 2 * 2 * (64 + 64));
}

TEST_CASE("VRAM budget: expert slots, full residency, and not fitting") {
    const ModelSummary s = summarize(moe_file());
    const std::uint64_t kv = 2 * 2 * (64 + 64) * 4096 * 2;  // layers * kv heads * (k + v) * ctx * F16
    const std::uint64_t work = 1 << 20;
    const std::uint64_t base = kDense + kv + work;

    BudgetRequest r;
    r.ctx = 4096;
    r.work_reserve = work;
    r.vram_budget = base + 5 * kOneExpert + kOneExpert / 2;
    BudgetPlan p = plan_budget(s, r);
    CHECK(p.fits);
    CHECK(p.kv_cache_bytes == kv);
    CHECK(p.dense_bytes == kDense);
    CHECK(p.expert_space == 5 * kOneExpert + kOneExpert / 2);
    CHECK(p.slot_bytes == kOneExpert);
    CHECK(p.slots_total == 5);
    CHECK(p.slots_per_layer == 2);
    CHECK(p.percent_of_experts == doctest::Approx(100.0 * 5 / 16));
    CHECK(format_summary(s, p).find("5 expert slots") != std::string::npos);

    r.vram_budget = base + 100 * kOneExpert;
    p = plan_budget(s, r);
    CHECK(p.slots_total == 16);  // capped at the number of experts
    CHECK(format_summary(s, p).find("all 16 experts fit") != std::string::npos);

    r.vram_budget = base - 1000;
    p = plan_budget(s, r);
    CHECK(!p.fits);
    CHECK(p.missing == 1000 + 2 * kOneExpert);  // the minimum also holds one slot per layer (2 layers)
    CHECK(p.advice.find("--ctx") != std::string::npos);
    CHECK(p.slots_total == 0);
    CHECK(format_summary(s, p).find("does not fit") != std::string::npos);

    r.ctx = 1024;  // KV scales with ctx
    CHECK(plan_budget(s, r).kv_cache_bytes == kv / 4);
}

TEST_CASE("work reserve estimate follows the shape") {
    const ModelSummary s = summarize(moe_file());
    // 16 MiB + f32 x (512 tokens x (4*256 + q 256 + kv 2*128 + router 8 + 2*2*512) + 1000 logits)
    CHECK(estimate_work_reserve(s) == (16u << 20) + 4 * (512 * (1024 + 256 + 256 + 8 + 2048) + 1000));
}

TEST_CASE("per-layer expert sizes differ with quant mixes; odd tensors are dense") {
    Writer w;
    w.set_string("general.architecture", "mixtral");
    w.set_u32("mixtral.expert_count", 4);
    w.set_u32("mixtral.block_count", 2);
    const auto zeros = [](TensorType t, std::vector<std::uint64_t> d) {
        return std::vector<std::byte>(Writer::tensor_bytes(t, d));
    };
    w.add_tensor("blk.0.ffn_gate_exps.weight", TensorType::Q4_K, {256, 2, 4}, zeros(TensorType::Q4_K, {256, 2, 4}));
    w.add_tensor("blk.1.ffn_down_exps.weight", TensorType::Q6_K, {256, 2, 4}, zeros(TensorType::Q6_K, {256, 2, 4}));
    w.add_tensor("blk.1.ffn_up_exps.weight", TensorType::F32, {8, 4}, zeros(TensorType::F32, {8, 4}));  // 2-D
    w.add_tensor("blk.x.ffn_up_exps.weight", TensorType::F32, {8, 1, 4}, zeros(TensorType::F32, {8, 1, 4}));
    w.add_tensor("blk.0.ffn_up_exps.weight", TensorType::F32, {8, 1, 3}, zeros(TensorType::F32, {8, 1, 3}));  // 3 != 4
    const ModelSummary s = summarize(File::from_memory(w.write_memory(), "mix.gguf"));
    CHECK(s.experts.moe_layers == 2);
    CHECK(s.experts.experts_per_layer == 4);
    CHECK(s.experts.expert_bytes_min == 2 * 144);  // layer 0: one Q4_K slice of 2 rows
    CHECK(s.experts.expert_bytes_max == 2 * 210);  // layer 1: Q6_K
    CHECK(s.dense_bytes == 8 * 4 * 4 + 8 * 4 * 4 + 8 * 3 * 4);
    REQUIRE(s.notes.size() >= 1);
    CHECK(s.notes[0].find("expert_count is 4") != std::string::npos);
    CHECK(format_summary(s, std::nullopt).find("to") != std::string::npos);
}

TEST_CASE("summary of a vocab-only GGUF (zero tensors)") {
    const std::filesystem::path path = std::filesystem::path(FERRY_SHARED_DATA_DIR) / "vocab/ggml-vocab-gpt-2.gguf";
    const ModelSummary s = summarize(File::open(path));
    CHECK(s.tensor_count == 0);
    CHECK(s.tensor_bytes == 0);
    CHECK(s.vocab_size == 50257u);
    CHECK(s.tokenizer_model == "gpt2");
    CHECK(s.tokenizer_pre == "gpt-2");
    CHECK(s.experts.total_experts == 0);
    BudgetRequest r;
    r.vram_budget = 1ull << 30;
    const BudgetPlan p = plan_budget(s, r);
    CHECK(p.fits);
    CHECK(p.slots_total == 0);
    const std::string text = format_summary(s, p);
    CHECK(text.find("50257 tokens") != std::string::npos);
    CHECK(text.find("no tensors in this file") != std::string::npos);
    const std::string json = summary_json(s, p);
    CHECK(json.find("\"vocab_size\": 50257") != std::string::npos);
    CHECK(json.find("\"tensor_count\": 0") != std::string::npos);
}

// Gemma 4's sliding layers (attention.sliding_window_pattern, key/value_length_swa) keep a
// ring of the window's positions and a prefill batch's (window + batch - 1, as
// SequenceState allocates them), so a long context costs what its global layers need:
// gemma4-dev.gguf has 6 layers, 5 sliding with 2 KV heads of 64 + 64 in a window of 24, and
// one global with 1 KV head of 128 + 128.
TEST_CASE("ferry info counts Gemma 4's sliding layers as rings of their window") {
    const File file = File::open(std::filesystem::path(FERRY_SHARED_DATA_DIR) / "reference" / "gemma4-dev.gguf");
    const ModelSummary s = summarize(file);
    CHECK(s.sliding_layers == 5);
    CHECK(s.sliding_window == 24);
    CHECK(s.sliding_kv_elements == 5 * 2 * (64 + 64));
    CHECK(s.kv_elements_per_token == 1 * (128 + 128));
    BudgetRequest r;
    r.vram_budget = 6ull << 30;
    r.ctx = 32768;
    const BudgetPlan p = plan_budget(s, r);
    CHECK(p.kv_cache_bytes == 256ull * 32768 * 2 + 1280ull * (24 + 64 - 1) * 2);  // batch 64
    r.ctx = 16;  // a context shorter than the ring: the rings are the context
    CHECK(plan_budget(s, r).kv_cache_bytes == 256ull * 16 * 2 + 1280ull * 16 * 2);
    CHECK(format_summary(s, plan_budget(s, r)).find("5 sliding layers keep a ring") != std::string::npos);
}

// Both expert layouts real files use — merged 3-D ffn_*_exps tensors and one 2-D tensor per
// expert (older Mixtral files) — describe the same experts to the expert engine, and run,
// resident, offloaded and on the CPU, to the same logits.
#include "base/error.h"
#include "gguf/reader.h"
#include "model/gpu_model.h"
#include "model/recipe.h"
#include "model/reference_forward.h"
#include "model/synthetic_model.h"
#include "offload/expert_source.h"
#include "support/vulkan_test_device.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

using namespace ferry;
namespace fs = std::filesystem;

namespace {

std::unique_ptr<gguf::File> make(bool split) {
    model::SyntheticModelSpec spec = model::synthetic_preset("tiny");
    spec.quant = model::quant_mix_from_name("q4_k_m");
    spec.n_experts = 8;
    spec.n_experts_used = 2;
    spec.seed = 5;
    spec.split_experts = split;
    const fs::path path = fs::path(FERRY_TEST_TMP_DIR) / (split ? "layout_split.gguf" : "layout_merged.gguf");
    model::write_synthetic_model(spec, path);
    return std::make_unique<gguf::File>(gguf::File::open(path));
}

std::vector<std::int32_t> prompt() {
    std::vector<std::int32_t> t(12);
    for (std::size_t i = 0; i < t.size(); ++i) t[i] = std::int32_t((i * 37 + 5) % 300);
    return t;
}

std::vector<float> run_gpu(vk::Device& device, const gguf::File& file,
                           const model::GpuModelOptions& options) {
    model::GpuModel m(device, file, options);
    std::vector<float> out = m.forward(prompt(), true);
    for (std::int32_t t : {3, 99, 150, 7}) {
        const std::vector<float> step = m.forward(std::vector<std::int32_t>{t});
        out.insert(out.end(), step.begin(), step.end());
    }
    return out;
}

}  // namespace

TEST_CASE("merged and per-expert tensors describe the same experts, byte for byte") {
    const auto merged = make(false), split = make(true);
    CHECK(merged->find_tensor("blk.0.ffn_gate_exps.weight"));
    CHECK_FALSE(split->find_tensor("blk.0.ffn_gate_exps.weight"));
    CHECK(split->find_tensor("blk.1.ffn_down.7.weight"));
    const model::ModelConfig c = model::read_config(*merged);
    const offload::ExpertLayout a = model::expert_layout(*merged, c), b = model::expert_layout(*split, c);
    REQUIRE(a.n_layers() == b.n_layers());
    CHECK(b.n_experts == 8);
    CHECK(b.top_k == 2);
    for (std::uint32_t l = 0; l < a.n_layers(); ++l) {
        REQUIRE(a.layers[l].parts.size() == 3);
        REQUIRE(b.layers[l].parts.size() == 3);
        CHECK(a.layers[l].expert_bytes() == b.layers[l].expert_bytes());
        for (std::size_t p = 0; p < 3; ++p) {
            const offload::ExpertPart &pa = a.layers[l].parts[p], &pb = b.layers[l].parts[p];
            CHECK(pa.contiguous());
            CHECK(pa.type == pb.type);
            CHECK(pa.rows == pb.rows);
            CHECK(pa.cols == pb.cols);
            for (std::uint32_t e = 0; e < 8; ++e)
                CHECK(std::equal(merged->bytes().begin() + pa.file_offsets[e],
                                 merged->bytes().begin() + pa.file_offsets[e] + pa.expert_bytes,
                                 split->bytes().begin() + pb.file_offsets[e]));
        }
    }
    // The host tier reads per-expert tensors too, mapped and into its own memory.
    for (offload::HostTier tier : {offload::HostTier::Mmap, offload::HostTier::NoMmap}) {
        CAPTURE(offload::host_tier_name(tier));
        offload::ExpertSource sa(*merged, a, nullptr, {tier, 0}), sb(*split, b, nullptr, {tier, 0});
        for (std::uint32_t p = 0; p < 3; ++p) {
            const auto x = sa.bytes(1, p, 6), y = sb.bytes(1, p, 6);
            REQUIRE(x.size() == y.size());
            CHECK(std::equal(x.begin(), x.end(), y.begin()));
        }
    }
}

TEST_CASE("a per-expert file runs like its merged twin: CPU reference, resident, offloaded, hybrid") {
    const auto merged = make(false), split = make(true);
    {
        model::ReferenceModel ra(*merged, 32), rb(*split, 32);
        CHECK(ra.forward(prompt()) == rb.forward(prompt()));
    }
    test::GpuTest gpu;
    if (!gpu) return;
    const std::vector<float> want = run_gpu(gpu.device(), *merged, {.n_ctx = 32, .max_batch = 8});
    CHECK(run_gpu(gpu.device(), *split, {.n_ctx = 32, .max_batch = 8}) == want);
    CHECK(run_gpu(gpu.device(), *split, {.n_ctx = 32, .max_batch = 8, .expert_slots = 3}) == want);
    const model::GpuModelOptions hybrid{.n_ctx = 32,
                                        .max_batch = 8,
                                        .expert_slots = 3,
                                        .miss_policy = offload::MissPolicy::Cpu,
                                        .threads = 1};
    CHECK(run_gpu(gpu.device(), *split, hybrid) == run_gpu(gpu.device(), *merged, hybrid));
}

TEST_CASE("a per-expert file with a missing expert or a wrong shape names the tensor") {
    const auto split = make(true);
    model::ModelConfig c = model::read_config(*split);
    c.n_experts = 9;  // the file has experts 0..7
    CHECK_THROWS_WITH_AS(model::expert_layout(*split, c),
                         doctest::Contains("blk.0.ffn_gate.8.weight is missing"), Error);
    c = model::read_config(*split);
    c.n_ff_expert *= 2;
    CHECK_THROWS_WITH_AS(model::expert_layout(*split, c),
                         doctest::Contains("blk.0.ffn_gate.0.weight has shape"), Error);
}

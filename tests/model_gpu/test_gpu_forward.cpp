// The Vulkan forward pass against the CPU reference forward pass on generated models.
// The two read the same quantized bytes; they differ by summation order and by the GPU's
// F16 KV cache, so logits agree to a small normalised error and greedy tokens agree.
#include "gguf/reader.h"
#include "kernels/block_ops.h"
#include "model/gpu_model.h"
#include "model/gpu_weights.h"
#include "model/perplexity.h"
#include "model/reference_forward.h"
#include "model/summary.h"
#include "model/synthetic_model.h"
#include "offload/miss_cost.h"
#include "sample/sampler.h"
#include "scheduler/policy.h"
#include "support/nmse.h"
#include "support/vulkan_test_device.h"
#include "vk/timestamps.h"

#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

using namespace ferry;
namespace fs = std::filesystem;

namespace {

fs::path make(const std::string& quant, std::uint64_t seed = 1) {
    model::SyntheticModelSpec spec = model::synthetic_preset("tiny");
    spec.quant = model::quant_mix_from_name(quant);
    spec.seed = seed;
    const fs::path path = fs::path(FERRY_TEST_TMP_DIR) / ("gpu_" + quant + ".gguf");
    model::write_synthetic_model(spec, path);
    return path;
}

using test::nmse;

std::vector<std::int32_t> prompt(std::size_t n) {
    std::vector<std::int32_t> t(n);
    for (std::size_t i = 0; i < n; ++i) t[i] = std::int32_t((i * 53 + 11) % 300);
    return t;
}

}  // namespace

TEST_CASE("GPU forward matches the CPU reference: prefill logits and 32 greedy tokens") {
    test::GpuTest gpu;
    if (!gpu) return;
    for (const char* quant : {"f16", "q8_0", "mixed", "q4_k_m"}) {
        CAPTURE(quant);
        const gguf::File file = gguf::File::open(make(quant));
        model::ReferenceModel cpu(file, 64);
        model::GpuModel gpu_model(gpu.device(), file, {.n_ctx = 64, .max_batch = 16});

        const std::vector<std::int32_t> p = prompt(20);  // two prefill batches: 16 + 4
        const std::vector<float> want = cpu.forward(p);
        const std::vector<float> got = gpu_model.forward(p, true);
        REQUIRE(got.size() == want.size());
        CHECK(nmse(got, want) < 1e-5);

        // Greedy decode, each side feeding its own choice back.
        const std::size_t V = cpu.config().n_vocab;
        std::vector<float> cpu_last(want.end() - V, want.end()), gpu_last(got.end() - V, got.end());
        int same = 0;
        for (int step = 0; step < 32; ++step) {
            const int a = sample::argmax(cpu_last), b = sample::argmax(gpu_last);
            same += a == b;
            cpu_last = cpu.forward(std::vector<std::int32_t>{a});
            gpu_last = gpu_model.forward(std::vector<std::int32_t>{b});
            CHECK(nmse(gpu_last, cpu_last) < 1e-5);
        }
        CHECK(same == 32);
        CHECK(gpu_model.n_past() == 52);
    }
}

TEST_CASE("GPU prefill of N tokens equals N decode steps") {
    test::GpuTest gpu;
    if (!gpu) return;
    const gguf::File file = gguf::File::open(make("mixed", 7));
    model::GpuModel a(gpu.device(), file, {.n_ctx = 32, .max_batch = 32});
    model::GpuModel b(gpu.device(), file, {.n_ctx = 32, .max_batch = 32});
    const std::vector<std::int32_t> p = prompt(12);
    const std::vector<float> batched = a.forward(p, true);
    const std::size_t V = a.config().n_vocab;
    for (std::size_t t = 0; t < p.size(); ++t) {
        const std::vector<float> step = b.forward(std::span<const std::int32_t>(p).subspan(t, 1));
        const std::vector<float> row(batched.begin() + t * V, batched.begin() + (t + 1) * V);
        CHECK(nmse(step, row) < 1e-8);
    }
}

TEST_CASE("sequences keep their own state: interleaved runs give the logits of separate ones") {
    test::GpuTest gpu;
    if (!gpu) return;
    const gguf::File file = gguf::File::open(make("mixed", 7));
    const std::vector<std::int32_t> p = prompt(10), q = prompt(14), next{5, 77};
    std::vector<float> alone_p, alone_q;
    {
        model::GpuModel m(gpu.device(), file, {.n_ctx = 32, .max_batch = 8});
        m.forward(p);
        alone_p = m.forward(next);
        m.reset();
        m.forward(q);
        alone_q = m.forward(next);
    }
    model::GpuModel m(gpu.device(), file, {.n_ctx = 32, .max_batch = 8});
    std::unique_ptr<model::SequenceState> other = m.new_sequence();
    m.forward(p);  // the model's own sequence
    m.use_sequence(other.get());
    m.forward(q);
    CHECK(m.n_past() == q.size());
    m.use_sequence(nullptr);
    CHECK(m.n_past() == p.size());
    CHECK(m.forward(next) == alone_p);
    m.use_sequence(other.get());
    CHECK(m.forward(next) == alone_q);
    CHECK_THROWS_WITH_AS(m.truncate(40), doctest::Contains("only 16 are in the context"), Error);
}

TEST_CASE("GPU context limit and bad tokens give clear errors") {
    test::GpuTest gpu;
    if (!gpu) return;
    const gguf::File file = gguf::File::open(make("f16", 3));
    model::GpuModel m(gpu.device(), file, {.n_ctx = 8, .max_batch = 4});
    m.forward(prompt(6));
    CHECK_THROWS_WITH_AS(m.forward(prompt(3)), doctest::Contains("context full"), Error);
    CHECK(m.n_past() == 6);
    CHECK_THROWS_WITH_AS(m.forward(std::vector<std::int32_t>{int(m.config().n_vocab)}),
                         doctest::Contains("outside the vocabulary"), Error);
    m.truncate(2);
    CHECK(m.n_past() == 2);
    CHECK_NOTHROW(m.forward(prompt(6)));
    CHECK(m.device_bytes() <= gpu.device().accountant().budget());
}

TEST_CASE("perplexity is finite and the same on the GPU and the CPU reference") {
    test::GpuTest gpu;
    if (!gpu) return;
    const gguf::File file = gguf::File::open(make("q4_k_m", 5));
    model::ReferenceModel cpu(file, 24);
    model::GpuModel gpu_model(gpu.device(), file, {.n_ctx = 24, .max_batch = 16});
    const std::vector<std::int32_t> text = prompt(72);  // 3 chunks of 24
    const std::uint32_t V = cpu.config().n_vocab;
    const auto on_cpu = model::compute_perplexity(text, 24, V, [&](std::span<const std::int32_t> chunk) {
        cpu.reset();
        return cpu.forward(chunk);
    });
    const auto on_gpu = model::compute_perplexity(text, 24, V, [&](std::span<const std::int32_t> chunk) {
        gpu_model.reset();
        return gpu_model.forward(chunk, true);
    });
    CHECK(std::isfinite(on_gpu.ppl));
    CHECK(on_gpu.ppl > 1.0);
    CHECK(on_gpu.scored_tokens == on_cpu.scored_tokens);
    CHECK(on_gpu.ppl == doctest::Approx(on_cpu.ppl).epsilon(1e-4));
}

TEST_CASE("the GPU routes every token to the same experts as the CPU reference") {
    test::GpuTest gpu;
    if (!gpu) return;
    const gguf::File file = gguf::File::open(make("mixed", 11));
    model::ReferenceModel cpu(file, 32);
    model::GpuModel gpu_model(gpu.device(), file, {.n_ctx = 32, .max_batch = 8});
    struct Route {
        std::uint32_t layer, position;
        cpu::RouterChoice choice;
    };
    std::vector<Route> on_cpu, on_gpu;
    cpu.set_route_observer([&](std::uint32_t l, std::uint32_t p, const cpu::RouterChoice& c) {
        on_cpu.push_back({l, p, c});
    });
    gpu_model.set_route_observer([&](std::uint32_t l, std::uint32_t p, const cpu::RouterChoice& c) {
        on_gpu.push_back({l, p, c});
    });
    const std::vector<std::int32_t> p = prompt(12);  // prefill batches of 8 + 4, then decode
    cpu.forward(p);
    gpu_model.forward(p);
    for (std::int32_t t : {5, 77, 190}) {
        cpu.forward(std::vector<std::int32_t>{t});
        gpu_model.forward(std::vector<std::int32_t>{t});
    }
    REQUIRE(on_gpu.size() == on_cpu.size());
    CHECK(on_gpu.size() == 15 * cpu.config().n_layers);
    for (std::size_t i = 0; i < on_cpu.size(); ++i) {
        CAPTURE(i);
        CHECK(on_gpu[i].layer == on_cpu[i].layer);
        CHECK(on_gpu[i].position == on_cpu[i].position);
        CHECK(on_gpu[i].choice.experts == on_cpu[i].choice.experts);
        for (std::size_t k = 0; k < on_cpu[i].choice.weights.size(); ++k)
            CHECK(on_gpu[i].choice.weights[k] == doctest::Approx(on_cpu[i].choice.weights[k]).epsilon(1e-3));
    }
}

// A generated model with 16 experts, top-4, and a 20-token prompt (prefill batches of 8:
// 8 + 8 + 4) followed by 12 greedy steps; returns every logit row.
struct OffloadCase {
    fs::path path;
    std::unique_ptr<gguf::File> file;
    std::vector<std::int32_t> tokens = prompt(20);

    OffloadCase() {
        model::SyntheticModelSpec spec = model::synthetic_preset("tiny");
        spec.quant = model::quant_mix_from_name("q4_k_m");
        spec.n_experts = 16;
        spec.n_experts_used = 4;
        spec.seed = 21;
        path = fs::path(FERRY_TEST_TMP_DIR) / "gpu_offload.gguf";
        model::write_synthetic_model(spec, path);
        file = std::make_unique<gguf::File>(gguf::File::open(path));
    }

    std::vector<float> run(vk::Device& device, const model::GpuModelOptions& options,
                           offload::OffloadStats* stats, std::vector<std::int32_t>* greedy = nullptr) const {
        model::GpuModel m(device, *file, options);
        std::vector<float> out = m.forward(tokens, true);
        std::vector<float> last(out.end() - m.config().n_vocab, out.end());
        for (int step = 0; step < 12; ++step) {
            const std::int32_t next = sample::argmax(last);
            if (greedy) greedy->push_back(next);
            last = m.forward(std::vector<std::int32_t>{next});
            out.insert(out.end(), last.begin(), last.end());
        }
        if (stats) *stats = m.offload_stats();
        return out;
    }
};

TEST_CASE("offloading changes speed, never results: logits are identical at every slot count") {
    test::GpuTest gpu;
    if (!gpu) return;
    const OffloadCase test_case;
    const std::vector<float> resident = test_case.run(gpu.device(), {.n_ctx = 48, .max_batch = 8}, nullptr);
    const bool link_timed = vk::Timestamps::supported(gpu.device(), vk::QueueKind::Transfer);
    // Down to one slot per layer (fewer than top-k: decode runs each layer in passes), with
    // every cache policy and with the lookahead prefetch on and off.
    const std::vector<std::string>& policies = scheduler::policy_names();
    int variant = 0;
    for (std::uint32_t slots : {1u, 2u, 3u, 4u, 5u, 9u, 15u}) {
        for (bool prefetch : {true, false}) {
            const std::string& policy = policies[variant % policies.size()];
            const char* predictor = std::array{"gate", "repeat+transition", "gate+repeat*0.5"}[variant++ % 3];
            CAPTURE(predictor);
            CAPTURE(slots);
            CAPTURE(prefetch);
            CAPTURE(policy);
            offload::OffloadStats stats;
            const std::vector<float> offloaded = test_case.run(gpu.device(),
                                                               {.n_ctx = 48,
                                                                .max_batch = 8,
                                                                .expert_slots = slots,
                                                                .cache_policy = policy,
                                                                .prefetch = prefetch,
                                                                .predictor = predictor},
                                                               &stats);
            CHECK(offloaded == resident);  // bit-identical: same kernels, same order
            CHECK(stats.misses > 0);
            CHECK(stats.bytes_uploaded > 0);
            CHECK(stats.cpu_experts == 0);
            CHECK(std::accumulate(stats.layer_hits.begin(), stats.layer_hits.end(), std::uint64_t(0)) ==
                  stats.hits);
            CHECK(std::accumulate(stats.layer_misses.begin(), stats.layer_misses.end(), std::uint64_t(0)) ==
                  stats.misses);
            if (slots >= 9) CHECK(stats.hits > 0);
            if (prefetch && slots >= 4) CHECK(stats.predicted > 0);
            if (!prefetch) CHECK(stats.prefetched == 0);
            // Demand batches copy whole experts (over the 64 KiB timing floor), so uploads are
            // timed where the transfer queue has timestamps; prefetches still in flight are not.
            CHECK(stats.link_bytes <= stats.bytes_uploaded);
            if (link_timed) {
                CHECK(stats.link_bytes > 0);
                CHECK(stats.link_s > 0);
            } else {
                CHECK(stats.link_bytes == 0);
                CHECK(stats.link_s == 0);
            }
        }
    }
}

TEST_CASE("hybrid offload: misses computed on the CPU keep the results within the kernels' tolerance") {
    test::GpuTest gpu;
    if (!gpu) return;
    const OffloadCase test_case;
    std::vector<std::int32_t> resident_tokens;
    const std::vector<float> resident =
        test_case.run(gpu.device(), {.n_ctx = 48, .max_batch = 8}, nullptr, &resident_tokens);
    struct Variant {
        offload::MissPolicy policy;
        bool cpu_moe;
        std::uint32_t slots;
    };
    for (const Variant v :
         {Variant{offload::MissPolicy::Cpu, false, 5}, Variant{offload::MissPolicy::Cpu, false, 2},
          Variant{offload::MissPolicy::Auto, false, 4}, Variant{offload::MissPolicy::Copy, true, 4}}) {
        CAPTURE(offload::name(v.policy));
        CAPTURE(v.cpu_moe);
        CAPTURE(v.slots);
        offload::OffloadStats stats;
        std::vector<std::int32_t> tokens;
        const std::vector<float> hybrid = test_case.run(gpu.device(),
                                                        {.n_ctx = 48,
                                                         .max_batch = 8,
                                                         .expert_slots = v.slots,
                                                         .miss_policy = v.policy,
                                                         .cpu_moe = v.cpu_moe,
                                                         .threads = 2},
                                                        &stats, &tokens);
        CHECK(tokens == resident_tokens);
        // The CPU kernels quantize activations to 8 bits (tests/cpu_fast bounds each product
        // near 1e-4); over 32 positions and 2 layers the logits stay within 1e-3.
        CHECK(nmse(hybrid, resident) < 1e-3);
        if (v.policy == offload::MissPolicy::Cpu || v.cpu_moe) CHECK(stats.cpu_experts > 0);
        if (v.cpu_moe) CHECK(stats.bytes_uploaded == 0);
        CHECK(stats.link_bytes <= stats.bytes_uploaded);
    }
}

// Dense weights + KV cache and recurrent states + work buffers + one expert slot per MoE
// layer, nothing more: the offloaded run fits, the plan is tight, the output is the
// resident run's.
void check_smallest_plan(test::GpuTest& gpu, const fs::path& path) {
    const gguf::File file = gguf::File::open(path);
    const model::ModelConfig config = model::read_config(file);
    const bool host_counts =
        vk::Buffer(gpu.device(), 16, vk::MemoryKind::Staging, "probe").counted_bytes() > 0;
    const model::BudgetPlan sizes = model::plan_budget(model::summarize(file), {.vram_budget = 1ull << 40, .ctx = 48, .work_reserve = 0});
    const std::uint64_t L = config.n_moe_layers();
    const std::uint64_t expert = model::expert_weight_bytes(file, config) / (L * config.n_experts);
    const std::uint64_t budget = sizes.dense_bytes + sizes.kv_cache_bytes +
                                 model::work_buffer_bytes(config, 8, host_counts, expert) + L * expert;
    vk::DeviceOptions options;
    options.apply_env();
    options.vram_budget = budget;
    vk::Device device(gpu.instance(), options);
    const std::vector<std::int32_t> tokens = prompt(20);
    auto run = [&](vk::Device& d, const model::GpuModelOptions& o) {
        model::GpuModel m(d, file, o);
        std::vector<float> out = m.forward(tokens, true);
        for (int step = 0; step < 8; ++step) {
            const std::vector<float> last = m.forward(std::vector<std::int32_t>{
                sample::argmax(std::span<const float>(out).last(config.n_vocab))});
            out.insert(out.end(), last.begin(), last.end());
        }
        return out;
    };
    const std::vector<float> offloaded = run(device, {.n_ctx = 48, .max_batch = 8, .expert_slots = 1});
    CHECK(device.accountant().peak() <= budget);
    CHECK(device.accountant().peak() + (64u << 10) >= budget);  // the plan is tight: within 64 KiB
    CHECK(offloaded == run(gpu.device(), {.n_ctx = 48, .max_batch = 8}));
}

TEST_CASE("the VRAM budget is a promise: the smallest plan runs and device-local bytes stay within it") {
    test::GpuTest gpu;
    if (!gpu) return;
    const OffloadCase test_case;
    check_smallest_plan(gpu, test_case.path);
    // A hybrid model: DeltaNet buffers and recurrent states in the plan too.
    model::SyntheticModelSpec spec = model::synthetic_preset("tiny-qwen35moe");
    spec.quant = model::quant_mix_from_name("q4_k_m");
    const fs::path hybrid = fs::path(FERRY_TEST_TMP_DIR) / "gpu_budget_qwen35moe.gguf";
    model::write_synthetic_model(spec, hybrid);
    check_smallest_plan(gpu, hybrid);
    // Latent attention: one cache row per position, its own work buffers.
    for (const char* preset : {"tiny-deepseek2", "tiny-deepseek2-split"}) {
        CAPTURE(preset);
        spec = model::synthetic_preset(preset);
        spec.quant = model::quant_mix_from_name("q4_k_m");
        const fs::path mla = fs::path(FERRY_TEST_TMP_DIR) / (std::string("gpu_budget_") + preset + ".gguf");
        model::write_synthetic_model(spec, mla);
        check_smallest_plan(gpu, mla);
    }
}

TEST_CASE("forced routing (trace replay) drives decode the same way resident and offloaded") {
    test::GpuTest gpu;
    if (!gpu) return;
    const OffloadCase test_case;
    // Layer l at position p uses experts (p + l + k) mod 16 with falling weights.
    const model::RouteOverride force = [](std::uint32_t layer, std::uint32_t position,
                                          std::span<std::int32_t> ids, std::span<float> weights) {
        for (std::size_t k = 0; k < ids.size(); ++k) {
            ids[k] = std::int32_t((position + layer + k) % 16);
            weights[k] = 1.f / float(k + 2);
        }
        return true;
    };
    const std::vector<float> own = test_case.run(gpu.device(), {.n_ctx = 48, .max_batch = 8}, nullptr);
    const std::vector<float> resident =
        test_case.run(gpu.device(), {.n_ctx = 48, .max_batch = 8, .route_override = force}, nullptr);
    offload::OffloadStats stats;
    const std::vector<float> offloaded = test_case.run(
        gpu.device(), {.n_ctx = 48, .max_batch = 8, .expert_slots = 5, .route_override = force}, &stats);
    CHECK(offloaded == resident);
    CHECK(resident != own);
    // Prefill keeps the model's own routing: the prompt's logits (20 rows) are unchanged.
    const std::size_t prompt_floats = resident.size() / 32 * 20;  // 20 prompt rows + 12 decode rows
    CHECK(std::equal(own.begin(), own.begin() + prompt_floats, resident.begin()));
    CHECK(stats.misses > 0);
}

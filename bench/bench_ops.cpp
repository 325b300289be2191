// Transformer-block GPU ops (runtime/kernels/block_ops.h) on Qwen3-30B-A3B shapes: time
// per call and GB/s of the bytes each op must move at least (inputs read once, outputs
// written once), next to the memory bandwidth bound. On a CPU Vulkan driver (lavapipe)
// the bound is the host's memcpy bandwidth measured here (bytes read + written); Vulkan
// does not report a GPU's, so pass --bound-gbs for one.
//
// Each case records `reps` calls in one command buffer, separated by compute-to-compute
// barriers (as in a forward pass, each call waits for the previous), and takes host wall
// time over whole submissions after one warm-up submission. Inputs are small enough to
// stay in the last-level cache on a CPU driver, as activations do.
//
//   bench_ops [--seconds S] [--bound-gbs G] [--only attention,router] [--out PATH_STEM]
// Markdown on stdout; with --out, PATH_STEM.md and PATH_STEM.json.
#include "bench_gpu_util.h"
#include "kernels/block_ops.h"
#include "quant/quant.h"
#include "vk/barrier.h"
#include "vk/command.h"
#include "vk/device.h"
#include "vk/instance.h"
#include "vk/transfer.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace ferry;
using Clock = std::chrono::steady_clock;

namespace {

// Qwen3-30B-A3B.
constexpr std::uint32_t kEmbd = 2048, kHeads = 32, kKvHeads = 4, kHeadDim = 128, kExperts = 128, kTopK = 8,
                        kExpertFf = 768, kVocab = 151936;

struct Options {
    double seconds = 0.3;  // per case, at least
    double bound_gbs = 0;  // 0: measured memcpy bandwidth on CPU drivers, else unknown
    kernels::BlockOpsOptions workgroups;
    std::vector<std::string> only;
    std::string out;
};

std::vector<float> random_floats(std::size_t n, std::uint32_t seed, float scale = 1.f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.f, scale);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return v;
}

// Owns the device buffers of the cases.
struct Buffers {
    vk::Device& device;
    std::vector<std::unique_ptr<vk::Buffer>> owned;

    template <class T>
    const vk::Buffer& data(const std::vector<T>& v, const char* name) {
        owned.push_back(std::make_unique<vk::Buffer>(device, std::max<std::size_t>(v.size() * sizeof(T), 4),
                                                     vk::MemoryKind::DeviceLocal, name));
        vk::upload(device, *owned.back(), std::span<const T>(v));
        return *owned.back();
    }
    const vk::Buffer& floats(std::size_t n, std::uint32_t seed, const char* name) {
        return data(random_floats(n, seed), name);
    }
    const vk::Buffer& empty(std::uint64_t bytes, const char* name) {
        owned.push_back(std::make_unique<vk::Buffer>(device, std::max<std::uint64_t>(bytes, 4),
                                                     vk::MemoryKind::DeviceLocal, name));
        return *owned.back();
    }
};

struct Case {
    std::string op, shape;
    double bytes;  // moved per call, at least
    std::function<void(vk::CommandBuffer&)> record;
};

std::vector<Case> make_cases(kernels::BlockOps& ops, Buffers& b) {
    std::vector<Case> cases;
    const cpu::AttentionParams attn{int(kHeads), int(kKvHeads), int(kHeadDim), 1.f / std::sqrt(float(kHeadDim)), 0,
                                    0.f};
    const std::uint32_t q_row = kHeads * kHeadDim, kv_row = kKvHeads * kHeadDim;
    const vk::Buffer& norm_w = b.floats(kEmbd, 1, "norm weight");
    const vk::Buffer& head_w = b.floats(kHeadDim, 2, "head norm weight");
    const std::uint32_t max_ctx = 4096;
    const vk::Buffer& k_cache = b.empty(kernels::kv_cache_bytes(max_ctx, kKvHeads, kHeadDim), "k cache");
    const vk::Buffer& v_cache = b.empty(kernels::kv_cache_bytes(max_ctx, kKvHeads, kHeadDim), "v cache");
    const vk::Buffer& attn_scratch = b.empty(kernels::BlockOps::attention_scratch_bytes(attn), "attention scratch");

    // Fill the whole cache once, so attention reads real halves.
    {
        std::vector<std::int32_t> pos(max_ctx);
        for (std::uint32_t i = 0; i < max_ctx; ++i) pos[i] = std::int32_t(i);
        const vk::Buffer& k = b.floats(std::size_t(max_ctx) * kv_row, 3, "k all");
        const vk::Buffer& v = b.floats(std::size_t(max_ctx) * kv_row, 4, "v all");
        const vk::Buffer& p = b.data(pos, "positions all");
        vk::CommandBuffer cmd(b.device, vk::QueueKind::Compute);
        cmd.begin();
        ops.kv_append(cmd, {.k = k, .v = v, .positions = p, .k_cache = k_cache, .v_cache = v_cache,
                            .tokens = max_ctx, .n_kv_heads = kKvHeads, .head_dim = kHeadDim, .n_ctx = max_ctx});
        cmd.submit();
        cmd.wait();
    }

    for (std::uint32_t tokens : {1u, 512u}) {
        const std::string t = fmt::format("{} token{}", tokens, tokens > 1 ? "s" : "");
        std::vector<std::int32_t> pos(tokens);
        for (std::uint32_t i = 0; i < tokens; ++i) pos[i] = std::int32_t(max_ctx - tokens + i);
        const vk::Buffer& positions = b.data(pos, "positions");
        const vk::Buffer& x = b.floats(std::size_t(tokens) * kEmbd, 10, "x");
        const vk::Buffer& h = b.empty(std::size_t(tokens) * kEmbd * 4, "h");
        const vk::Buffer& q = b.floats(std::size_t(tokens) * q_row, 11, "q");
        const vk::Buffer& k = b.floats(std::size_t(tokens) * kv_row, 12, "k");
        const vk::Buffer& attn_out = b.empty(std::size_t(tokens) * q_row * 4, "attention out");

        cases.push_back({"rms_norm", fmt::format("{} x {}", t, kEmbd), double(tokens) * kEmbd * 8 + kEmbd * 4,
                         [&, tokens](vk::CommandBuffer& cmd) {
                             ops.rms_norm(cmd, {.x = x, .weight = norm_w, .y = h, .n = kEmbd, .rows = tokens});
                         }});
        cases.push_back({"rms_norm per head (q_norm)", fmt::format("{} x {} x {}", t, kHeads, kHeadDim),
                         double(tokens) * q_row * 8 + kHeadDim * 4, [&, tokens](vk::CommandBuffer& cmd) {
                             ops.rms_norm(cmd, {.x = q, .weight = head_w, .y = q, .n = kHeadDim,
                                                .rows = tokens * kHeads});
                         }});
        cases.push_back({"rope neox (q)", fmt::format("{} x {} x {}", t, kHeads, kHeadDim),
                         double(tokens) * (q_row * 8 + 4), [&, tokens](vk::CommandBuffer& cmd) {
                             ops.rope(cmd, {.x = q, .positions = positions, .tokens = tokens, .n_heads = kHeads,
                                            .head_dim = kHeadDim,
                                            .params = {cpu::RopeStyle::Neox, int(kHeadDim), 1e6f, 1.f}});
                         }});
        cases.push_back({"kv_append", fmt::format("{} x {} x {}", t, kKvHeads, kHeadDim),
                         double(tokens) * (kv_row * 2 * (4 + 2) + 4), [&, tokens](vk::CommandBuffer& cmd) {
                             ops.kv_append(cmd, {.k = k, .v = k, .positions = positions, .k_cache = k_cache,
                                                 .v_cache = v_cache, .tokens = tokens, .n_kv_heads = kKvHeads,
                                                 .head_dim = kHeadDim, .n_ctx = max_ctx});
                         }});
        for (std::uint32_t ctx : {512u, 4096u}) {
            if (tokens > ctx) continue;
            // The query tokens are the last `tokens` positions of a ctx-long cache.
            std::vector<std::int32_t> qpos(tokens);
            for (std::uint32_t i = 0; i < tokens; ++i) qpos[i] = std::int32_t(ctx - tokens + i);
            const vk::Buffer& qp = b.data(qpos, "query positions");
            cases.push_back({"attention", fmt::format("{}, context {}", t, ctx),
                             double(tokens) * q_row * 8 + double(ctx) * kv_row * 2 * 2,
                             [&, tokens, ctx](vk::CommandBuffer& cmd) {
                                 ops.attention(cmd, {.q = q, .positions = qp, .k_cache = k_cache, .v_cache = v_cache,
                                                     .out = attn_out, .scratch = attn_scratch, .tokens = tokens,
                                                     .kv_len = ctx, .params = attn});
                             }});
        }

        const std::uint32_t ff = tokens * kTopK * kExpertFf;
        const vk::Buffer& gate = b.floats(ff, 13, "gate");
        const vk::Buffer& up = b.floats(ff, 14, "up");
        const vk::Buffer& act = b.empty(std::size_t(ff) * 4, "act");
        cases.push_back({"swiglu", fmt::format("{} x {} x {}", t, kTopK, kExpertFf), double(ff) * 12,
                         [&, ff](vk::CommandBuffer& cmd) { ops.glu(cmd, {.gate = gate, .up = up, .out = act, .n = ff}); }});

        const vk::Buffer& logits = b.floats(std::size_t(tokens) * kExperts, 15, "router logits");
        const vk::Buffer& ids = b.empty(std::size_t(tokens) * kTopK * 4, "expert ids");
        const vk::Buffer& weights = b.empty(std::size_t(tokens) * kTopK * 4, "expert weights");
        cases.push_back({"router (softmax, top-8, renorm)", fmt::format("{} x {}", t, kExperts),
                         double(tokens) * (kExperts * 4 + kTopK * 8), [&, tokens](vk::CommandBuffer& cmd) {
                             ops.router(cmd, {.logits = logits, .ids = ids, .weights = weights, .bias = std::nullopt, .tokens = tokens,
                                              .n_experts = kExperts, .top_k = kTopK,
                                              .function = cpu::RouterFunction::SoftmaxThenTopK, .renormalize = true});
                         }});
        const vk::Buffer& experts = b.floats(std::size_t(tokens) * kTopK * kEmbd, 16, "expert outputs");
        const vk::Buffer& ew = b.floats(std::size_t(tokens) * kTopK, 17, "combine weights");
        cases.push_back({"moe_combine (into residual)", fmt::format("{} x {} x {}", t, kTopK, kEmbd),
                         double(tokens) * kEmbd * 4 * (2 + kTopK) + tokens * kTopK * 4,
                         [&, tokens](vk::CommandBuffer& cmd) {
                             ops.moe_combine(cmd, {.x = h, .expert_out = experts, .weights = ew, .tokens = tokens,
                                                   .n = kEmbd, .top_k = kTopK});
                         }});

        // token_embd of Q4_K_M files is Q4_K; only the gathered rows are read.
        const std::uint32_t table_rows = 4096;
        const std::uint64_t row_bytes = gguf::row_bytes(gguf::type_traits(gguf::TensorType::Q4_K), kEmbd);
        std::vector<std::uint8_t> table(table_rows * row_bytes);
        const auto row = random_floats(kEmbd, 18);
        for (std::uint32_t r = 0; r < table_rows; ++r)
            quant::quantize_row(gguf::TensorType::Q4_K, row.data(), table.data() + r * row_bytes, kEmbd);
        std::vector<std::int32_t> tok(tokens);
        for (std::uint32_t i = 0; i < tokens; ++i) tok[i] = std::int32_t((i * 2654435761u) % table_rows);
        const vk::Buffer& dtable = b.data(table, "token_embd");
        const vk::Buffer& dtok = b.data(tok, "token ids");
        cases.push_back({"embed (Q4_K)", fmt::format("{} x {}", t, kEmbd), double(tokens) * (row_bytes + kEmbd * 4 + 4),
                         [&, tokens](vk::CommandBuffer& cmd) {
                             ops.embed(cmd, {.table = dtable, .ids = dtok, .out = h, .type = gguf::TensorType::Q4_K,
                                             .n_rows = table_rows, .n_cols = kEmbd, .tokens = tokens});
                         }});
    }

    const vk::Buffer& vocab_logits = b.floats(kVocab, 19, "logits");
    const vk::Buffer& top_v = b.empty(256 * 4, "top values");
    const vk::Buffer& top_i = b.empty(256 * 4, "top ids");
    const vk::Buffer& top_scratch = b.empty(kernels::topk_scratch_bytes(1, kVocab, 256), "top-k scratch");
    for (std::uint32_t k : {1u, 40u}) {
        cases.push_back({k == 1 ? "argmax" : "top_k", fmt::format("{} logits, k {}", kVocab, k), double(kVocab) * 4,
                         [&, k](vk::CommandBuffer& cmd) {
                             ops.top_k(cmd, {.values = vocab_logits, .out_values = top_v, .out_ids = top_i,
                                             .scratch = top_scratch, .n = kVocab, .k = k});
                         }});
    }
    return cases;
}

struct Result {
    double us_per_call, gbs;
};

Result measure(vk::Device& device, const Case& c, double seconds) {
    vk::CommandBuffer cmd(device, vk::QueueKind::Compute);
    auto submit = [&](int reps) {
        cmd.begin();
        for (int i = 0; i < reps; ++i) {
            if (i) vk::compute_to_compute(cmd);
            c.record(cmd);
        }
        cmd.submit();
        cmd.wait();
    };
    const auto t0 = Clock::now();
    submit(1);  // warm-up: pipelines made, caches filled
    const double once = std::chrono::duration<double>(Clock::now() - t0).count();
    const int reps = std::clamp(int(seconds / std::max(once, 1e-6)), 1, 2000);
    const auto t1 = Clock::now();
    submit(reps);
    const double s = std::chrono::duration<double>(Clock::now() - t1).count() / reps;
    return {s * 1e6, c.bytes / s / 1e9};
}

}  // namespace

int main(int argc, char** argv) {
    Options opt;
    CLI::App app{"Transformer-block GPU ops on Qwen3-30B-A3B shapes: time per call, GB/s moved"};
    app.add_option("--seconds", opt.seconds, "measuring time per case, at least");
    app.add_option("--bound-gbs", opt.bound_gbs, "memory bandwidth bound to print (GB/s)");
    app.add_option("--only", opt.only, "ops to run (names as printed, prefix match)")->delimiter(',');
    app.add_option("--elementwise-workgroup", opt.workgroups.elementwise_workgroup, "(default: per device)");
    app.add_option("--reduction-workgroup", opt.workgroups.reduction_workgroup, "(default: per device)");
    app.add_option("--attention-workgroup", opt.workgroups.attention_workgroup, "(keys per chunk; default: per device)");
    app.add_option("--router-workgroup", opt.workgroups.router_workgroup, "(default: per device)");
    app.add_option("--out", opt.out, "output path without extension (.md and .json are written)");
    CLI11_PARSE(app, argc, argv);

    try {
        vk::Instance instance(vk::InstanceOptions::from_env());
        vk::DeviceOptions device_options;
        device_options.apply_env();
        vk::Device device(instance, device_options);
        kernels::BlockOps ops(device, opt.workgroups);
        std::string bound_note = "given with --bound-gbs";
        if (opt.bound_gbs == 0 && device.info().type == vk::DeviceType::Cpu) {
            opt.bound_gbs = bench::memcpy_bandwidth_gbs();
            bound_note = fmt::format("host memcpy on {} threads, bytes read + written",
                                     std::thread::hardware_concurrency());
        } else if (opt.bound_gbs == 0) {
            bound_note = "unknown (pass --bound-gbs)";
        }

        Buffers buffers{device, {}};
        const std::vector<Case> cases = make_cases(ops, buffers);
        std::string md = fmt::format(
            "Device: {} ({}, {}); KV cache via {}; bound {:.1f} GB/s ({}).\n\n"
            "| op | shape | µs / call | GB/s moved | % of bound |\n|---|---|---:|---:|---:|\n",
            device.info().name, device.info().driver_name, device.info().driver_info,
            ops.kv_f16_storage() ? "16-bit storage" : "packed words", opt.bound_gbs, bound_note);
        nlohmann::json rows = nlohmann::json::array();
        fmt::print("{}", md);
        for (const Case& c : cases) {
            if (!opt.only.empty() &&
                std::none_of(opt.only.begin(), opt.only.end(), [&](const std::string& o) { return c.op.rfind(o, 0) == 0; }))
                continue;
            const Result r = measure(device, c, opt.seconds);
            const std::string pct = opt.bound_gbs > 0 ? fmt::format("{:.1f}", 100 * r.gbs / opt.bound_gbs) : "–";
            const std::string line =
                fmt::format("| {} | {} | {:.1f} | {:.2f} | {} |\n", c.op, c.shape, r.us_per_call, r.gbs, pct);
            fmt::print("{}", line);
            std::fflush(stdout);
            md += line;
            rows.push_back({{"op", c.op}, {"shape", c.shape}, {"bytes", c.bytes}, {"us_per_call", r.us_per_call},
                            {"gbs", r.gbs}});
        }
        if (!opt.out.empty()) {
            std::ofstream(opt.out + ".md") << md;
            const nlohmann::json json = {{"device", device.info().name},   {"driver", device.info().driver_info},
                                         {"kv_f16_storage", ops.kv_f16_storage()},
                                         {"bound_gbs", opt.bound_gbs},     {"bound_note", bound_note},
                                         {"results", rows}};
            std::ofstream(opt.out + ".json") << json.dump(2) << "\n";
        }
    } catch (const std::exception& e) {
        fmt::print(stderr, "bench_ops: error: {}\n", e.what());
        return 1;
    }
    return 0;
}
